// Issue 11, a hub group shares its security state. revocation_propagation_p99_ms: two hubs on a
// private 3-member etcd; a token made on hub A (POST /api/v1/tokens) is revoked on A (DELETE
// answered), and hub B is asked with the token every 5 ms until it refuses it. Target: 1 s.
import { join } from 'node:path';
import { GroupHub, HaServices, httpsCall, waitFor } from '../../../test/harness/index.js';
import { measured, percentile, round, type BenchContext, type Measured } from '../lib/context.js';

export async function revocationPropagationBench(ctx: BenchContext): Promise<Measured[]> {
  if (process.getuid?.() !== 0) throw new Error('revocation-propagation starts etcd (scripts/services/start.sh): run the benchmark as root');
  const rounds = ctx.quick ? 20 : 100;
  const dir = join(ctx.workDir, 'revocation-propagation');
  const services = await HaServices.at('bench-revoke');
  const group = { region: 'bench', pki: ctx.pki, etcdEndpoints: services.etcdEndpoints, config: { log_level: 'warn', etcd: { lease_ttl: '3s' } }, readyTimeoutMs: 60_000, runDir: false, killAfterMs: 10_000 };
  const [a, b] = [new GroupHub('hub-a', dir, group), new GroupHub('hub-b', dir, group)];
  const asClient = { ca: ctx.pki.ca, cert: ctx.pki.client.cert, key: ctx.pki.client.key, timeoutMs: 5_000 };
  try {
    await services.start(120_000);
    await Promise.all([a.start(), b.start()]);
    const took: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const made = await httpsCall(`${a.httpUrl}/api/v1/tokens`, { ...asClient, method: 'POST', body: { name: `bench-${r}`, roles: ['viewer'] } });
      if (made.status !== 201) throw new Error(`token create: ${made.status} ${made.body}`);
      const { id, token } = JSON.parse(made.body) as { id: string; token: string };
      const onB = () => httpsCall(`${b.httpUrl}/api/v1/clusters`, { ca: ctx.pki.ca, headers: { authorization: `Bearer ${token}` }, timeoutMs: 5_000 }).then((res) => res.status);
      await waitFor('B knows the token', async () => (await onB()) === 200, 10_000, 5);
      const revoke = await httpsCall(`${a.httpUrl}/api/v1/tokens/${id}`, { ...asClient, method: 'DELETE' });
      if (revoke.status !== 200) throw new Error(`token revoke: ${revoke.status}`);
      const t0 = Date.now();
      await waitFor('B refuses the revoked token', async () => (await onB()) === 401, 10_000, 5);
      took.push(Date.now() - t0);
    }
    took.sort((x, y) => x - y);
    const p99 = percentile(took, 99);
    ctx.log(`revocation-propagation: p50 ${percentile(took, 50)} ms, p99 ${p99} ms, max ${took[took.length - 1]} ms over ${rounds} tokens`);
    return [
      measured(ctx, 'revocation_propagation_p99_ms', round(p99, 0), 'ms', {
        target: '<= 1000',
        met: p99 <= 1000,
        note: `${rounds} tokens, 2 hubs, 3-member etcd: DELETE answered on A -> B refuses (polled every 5 ms); p50 ${percentile(took, 50)} ms`,
      }),
    ];
  } finally {
    await Promise.all([a, b].map((h) => h.proc?.kill('SIGKILL')));
    await Promise.all((['etcd1', 'etcd2', 'etcd3', 'redis'] as const).map((m) => services.kill(m).catch(() => undefined)));
    await services.stop((err) => ctx.log(`services stop: ${err.message}`));
  }
}
