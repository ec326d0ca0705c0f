import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HistoryJob } from '../../shared/history/index.js';
import { HistoryBackfill, HistoryEngine, HistoryNotOwnerError, HistoryStore, usageReport } from './index.js';

const T0 = Date.UTC(2026, 11, 6, 10, 0, 0);
const H = 3_600_000;

function run(over: Partial<HistoryJob> & Pick<HistoryJob, 'job_id'>): HistoryJob {
  return {
    cluster: 'prod-a', submit_time: T0, start_time: T0 + 60_000, end_time: T0 + H, name: 'x', user: 'alice',
    account: 'research', partition: 'batch', qos: 'normal', state: 'COMPLETED', exit_code: 0, exit_signal: 0,
    alloc_tres: 'cpu=2,mem=1G,node=1', cpus: 2, gpus: 0, memory_mb: 1024, node_count: 1, node_list: 'n[1-2]', nodes: ['n1', 'n2'],
    ...over,
  };
}

let dir: string;
let engine: HistoryEngine;
let owned: Set<string>;
let store: HistoryStore;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sf-history-'));
  engine = await HistoryEngine.open({ threads: 1, memoryLimit: '256MB' });
  owned = new Set(['prod-a', 'prod-b']);
  store = new HistoryStore({ engine, fence: { owns: (c) => owned.has(c) } }, { dir });
});
afterEach(async () => {
  engine.close();
  await rm(dir, { recursive: true, force: true });
});

