// The 10M-row history of the history-report and restore-10m benchmarks (issue 16), written as
// the hub's HistoryStore lays it out: <dir>/jobs/cluster=<c>/day=<UTC end day>/part-*.parquet,
// one zstd file per day, rows by end time, the store's columns and types, `written_at` set.
// DuckDB's COPY writes it (an upsert per day would take hours at 10M); the run then checks
// the result with the hub's own code: a file the real HistoryStore wrote has the same schema, and
// the hub's usage report over the whole store counts every row.
//   node history-dataset.js DIR ROWS END_MS   prints one JSON line {rows, files, bytes, seconds}
//
// Shape (GENERATOR_VERSION names it; the suite keys its cache by it): 20 clusters x 365 UTC days
// before END_MS; per cluster job ids rising with time; 2,000 users (skewed: a few run most
// jobs), each in one of 200 accounts; 6 partitions, 4 QOS; run times log-uniform 30 s - 48 h,
// waits 5 s - 24 h; 8% never started (cancelled while pending); 1-128 CPUs, GPUs on `gpu`.
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HistoryEngine, HistoryStore, usageReport } from '../../../hub/history/index.js';

export const GENERATOR_VERSION = 1;
export const CLUSTERS = 20;
export const DAYS = 365;
const DAY_MS = 86_400_000;

/** Uniform in [0, 1) from row i and a salt: deterministic, so a regenerated dataset is the same. */
const u = (salt: number): string => `((hash(i, ${salt}) % 1000003) / 1000003.0)`;

/** The SELECT of one cluster's rows (no cluster column: it is the directory). */
function clusterRows(c: number, rows: number, endMs: number): string {
  const startMs = endMs - DAYS * DAY_MS;
  const span = (endMs - startMs) / 1000;
  return `
    WITH base AS (
      SELECT i,
        to_timestamp(${startMs / 1000} + (i + ${u(c * 16 + 1)}) * ${span / rows}) AS end_time,
        30 * pow(5760, ${u(c * 16 + 2)}) AS run_s,
        5 * pow(17280, ${u(c * 16 + 3)}) AS wait_s,
        floor(2000 * pow(${u(c * 16 + 4)}, 2))::INTEGER AS user_n,
        ${u(c * 16 + 5)} AS p,
        ${u(c * 16 + 6)} AS s,
        floor(8 * ${u(c * 16 + 7)})::INTEGER AS cpu_pow,
        (hash(i, ${c * 16 + 8}) % 500)::INTEGER AS node0,
        (hash(i, ${c * 16 + 9}) % 5000)::INTEGER AS name_n
      FROM range(${rows}) t(i)
    ),
    shaped AS (
      SELECT *,
        CASE WHEN p < 0.55 THEN 'batch' WHEN p < 0.75 THEN 'gpu' WHEN p < 0.85 THEN 'highmem'
             WHEN p < 0.92 THEN 'long' WHEN p < 0.97 THEN 'debug' ELSE 'interactive' END AS part,
        CASE WHEN s < 0.08 THEN 'CANCELLED' WHEN s < 0.86 THEN 'COMPLETED' WHEN s < 0.92 THEN 'FAILED'
             WHEN s < 0.95 THEN 'CANCELLED' WHEN s < 0.97 THEN 'TIMEOUT' WHEN s < 0.985 THEN 'OUT_OF_MEMORY'
             WHEN s < 0.99 THEN 'NODE_FAIL' ELSE 'REQUEUED' END AS st,
        s >= 0.08 AS started,
        (2 ** cpu_pow)::INTEGER AS ncpu
      FROM base
    ),
    sized AS (
      SELECT *,
        CASE WHEN part = 'gpu' THEN (2 ** (cpu_pow % 4))::INTEGER ELSE 0 END AS ngpu,
        greatest(1, ncpu // 64)::INTEGER AS nnodes
      FROM shaped
    )
    SELECT
      CAST(end_time AS DATE) AS day,
      (1000000 + i)::BIGINT AS job_id,
      end_time - to_seconds(CAST(CASE WHEN started THEN run_s ELSE 0 END + wait_s AS BIGINT)) AS submit_time,
      CASE WHEN started THEN end_time - to_seconds(CAST(run_s AS BIGINT)) END AS start_time,
      end_time,
      'job-' || name_n AS name,
      'u' || lpad(user_n::VARCHAR, 4, '0') AS "user",
      'acct' || lpad((user_n % 200)::VARCHAR, 3, '0') AS account,
      part AS "partition",
      CASE WHEN part = 'debug' THEN 'debug' WHEN user_n < 20 THEN 'high' WHEN user_n % 7 = 0 THEN 'low' ELSE 'normal' END AS qos,
      st AS state,
      CASE st WHEN 'FAILED' THEN 1 + name_n % 3 WHEN 'OUT_OF_MEMORY' THEN 0 ELSE 0 END::INTEGER AS exit_code,
      CASE st WHEN 'OUT_OF_MEMORY' THEN 9 WHEN 'TIMEOUT' THEN 15 ELSE 0 END::INTEGER AS exit_signal,
      CASE WHEN started THEN printf('billing=%d,cpu=%d,%smem=%dM,node=%d', ncpu, ncpu, CASE WHEN ngpu > 0 THEN printf('gres/gpu=%d,', ngpu) ELSE '' END, ncpu * 4096, nnodes) ELSE '' END AS alloc_tres,
      ncpu AS cpus,
      ngpu AS gpus,
      (ncpu * 4096)::BIGINT AS memory_mb,
      CASE WHEN started THEN nnodes ELSE 0 END AS node_count,
      CASE WHEN NOT started THEN 'None assigned' WHEN nnodes = 1 THEN printf('n%04d', node0)
           ELSE printf('n[%04d-%04d]', node0, node0 + nnodes - 1) END AS node_list,
      CASE WHEN started THEN list_transform(range(nnodes), k -> printf('n%04d', node0 + k)) ELSE []::VARCHAR[] END AS nodes,
      to_timestamp(${endMs / 1000}) AS written_at
    FROM sized
    ORDER BY end_time, job_id`;
}

