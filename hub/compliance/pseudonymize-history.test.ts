// GDPR erasure from the job history: a pseudonymised user's name is gone from every Parquet file
// this hub writes (read back by a DuckDB of its own), stays gone when slurmdbd's backfill sends
// the same runs again or new ones, and after a restart; other users are untouched.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HistoryJob } from '../../shared/history/index.js';
import { HistoryEngine, HistoryStore } from '../history/index.js';
import { Pseudonymizer } from './pseudonym.js';
import { PseudonymizedUsers, userWordPattern } from './pseudonymized-users.js';

const T0 = Date.UTC(2026, 11, 6, 10, 0, 0);
const DAY = 86_400_000;

function run(over: Partial<HistoryJob> & Pick<HistoryJob, 'job_id'>): HistoryJob {
  return {
    cluster: 'prod-a', submit_time: T0, start_time: T0 + 60_000, end_time: T0 + 3_600_000, name: 'x', user: 'alice',
    account: 'research', partition: 'batch', qos: 'normal', state: 'COMPLETED', exit_code: 0, exit_signal: 0,
    alloc_tres: 'cpu=2', cpus: 2, gpus: 0, memory_mb: 1024, node_count: 1, node_list: 'n1', nodes: ['n1'],
    ...over,
  };
}

const pseudonymizer = new Pseudonymizer(Buffer.from('the site key'));
const ALICE = pseudonymizer.name('alice');
let dir: string;
let engine: HistoryEngine;
let owned: Set<string>;
let users: PseudonymizedUsers;
let store: HistoryStore;

async function open(): Promise<void> {
  users = await PseudonymizedUsers.load(path.join(dir, 'pseudonymized.json'), pseudonymizer);
  store = new HistoryStore({ engine, fence: { owns: (c) => owned.has(c) }, mask: (j) => users.mask(j) }, { dir });
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sf-pseudo-'));
  engine = await HistoryEngine.open({ threads: 1, memoryLimit: '256MB' });
  owned = new Set(['prod-a', 'prod-b']);
  await open();
});
afterEach(async () => {
  engine.close();
  await rm(dir, { recursive: true, force: true });
});

/** Every row of every Parquet file, read by a DuckDB of its own. */
async function files(): Promise<{ cluster: string; job_id: number; user: string; name: string; written_at: number }[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const glob = path.join(dir, 'jobs', '*', '*', '*.parquet');
    const rows = (await c.runAndReadAll(`SELECT cluster, job_id, "user", name, epoch_ms(written_at) AS written_at FROM read_parquet('${glob}', hive_partitioning = true) ORDER BY cluster, job_id`)).getRowObjectsJS();
    return rows.map((r) => ({ cluster: String(r.cluster), job_id: Number(r.job_id), user: String(r.user), name: String(r.name), written_at: Number(r.written_at) }));
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

async function pseudonymize(user: string): Promise<{ rows: number; partitions: number; not_owned: string[] }> {
  const p = await users.add(user);
  return store.pseudonymize(user, p, userWordPattern(user));
}

describe('GDPR: pseudonymising a user in the stored job history', () => {
  it('replaces the name in every run and in job names, leaves other users alone, and lists clusters written elsewhere', async () => {
    await store.upsert([
      run({ job_id: 1, name: 'alice-train' }),
      run({ job_id: 2, name: 'train for alice', end_time: T0 + DAY }),
      run({ job_id: 3, user: 'bob', name: 'alice2 and bob' }),
      run({ job_id: 4, cluster: 'prod-b', name: 'malice' }),
    ]);
    owned.add('prod-c');
    await store.upsert([run({ job_id: 5, cluster: 'prod-c' })]);
    owned.delete('prod-c'); // prod-c is now written by another hub of the group
    const before = await files();

    const done = await pseudonymize('alice');
    expect(done).toEqual({ rows: 3, partitions: 3, not_owned: ['prod-c'] });
    const after = await files();
    expect(after.map((r) => [r.cluster, r.job_id, r.user, r.name])).toEqual([
      ['prod-a', 1, ALICE, `${ALICE}-train`],
      ['prod-a', 2, ALICE, `train for ${ALICE}`],
      ['prod-a', 3, 'bob', 'alice2 and bob'],
      ['prod-b', 4, ALICE, 'malice'],
      ['prod-c', 5, 'alice', 'x'],
    ]);
    // The rewritten runs are new for incremental exports; bob's run keeps its written_at.
    const at = (rows: typeof before, id: number) => rows.find((r) => r.job_id === id)!.written_at;
    expect(at(after, 1)).toBeGreaterThan(at(before, 1));
    expect(at(after, 3)).toBe(at(before, 3));
    // The list holds the pseudonym, never the name.
    const list = await readFile(path.join(dir, 'pseudonymized.json'), 'utf8');
    expect(list).toContain(ALICE);
    expect(list).not.toContain('alice"');
    // Queries by the name find nothing; by the pseudonym, her runs.
    expect((await store.jobs({ user: 'alice' }, null)).map((j) => j.cluster)).toEqual(['prod-c']);
    expect((await store.jobs({ user: ALICE }, null)).map((j) => j.job_id).sort()).toEqual([1, 2, 4]);
  });

  it('a backfill that sends her runs again, or new ones, stores the pseudonym; so does a restarted hub', async () => {
    await store.upsert([run({ job_id: 1 })]);
    await pseudonymize('alice');
    await store.upsert([run({ job_id: 1, name: 'alice again' }), run({ job_id: 6, user: 'bob' })]);
    await open(); // a restart: the list is read from its file
    await store.upsert([run({ job_id: 7, end_time: T0 + 2 * DAY })]);
    expect((await files()).map((r) => [r.job_id, r.user, r.name])).toEqual([
      [1, ALICE, `${ALICE} again`],
      [6, 'bob', 'x'],
      [7, ALICE, 'x'],
    ]);
  });

  it('a user without runs: nothing rewritten, but later runs are stored under the pseudonym', async () => {
    await store.upsert([run({ job_id: 1, user: 'bob' })]);
    expect(await pseudonymize('carol')).toEqual({ rows: 0, partitions: 0, not_owned: [] });
    await store.upsert([run({ job_id: 2, user: 'carol' })]);
    expect((await files()).map((r) => r.user)).toEqual(['bob', pseudonymizer.name('carol')]);
  });

  it('a damaged list stops the load with the file named', async () => {
    const file = path.join(dir, 'bad.json');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, '{"pseudonyms": [1]}'));
    await expect(PseudonymizedUsers.load(file, pseudonymizer)).rejects.toThrow(/bad\.json: not a list of pseudonyms/);
  });
});