/** Every Parquet file of the history, read by a DuckDB of its own (not the store's engine). */
async function readBack(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const glob = path.join(dir, 'jobs', '*', '*', '*.parquet');
    return (await c.runAndReadAll(sql.replace('HISTORY', `read_parquet('${glob}', hive_partitioning = true)`))).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

describe('job history store', () => {
  it('writes typed Parquet partitioned by cluster and UTC end day that an independent reader reads back', async () => {
    await store.upsert([run({ job_id: 1 }), run({ job_id: 2, end_time: T0 + 20 * H }), run({ job_id: 3, cluster: 'prod-b', start_time: null })]);
    const parts = (await readdir(path.join(dir, 'jobs', 'cluster=prod-a'))).sort();
    expect(parts).toEqual(['day=2026-12-06', 'day=2026-12-07']);
    const types = await readBack(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM HISTORY)`);
    const typeOf = Object.fromEntries(types.map((t) => [t.column_name, t.column_type]));
    expect(typeOf).toMatchObject({ job_id: 'BIGINT', submit_time: 'TIMESTAMP WITH TIME ZONE', end_time: 'TIMESTAMP WITH TIME ZONE', nodes: 'VARCHAR[]', exit_code: 'INTEGER', memory_mb: 'BIGINT' });
    const rows = await readBack(`SELECT cluster, job_id, epoch_ms(submit_time) AS s, start_time, nodes FROM HISTORY ORDER BY job_id`);
    expect(rows).toEqual([
      { cluster: 'prod-a', job_id: 1n, s: BigInt(T0), start_time: expect.anything(), nodes: ['n1', 'n2'] },
      { cluster: 'prod-a', job_id: 2n, s: BigInt(T0), start_time: expect.anything(), nodes: ['n1', 'n2'] },
      { cluster: 'prod-b', job_id: 3n, s: BigInt(T0), start_time: null, nodes: ['n1', 'n2'] },
    ]);
    // Whatever the umask: job history is as private as the rest of the data directory.
    const day = path.join(dir, 'jobs', 'cluster=prod-a', 'day=2026-12-06');
    const [file] = await readdir(day);
    expect(((await stat(path.join(day, file))).mode & 0o777).toString(8)).toBe('600');
  });

  it('upserts by (cluster, job id, submit time): an overlapping write changes nothing, a requeued run is a row of its own, a day stays one file', async () => {
    await store.upsert([run({ job_id: 5, state: 'REQUEUED', exit_code: 0 })]);
    await store.upsert([run({ job_id: 5, state: 'REQUEUED' }), run({ job_id: 5, submit_time: T0 + 1000, state: 'FAILED', exit_code: 3 })]);
    await store.upsert([run({ job_id: 5, submit_time: T0 + 1000, state: 'FAILED', exit_code: 3 })]);
    const jobs = await store.jobs({ job_id: 5 }, null);
    expect(jobs.map((j) => [j.submit_time, j.state, j.exit_code]).sort()).toEqual([[T0, 'REQUEUED', 0], [T0 + 1000, 'FAILED', 3]]);
    expect(await readdir(path.join(dir, 'jobs', 'cluster=prod-a', 'day=2026-12-06'))).toHaveLength(1);
    expect(await readBack('SELECT count(*) AS n FROM HISTORY')).toEqual([{ n: 2n }]);
  });

  it('a crash left a partition\'s old file beside its new one: source() and streamingSource() show each run once, from the newest file', async () => {
    const day = path.join(dir, 'jobs', 'cluster=prod-a', 'day=2026-12-06');
    await store.upsert([run({ job_id: 7, state: 'FAILED', exit_code: 1 }), run({ job_id: 8 })]);
    const [first] = await readdir(day);
    const kept = await readFile(path.join(day, first));
    await store.upsert([run({ job_id: 7, state: 'COMPLETED', exit_code: 0 }), run({ job_id: 9, cluster: 'prod-b' })]);
    await writeFile(path.join(day, first), kept); // the removal that the crash prevented
    expect(await readdir(day)).toHaveLength(2);
    expect(await readBack('SELECT count(*) AS n FROM HISTORY')).toEqual([{ n: 5n }]);
    expect((await store.jobs({}, null)).map((j) => [j.cluster, j.job_id, j.state]).sort()).toEqual([['prod-a', 7, 'COMPLETED'], ['prod-a', 8, 'COMPLETED'], ['prod-b', 9, 'COMPLETED']]);
    const c = await engine.connect();
    try {
      const from = await store.streamingSource(c);
      const rows = (await c.runAndReadAll(`SELECT cluster, job_id, state FROM ${from} ORDER BY cluster, job_id`)).getRowObjectsJS();
      expect(rows).toEqual([{ cluster: 'prod-a', job_id: 7n, state: 'COMPLETED' }, { cluster: 'prod-a', job_id: 8n, state: 'COMPLETED' }, { cluster: 'prod-b', job_id: 9n, state: 'COMPLETED' }]);
    } finally {
      c.closeSync();
    }
  });

  it('refuses to write a cluster this hub does not own, and writes nothing of that batch', async () => {
    owned.delete('prod-b');
    await expect(store.upsert([run({ job_id: 1 }), run({ job_id: 2, cluster: 'prod-b' })])).rejects.toThrow(HistoryNotOwnerError);
    await expect(readdir(path.join(dir, 'jobs'))).rejects.toThrow(/ENOENT/);
    await expect(store.upsert([run({ job_id: 1, cluster: '../etc' })])).rejects.toThrow(/cannot name a history partition/);
  });

  it('applies filters and RBAC row clauses as bound values (a quote in a value is just a value)', async () => {
    await store.upsert([run({ job_id: 1 }), run({ job_id: 2, user: 'bob', account: 'ops' }), run({ job_id: 3, end_time: T0 + 30 * H })]);
    expect((await store.jobs({}, [{ user: ['bob'] }])).map((j) => j.job_id)).toEqual([2]);
    expect((await store.jobs({ since: T0 + 2 * H }, null)).map((j) => j.job_id)).toEqual([3]);
    expect((await store.jobs({ until: T0 + 2 * H, account: 'research' }, null)).map((j) => j.job_id)).toEqual([1]);
    expect(await store.jobs({ user: "alice' OR '1'='1" }, null)).toEqual([]);
    expect(await store.jobs({}, [])).toEqual([]);
    expect((await store.jobs({}, [{ user: ['bob'] }, { account: ['research'], cluster: ['prod-a'] }], 10)).map((j) => j.job_id).sort()).toEqual([1, 2, 3]);
  });

  it('reports usage per account: CPU- and GPU-hours, runs, wait percentiles, failure rate', async () => {
    await store.upsert([
      run({ job_id: 1, cpus: 4, start_time: T0, end_time: T0 + 2 * H }),
      run({ job_id: 2, cpus: 2, gpus: 1, submit_time: T0, start_time: T0 + 600_000, end_time: T0 + 600_000 + H, state: 'FAILED' }),
      run({ job_id: 3, account: 'ops', user: 'bob', start_time: null, state: 'CANCELLED' }),
    ]);
    const report = await usageReport({ engine, store }, 'account', {}, null);
    expect(report).toEqual([
      { key: 'research', jobs: 2, cpu_hours: 10, gpu_hours: 1, wait_p50_s: 300, wait_p90_s: 540, wait_p99_s: 594, failed: 1, failure_rate: 0.5 },
      { key: 'ops', jobs: 1, cpu_hours: 0, gpu_hours: 0, wait_p50_s: null, wait_p90_s: null, wait_p99_s: null, failed: 0, failure_rate: 0 },
    ]);
    expect((await usageReport({ engine, store }, 'user', {}, [{ user: ['bob'] }])).map((r) => r.key)).toEqual(['bob']);
  });

  it('a report or query with --since/--until reads only the days it covers: an unreadable file of another day does not fail it', async () => {
    await store.upsert([run({ job_id: 1 }), run({ job_id: 2, end_time: T0 + 24 * H }), run({ job_id: 3, end_time: T0 + 48 * H })]);
    // 2026-12-06 and 2026-12-08 made unreadable: only 2026-12-07 is in range.
    for (const day of ['day=2026-12-06', 'day=2026-12-08']) {
      const d = path.join(dir, 'jobs', 'cluster=prod-a', day);
      await writeFile(path.join(d, (await readdir(d))[0]), 'not parquet');
    }
    const dec7 = { since: Date.UTC(2026, 11, 7), until: Date.UTC(2026, 11, 8) };
    expect((await usageReport({ engine, store }, 'account', dec7, null)).map((r) => [r.key, r.jobs])).toEqual([['research', 1]]);
    expect((await store.jobs(dec7, null)).map((j) => j.job_id)).toEqual([2]);
    // Without the range every day is read, and the broken files are an error, not a silent gap.
    await expect(usageReport({ engine, store }, 'account', {}, null)).rejects.toThrow(/parquet|magic|file/i);
  });

  it('drops day partitions past the retention', async () => {
    await store.upsert([run({ job_id: 1, end_time: T0 - 40 * 24 * H, submit_time: T0 - 41 * 24 * H, start_time: null }), run({ job_id: 2 })]);
    expect(await store.expire(30, T0)).toBe(1);
    expect((await store.jobs({}, null)).map((j) => j.job_id)).toEqual([2]);
  });

  it('backfills windows that overlap the last one by the margin, and resumes from what was saved', async () => {
    const asked: [number, number][] = [];
    const reader = {
      read: async (w: { since: number; until: number }) => {
        asked.push([w.since, w.until]);
        return [run({ job_id: 7, end_time: w.until - 1 }), run({ job_id: 8, cluster: 'other', end_time: w.until - 1 })];
      },
    };
    const backfill = new HistoryBackfill({ store }, { stateFile: path.join(dir, 'backfill.json'), marginMs: 10 * 60_000, initialLookbackMs: 2 * H, maxWindowMs: H });
    expect(await backfill.run('prod-a', reader, T0)).toEqual({ windows: 2, rows: 2 });
    expect(asked).toEqual([[T0 - 2 * H, T0 - H], [T0 - H, T0]]);
    asked.length = 0;
    await backfill.run('prod-a', reader, T0 + 30 * 60_000);
    expect(asked).toEqual([[T0 - 10 * 60_000, T0 + 30 * 60_000]]);
    expect((await backfill.state()).through['prod-a']).toBe(T0 + 30 * 60_000);
    // Only the cluster asked for is written (the other cluster's runs are not this backfill's).
    expect(new Set((await store.jobs({}, null)).map((j) => j.cluster))).toEqual(new Set(['prod-a']));
  });
});