function filesUnder(dir: string): { files: number; bytes: number } {
  let [files, bytes] = [0, 0];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.parquet')) continue;
    files++;
    bytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  return { files, bytes };
}

/** The schema DuckDB reads from a file, as [name, type] pairs. */
async function schemaOf(engine: HistoryEngine, file: string): Promise<string[]> {
  const r = await engine.connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file.replaceAll("'", "''")}', hive_partitioning = false)`);
  return r.getRowObjectsJS().map((row) => `${String(row.column_name)} ${String(row.column_type)}`);
}

async function main(): Promise<void> {
  const [dir, rowsText, endText] = process.argv.slice(2);
  const [rows, endMs] = [Number(rowsText), Number(endText)];
  if (!dir || !(rows > 0) || !(endMs > 0) || endMs % DAY_MS !== 0) throw new Error('usage: history-dataset.js DIR ROWS END_MS (END_MS a UTC midnight)');
  const t0 = performance.now();
  const engine = await HistoryEngine.open({ threads: 2, memoryLimit: '2GB' });
  try {
    const c = engine.connection;
    await c.run(`SET TimeZone = 'UTC'`);
    // One writer per day partition of a cluster, all open at once (365 > the default 100).
    await c.run(`SET partitioned_write_max_open_files = 1000`);
    const jobsDir = join(dir, 'jobs');
    const perCluster = Math.ceil(rows / CLUSTERS);
    for (let k = 0; k < CLUSTERS; k++) {
      const n = Math.min(perCluster, rows - k * perCluster);
      const out = join(jobsDir, `cluster=cluster-${String(k + 1).padStart(2, '0')}`);
      mkdirSync(out, { recursive: true, mode: 0o700 });
      await c.run(
        `COPY (${clusterRows(k, n, endMs)}) TO '${out}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), FILENAME_PATTERN 'part-{uuid}', OVERWRITE_OR_IGNORE)`,
      );
    }
    // The same columns and types as a file the real store writes.
    const probeDir = join(dir, '..', `schema-probe-${process.pid}`);
    const probe = new HistoryStore({ engine, fence: { owns: () => true } }, { dir: probeDir });
    await probe.upsert([{ cluster: 'probe', job_id: 1, submit_time: endMs - 7_200_000, start_time: endMs - 3_600_000, end_time: endMs - 1, name: 'p', user: 'u', account: 'a', partition: 'batch', qos: 'normal', state: 'COMPLETED', exit_code: 0, exit_signal: 0, alloc_tres: 'cpu=1', cpus: 1, gpus: 0, memory_mb: 1, node_count: 1, node_list: 'n1', nodes: ['n1'] }]);
    const probeFile = readdirSync(probeDir, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('.parquet'))!;
    const firstDay = readdirSync(join(jobsDir, 'cluster=cluster-01'))[0]!;
    const ours = readdirSync(join(jobsDir, 'cluster=cluster-01', firstDay)).find((f) => f.endsWith('.parquet'))!;
    const [want, got] = [await schemaOf(engine, join(probeDir, probeFile)), await schemaOf(engine, join(jobsDir, 'cluster=cluster-01', firstDay, ours))];
    if (want.join() !== got.join()) throw new Error(`generated files do not have the store's schema:\n  store: ${want.join(', ')}\n  ours:  ${got.join(', ')}`);
    await rm(probeDir, { recursive: true, force: true });
    // The hub's reader sees every row, in every cluster.
    const store = new HistoryStore({ engine, fence: { owns: () => false } }, { dir });
    const byCluster = await usageReport({ engine, store }, 'cluster', {}, null);
    const counted = byCluster.reduce((sum, r) => sum + r.jobs, 0);
    if (counted !== rows || byCluster.length !== CLUSTERS) throw new Error(`the hub's usage report counts ${counted} runs in ${byCluster.length} clusters, not ${rows} in ${CLUSTERS}`);
    const { files, bytes } = filesUnder(jobsDir);
    process.stdout.write(`${JSON.stringify({ rows, files, bytes, seconds: (performance.now() - t0) / 1000 })}\n`);
  } finally {
    engine.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
