// Ingest with redis.encrypt_replication on against off (issue 11: at most 10% of ingest). Two
// clustered hubs, each alone in its own region of one private etcd and Redis, both with
// encryption at rest on (the same keyring), so the only difference is the sealing of every
// replicated delta before XADD. Rounds alternate between them (off first) and the updates and
// CPU seconds of each are pooled, as in the tracing ratio.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { HaServices } from '../../../test/harness/index.js';
import { measured, round, type BenchContext, type Measured } from '../lib/context.js';
import { Child } from '../lib/rpc.js';

export interface IngestRun {
  updates: number;
  cpu: number;
  perCore: number;
}

export type MeasureIngest = (hub: Child<{ grpc: string }>, seconds: number) => Promise<IngestRun>;

export async function replicationEncryptionRatio(ctx: BenchContext, execArgv: string[], measure: MeasureIngest): Promise<Measured> {
  const rounds = ctx.quick ? 1 : 3;
  const seconds = ctx.quick ? 2 : 6;
  const services = await HaServices.at('bench-ingest-enc');
  const keyring = join(ctx.workDir, 'ingest-enc-keyring.json');
  const hubs: Child<{ grpc: string }>[] = [];
  try {
    await services.start(120_000);
    const start = async (name: string, encrypt: boolean): Promise<Child<{ grpc: string }>> => {
      const hub = await Child.start<{ grpc: string }>(
        'hub',
        {
          hub_id: name,
          region: name,
          listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' },
          tls: ctx.pki.hub,
          data_dir: mkdtempSync(join(ctx.workDir, `${name}-`)),
          encryption: { enabled: true, provider: 'file', file: { path: keyring } },
          etcd: { endpoints: services.etcdEndpoints, prefix: `/${name}/`, lease_ttl: '3s' },
          // Trimmed quickly: the benchmark pushes tens of MB a second into the stream.
          redis: { url: services.redisUrl, encrypt_replication: encrypt, stream_retention: '5s', compact_interval: '1s' },
        },
        { execArgv },
      );
      hubs.push(hub);
      return hub;
    };
    // One after the other: the first creates the keyring.
    const off = await start('bench-enc-off', false);
    const on = await start('bench-enc-on', true);
    const pooled = { off: { updates: 0, cpu: 0 }, on: { updates: 0, cpu: 0 } };
    for (let r = 0; r < rounds; r++) {
      const a = await measure(off, seconds);
      const b = await measure(on, seconds);
      pooled.off.updates += a.updates;
      pooled.off.cpu += a.cpu;
      pooled.on.updates += b.updates;
      pooled.on.cpu += b.cpu;
      ctx.log(`ingest redis encryption round ${r + 1}: off ${Math.round(a.perCore)}, on ${Math.round(b.perCore)} updates/s per core`);
    }
    // Both hubs really published, and only the one with encrypt_replication sealed.
    const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 1 }).on('error', () => undefined);
    try {
      const last = async (region: string) => ((await redis.xrevrange(`sfleet:${region}:deltas`, '+', '-', 'COUNT', 1))[0]?.[1] ?? []).filter((_, i) => i % 2 === 0);
      const [offFields, onFields] = await Promise.all([last('bench-enc-off'), last('bench-enc-on')]);
      if (!offFields.includes('d') || offFields.includes('k')) throw new Error(`ingest encryption bench: the plain hub's last stream entry has fields ${offFields.join(',') || 'none'}`);
      if (!onFields.includes('k')) throw new Error(`ingest encryption bench: the sealing hub's last stream entry has fields ${onFields.join(',') || 'none'}, no k`);
    } finally {
      redis.disconnect();
    }
    const offRate = pooled.off.updates / pooled.off.cpu;
    const onRate = pooled.on.updates / pooled.on.cpu;
    const ratio = onRate / offRate;
    ctx.log(`ingest: replication sealed ${Math.round(onRate)} vs plain ${Math.round(offRate)} updates/s per core (x${ratio.toFixed(3)})`);
    return measured(ctx, 'ingest_redis_encryption_ratio', round(ratio, 3), 'fraction', { target: '>= 0.9', met: ratio >= 0.9, note: `${Math.round(onRate)} vs ${Math.round(offRate)} updates/s per core, Redis and etcd on this machine` });
  } finally {
    for (const hub of hubs.reverse()) await hub.stop().catch(() => undefined);
    await services.stop((err) => ctx.log(`services stop: ${err.message}`));
  }
}
