import { copyFile, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HistoryJob } from '../../shared/history/index.js';
import { HistoryEngine, HistoryStore, usageReport, USAGE_GROUPS, type HistoryFilter, type RowClauses, type UsageGroup } from './index.js';
import { HistoryMirror } from './mirror.js';

const DAY = 86_400_000;
const D0 = Date.UTC(2026, 10, 1);
const NOW = D0 + 40 * DAY;
const owns = { owns: () => true };

/** Runs over 3 clusters x 6 days with varied users, accounts, partitions, states and waits. */
function dataset(): HistoryJob[] {
  const jobs: HistoryJob[] = [];
  let id = 1;
  for (const cluster of ['prod-a', 'prod-b', 'gpu-c']) {
    for (let d = 0; d < 6; d++) {
      for (let i = 0; i < 25; i++, id++) {
        const submit = D0 + d * DAY + i * 600_000;
        const started = i % 7 !== 3;
        jobs.push({
          cluster, job_id: id, submit_time: submit, start_time: started ? submit + (i % 5) * 90_000 : null, end_time: submit + 3_600_000 + i * 1000,
          name: `job${i}`, user: ['alice', 'bob', 'carol', "o'neil"][i % 4], account: ['research', 'ops', 'tenant-x'][i % 3], partition: i % 2 ? 'batch' : 'gpu',
          qos: 'normal', state: ['COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED', 'COMPLETED'][i % 5], exit_code: i % 5 === 1 ? 3 : 0, exit_signal: 0,
          alloc_tres: 'cpu=2', cpus: 1 + (i % 8), gpus: i % 3, memory_mb: 1024, node_count: 1, node_list: 'n1', nodes: ['n1'],
        });
      }
    }
  }
  return jobs;
}

let dir: string;
let engine: HistoryEngine;
let mirror: HistoryMirror;
let plain: HistoryStore;
let mirrored: HistoryStore;
const mirrorFile = (): string => path.join(dir, 'mirror', 'jobs.duckdb');

async function openStores(): Promise<void> {
  engine = await HistoryEngine.open({ threads: 1, memoryLimit: '256MB' });
  mirror = await HistoryMirror.open({ engine }, { file: mirrorFile(), batchDays: 4 });
  plain = new HistoryStore({ engine, fence: owns }, { dir });
  mirrored = new HistoryStore({ engine, fence: owns, mirror }, { dir });
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sf-mirror-'));
  await openStores();
  await plain.upsert(dataset());
});
afterEach(async () => {
  await mirror.settled();
  engine.close();
  await rm(dir, { recursive: true, force: true });
});

const report = (store: HistoryStore, by: UsageGroup, filter: HistoryFilter = {}, rows: RowClauses = null) => usageReport({ engine, store }, by, filter, rows);

