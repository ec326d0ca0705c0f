// 6. Failover, the hub side. leader_handover_ms: a clustered hub group (sfleet hub child
// processes on a private 3-member etcd and Redis, scripts/services/start.sh, the same parts as
// `npm run chaos`); the leader is killed with SIGKILL and the time until another hub says it
// leads (its /readyz names its fencing token) is measured, then the killed hub restarts and the
// next round kills whoever leads. The figure is bounded below by the etcd lease TTL (3 s here,
// as in the chaos run): a killed leader's election key lives until its lease runs out.
import { join } from 'node:path';
import { GroupHub, HaServices, sleep, waitFor } from '../../../test/harness/index.js';
import { measured, percentile, round, type BenchContext, type Measured } from '../lib/context.js';

const LEASE_TTL = '3s';

export async function leaderHandoverBench(ctx: BenchContext): Promise<Measured[]> {
  if (process.getuid?.() !== 0) throw new Error('leader-handover starts etcd and Redis (scripts/services/start.sh): run the benchmark as root');
  const rounds = ctx.quick ? 1 : 6;
  const hubCount = ctx.quick ? 2 : 3;
  const dir = join(ctx.workDir, 'leader-handover');
  const services = await HaServices.at('bench');
  const hubs = Array.from({ length: hubCount }, (_, i) =>
    new GroupHub(`hub-${i + 1}`, dir, {
      region: 'bench',
      pki: ctx.pki,
      etcdEndpoints: services.etcdEndpoints,
      redisUrl: services.redisUrl,
      config: { log_level: 'warn', etcd: { lease_ttl: LEASE_TTL } },
      readyTimeoutMs: 60_000,
      probeTimeoutMs: 1_000,
      runDir: false,
      killAfterMs: 10_000,
    }),
  );
  try {
    const t0 = Date.now();
    await services.start(120_000);
    const t1 = Date.now();
    await Promise.all(hubs.map((h) => h.start()));
    ctx.log(`leader-handover: etcd x3 + Redis up in ${t1 - t0} ms, ${hubCount} hubs ready ${Date.now() - t1} ms later`);
    const leader = async (): Promise<{ hub: GroupHub; token: number } | undefined> => {
      // A hub that is down or does not answer does not lead.
      const tokens = await Promise.all(hubs.map((h) => (h.alive ? h.leadingToken().catch(() => undefined) : undefined)));
      const i = tokens.findIndex((t) => t !== undefined);
      return i >= 0 ? { hub: hubs[i], token: tokens[i]! } : undefined;
    };
    const handover: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const before = await waitFor('a leader', leader, 30_000, 50);
      await sleep(500);
      const t0 = Date.now();
      await before.hub.proc!.kill('SIGKILL');
      const after = await waitFor('another hub leading', async () => {
        const l = await leader();
        return l && l.hub !== before.hub && l.token > before.token ? l : undefined;
      }, 30_000, 20);
      handover.push(Date.now() - t0);
      ctx.log(`leader-handover: ${before.hub.id} (token ${before.token}) killed; ${after.hub.id} leads with token ${after.token} after ${handover[handover.length - 1]} ms`);
      if (r < rounds - 1) await before.hub.start();
    }
    handover.sort((a, b) => a - b);
    return [
      measured(ctx, 'leader_handover_ms', round(percentile(handover, 50), 0), 'ms', {
        note: `median of ${rounds}, ${hubCount} hubs, etcd lease TTL ${LEASE_TTL}: SIGKILL of the leader -> another hub leads (max ${handover[handover.length - 1]} ms)`,
      }),
    ];
  } finally {
    await Promise.all(hubs.map((h) => h.proc?.kill('SIGKILL')));
    // Scratch services: no graceful shutdown to wait for.
    await Promise.all((['etcd1', 'etcd2', 'etcd3', 'redis'] as const).map((m) => services.kill(m).catch(() => undefined)));
    await services.stop((err) => ctx.log(`services stop: ${err.message}`));
  }
}
