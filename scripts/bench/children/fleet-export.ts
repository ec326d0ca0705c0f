// The fleet export benchmark's child (scripts/bench/suites/fleet-export.ts): one process per
// measurement, so its peak RSS is the export's and what it built before it.
//   jobs DIR N         builds a fleet state of N jobs over 4 clusters, exports them as Parquet
//   nodes DIR N        the same with N nodes
//   audit-seed DIR N   writes N audit records into DIR/audit (a chain, as a hub writes it)
//   audit DIR          exports DIR/audit as Parquet
// The measured modes print one JSON line {rows, seconds, baseMiB, peakMiB}: VmRSS once the
// source is held and the engine open (VmHWM reset there), VmHWM after the file is written.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { wrapObject, type Job, type Node } from '../../../shared/model/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import type { Delta } from '../../../generated/fleet/v1/agent.js';
import { AuditLog, auditConfigSchema } from '../../../hub/audit/index.js';
import { exportAudit, exportFleet, filterFingerprint, type SpecExport } from '../../../hub/export/index.js';
import { FleetState } from '../../../hub/fleet/index.js';
import { HistoryEngine } from '../../../hub/history/index.js';
import { RowFilter } from '../../../hub/policy/index.js';
import { memory, resetPeak } from '../lib/proc.js';

const CLUSTERS = 4;
const CHUNK = 10_000;
const T0 = Date.UTC(2026, 10, 1);

function job(cluster: string, i: number): Job {
  const running = i % 3 !== 0;
  return {
    cluster, id: i + 1, name: `bench-${i % 1000}`, user: `user${i % 500}`, account: `acct${i % 40}`, partition: i % 3 ? 'batch' : 'gpu', qos: 'normal',
    state: running ? 'RUNNING' : 'PENDING', state_flags: [], state_reason: running ? 'None' : 'Priority', nodes: running ? [`n${i % 2000}`] : [],
    node_list: running ? `n${i % 2000}` : '', cpus: 8, node_count: 1, working_dir: `/home/user${i % 500}`, comment: '', tres: 'cpu=8,mem=16G,node=1',
    submit_time: new Date(T0 + i * 1000).toISOString(), ...(running ? { start_time: new Date(T0 + i * 1000 + 60_000).toISOString() } : {}),
    memory_mb: 16_384, time_limit_s: 86_400, priority: 1000 + (i % 100),
  };
}

function node(cluster: string, i: number): Node {
  return {
    cluster, name: `n${i}`, state: i % 5 ? 'MIXED' : 'IDLE', flags: [], reason: '', cpus: 64, alloc_cpus: i % 5 ? 32 : 0, memory_mb: 256_000,
    alloc_memory_mb: i % 5 ? 128_000 : 0, partitions: i % 3 ? ['batch'] : ['batch', 'gpu'], features: ['avx512'], gres: i % 3 ? '' : 'gpu:4',
    reason_set_by: '', address: `10.0.${(i >> 8) & 255}.${i & 255}`, hostname: `n${i}`, slurm_version: '22.05.8', boot_time: new Date(T0).toISOString(),
  };
}

/** A fleet state of `n` objects over CLUSTERS clusters: a snapshot, then deltas of CHUNK upserts. */
function fleet(kind: 'job' | 'node', n: number): FleetState {
  const state = new FleetState();
  for (let c = 0; c < CLUSTERS; c++) {
    const cluster = `c${c}`;
    const count = Math.ceil(n / CLUSTERS);
    for (let start = 0, seq = 1; start < count; start += CHUNK, seq++) {
      const upserts = [];
      for (let i = start; i < Math.min(count, start + CHUNK); i++) upserts.push(kind === 'job' ? wrapObject('job', job(cluster, i)) : wrapObject('node', node(cluster, i)));
      const delta: Delta = { cluster, epoch: 1, seq, observed_at: '', snapshot: seq === 1, events: [], snapshot_part: 0, snapshot_parts: 0, upserts, removals: [] };
      state.apply(delta, { notify: false });
    }
  }
  return state;
}

async function measure(dir: string, engine: HistoryEngine, run: () => Promise<SpecExport>): Promise<void> {
  global.gc?.();
  const base = memory(process.pid).rssMiB;
  resetPeak(process.pid);
  const t = process.hrtime.bigint();
  const result = await run();
  await pipeline(result.body, createWriteStream(join(dir, 'out.parquet')));
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  process.stdout.write(`${JSON.stringify({ rows: result.rows, seconds, baseMiB: base, peakMiB: memory(process.pid).hwmMiB })}\n`);
  engine.close();
}

async function main(): Promise<void> {
  const [mode, dir, nText] = process.argv.slice(2);
  if (!dir) throw new Error('usage: fleet-export.js jobs|nodes|audit-seed|audit DIR [N]');
  const n = Number(nText);
  const audit = (): AuditLog => new AuditLog(auditConfigSchema.parse({ dir: join(dir, 'audit') }), { hubId: 'bench-hub', dataDir: dir, logger: silentLogger() });
  if (mode === 'audit-seed') {
    const log = audit();
    await log.open();
    // Concurrent records share a write and an fsync, as a busy hub's do.
    for (let start = 0; start < n; start += 2000) {
      await Promise.all(Array.from({ length: Math.min(2000, n - start) }, (_, k) =>
        log.record({ action: 'jobs:read', resource: `job c${k % 4}/${start + k}`, outcome: 'success', user: `user${(start + k) % 500}`, transport: 'http', required: true })));
    }
    await log.close();
    return;
  }
  const engine = await HistoryEngine.open({ threads: 2, memoryLimit: '512MB' });
  const deps = { engine: async () => engine, scratchDir: join(dir, 'scratch') };
  if (mode === 'audit') {
    const log = audit();
    await log.open();
    await measure(dir, engine, () => exportAudit({ ...deps, audit: log }, { format: 'parquet', fingerprint: filterFingerprint({}) }));
    return;
  }
  if (mode !== 'jobs' && mode !== 'nodes') throw new Error(`unknown mode ${mode}`);
  const state = fleet(mode === 'jobs' ? 'job' : 'node', n);
  await measure(dir, engine, () => exportFleet({ ...deps, state }, { kind: mode, format: 'parquet', filter: {}, fingerprint: filterFingerprint({}), rows: RowFilter.ALL }));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