describe('job history mirror', () => {
  it('answers every report and query exactly as the Parquet days do, and serves the closed days from its own file', async () => {
    expect(await mirrored.syncMirror(NOW)).toEqual({ loaded: 18, dropped: 0 });
    expect(mirror.days).toBe(18);
    // A report that spills writes beside the mirror (left out of backups), not into the working directory.
    expect((await engine.connection.runAndReadAll(`SELECT current_setting('temp_directory') AS t`)).getRowObjectsJS()).toEqual([{ t: path.join(dir, 'mirror', 'spill') }]);
    const cases: [HistoryFilter, RowClauses][] = [
      [{}, null],
      [{ since: D0 + DAY, until: D0 + 4 * DAY, state: 'COMPLETED' }, null],
      [{ account: 'ops' }, [{ user: ['bob', "o'neil"] }, { cluster: ['gpu-*'], account: ['research'] }]],
      [{ user: "o'neil" }, [{ cluster: ['prod-a'] }]],
    ];
    for (const by of Object.keys(USAGE_GROUPS) as UsageGroup[]) {
      for (const [filter, rows] of cases) {
        const expected = await report(plain, by, filter, rows);
        expect(expected.length).toBeGreaterThan(0);
        expect(await report(mirrored, by, filter, rows)).toEqual(expected);
      }
    }
    for (const [filter, rows] of cases) expect(await mirrored.jobs(filter, rows, 5000)).toEqual(await plain.jobs(filter, rows, 5000));
    // Proof the rows came from the mirror: with every Parquet day's bytes gone (same names), the
    // mirrored reads still answer; the plain one cannot.
    const total = (await report(plain, 'cluster')).reduce((s, r) => s + r.jobs, 0);
    for (const c of await readdir(path.join(dir, 'jobs'))) {
      for (const d of await readdir(path.join(dir, 'jobs', c))) {
        const day = path.join(dir, 'jobs', c, d);
        await writeFile(path.join(day, (await readdir(day))[0]), 'not parquet');
      }
    }
    expect((await report(mirrored, 'cluster')).reduce((s, r) => s + r.jobs, 0)).toBe(total);
    await expect(report(plain, 'cluster')).rejects.toThrow(/parquet|magic|file/i);
  });

  it('a run written to a mirrored day after its load is in the next report (that day read from Parquet until reloaded), counted once', async () => {
    await mirrored.syncMirror(NOW);
    const before = await report(mirrored, 'cluster', {}, [{ cluster: ['prod-a'] }]);
    const late: HistoryJob = { ...dataset()[0], job_id: 99_999, cpus: 64, submit_time: D0 + 2 * DAY, start_time: D0 + 2 * DAY, end_time: D0 + 2 * DAY + 3_600_000 };
    await mirrored.upsert([late]);
    const after = await report(mirrored, 'cluster', {}, [{ cluster: ['prod-a'] }]);
    expect(after[0].jobs).toBe(before[0].jobs + 1);
    expect(after[0].cpu_hours).toBeCloseTo(before[0].cpu_hours + 64, 6);
    expect(await mirrored.syncMirror(NOW)).toEqual({ loaded: 1, dropped: 1 });
    expect(await report(mirrored, 'cluster')).toEqual(await report(plain, 'cluster'));
    expect((await mirrored.jobs({ job_id: 99_999 }, null)).map((j) => j.cpus)).toEqual([64]);
  });

  it('today (not closed) stays in Parquet; a day with two files (a crash mid-write) is not loaded', async () => {
    // "Today" is D0 + 3 days: the 3 days before it are closed, in each of the 3 clusters.
    expect(await mirrored.syncMirror(D0 + 3 * DAY)).toEqual({ loaded: 9, dropped: 0 });
    expect(mirror.days).toBe(9);
    const day = path.join(dir, 'jobs', 'cluster=prod-a', `day=${utc(D0 + 4 * DAY)}`);
    const [file] = await readdir(day);
    await copyFile(path.join(day, file), path.join(day, `part-0-${file.slice(5)}`));
    expect(await mirrored.syncMirror(NOW)).toEqual({ loaded: 8, dropped: 0 });
    expect(await report(mirrored, 'user')).toEqual(await report(plain, 'user'));
  });

  it('a load that fails (a file gone mid-load, as a full disk would) leaves the mirror as it was and reads correct', async () => {
    const listing = [{ cluster: 'prod-a', day: utc(D0), files: [path.join(dir, 'jobs', 'cluster=prod-a', `day=${utc(D0)}`, 'part-gone.parquet')] }];
    await expect(mirror.sync(listing, utc(NOW))).rejects.toThrow(/part-gone|No files found|IO/i);
    expect(mirror.days).toBe(0);
    expect(await report(mirrored, 'account')).toEqual(await report(plain, 'account'));
    expect(await mirrored.syncMirror(NOW)).toEqual({ loaded: 18, dropped: 0 });
  });

  it('a corrupt mirror file is moved aside and rebuilt; reads are right before and after', async () => {
    await mirrored.syncMirror(NOW);
    const expected = await report(plain, 'user');
    engine.close();
    const size = (await stat(mirrorFile())).size;
    const fh = await open(mirrorFile(), 'r+');
    try {
      await fh.write(Buffer.alloc(Math.min(size, 64 * 1024), 0x5a), 0);
    } finally {
      await fh.close();
    }
    await openStores();
    expect((await readdir(path.join(dir, 'mirror'))).some((f) => f.startsWith('jobs.duckdb.corrupt-'))).toBe(true);
    expect(mirror.days).toBe(0);
    expect(await report(mirrored, 'user')).toEqual(expected);
    expect((await mirrored.syncMirror(NOW)).loaded).toBe(18);
    expect(await report(mirrored, 'user')).toEqual(expected);
  });

  it('a read that fails in the mirror is answered from Parquet, and the next sync rebuilds the mirror', async () => {
    await mirrored.syncMirror(NOW);
    const expected = await report(plain, 'partition', { account: 'ops' });
    // The mirror's database gone from under the engine (as a file that broke while open).
    await engine.connection.run('DETACH DATABASE history_mirror');
    expect(await report(mirrored, 'partition', { account: 'ops' })).toEqual(expected);
    expect(mirror.days).toBe(0);
    expect((await mirrored.syncMirror(NOW)).loaded).toBe(18);
    expect(await report(mirrored, 'partition', { account: 'ops' })).toEqual(expected);
  });

  it('a broken Parquet day fails the read with its own error and the mirror stays in service', async () => {
    await mirrored.syncMirror(NOW);
    const day = path.join(dir, 'jobs', 'cluster=prod-b', `day=${utc(D0 + DAY)}`);
    const [file] = await readdir(day);
    // A second file in the day (so it is read from Parquet), and not Parquet at all.
    await writeFile(path.join(day, `part-0-${file.slice(5)}`), 'not parquet');
    await expect(report(mirrored, 'account')).rejects.toThrow(/parquet|magic|file/i);
    expect(mirror.days).toBe(18);
    expect((await readdir(path.join(dir, 'mirror'))).filter((f) => f.includes('corrupt'))).toEqual([]);
  });

  it('retention drops the day from the reports at once and from the mirror at the next sync', async () => {
    await mirrored.syncMirror(NOW);
    // Keep 39 days before NOW: the first day (D0) is older.
    expect(await mirrored.expire(39, NOW + 1)).toBe(3);
    const expected = await report(plain, 'cluster');
    expect(expected.reduce((s, r) => s + r.jobs, 0)).toBe(3 * 5 * 25);
    expect(await report(mirrored, 'cluster')).toEqual(expected);
    expect(await mirrored.syncMirror(NOW)).toEqual({ loaded: 0, dropped: 3 });
    expect(mirror.days).toBe(15);
    expect(await report(mirrored, 'cluster')).toEqual(expected);
  });
});

function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
