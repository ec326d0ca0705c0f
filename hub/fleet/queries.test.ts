import { describe, expect, it } from 'vitest';
import type { Delta } from '../../shared/delta/index.js';
import { jobDelta } from '../../shared/delta/testdata/fleet-fixtures.js';
import type { Job } from '../../shared/model/index.js';
import { Prng } from '../../sim/engine/index.js';
import { FleetState } from './fleet-state.js';
import { INDEXED_FIELDS, JOB_FILTER_FIELDS, JobIndex } from './job-index.js';
import { queryJobs, type JobFilter } from './queries.js';

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'rare'];
const ACCOUNTS = ['research', 'ops', 'physics'];
const STATES = ['PENDING', 'RUNNING', 'RUNNING', 'RUNNING', 'COMPLETING', 'FAILED'];
const PARTITIONS = ['debug', 'batch', 'gpu', 'debug,batch'];

function randomJob(rng: Prng, cluster: string, id: number): Job {
  const state = rng.pick(STATES);
  const user = rng.chance(0.01) ? 'rare' : rng.pick(USERS.slice(0, 5));
  const nodes = state === 'RUNNING' ? [`n${rng.int(1, 40)}`, ...(rng.chance(0.2) ? [`n${rng.int(41, 60)}`] : [])] : [];
  return {
    // 'rare' is only ever in ops: filters that exclude each other defeat any independence guess.
    cluster, id, name: `j${id}`, user, account: user === 'rare' ? 'ops' : rng.pick(ACCOUNTS), partition: rng.pick(PARTITIONS), qos: 'normal',
    state, state_flags: [], state_reason: 'None', nodes, node_list: nodes.join(','), cpus: 1, node_count: nodes.length, working_dir: '', comment: '', tres: '',
    priority: rng.int(1, 1000),
  };
}

function delta(cluster: string, seq: number, upserts: Job[], removals: number[] = [], snapshot = false): Delta {
  return jobDelta(upserts, { cluster, seq, removedJobs: removals, snapshot });
}

/** What the query must return: every job that matches, in (cluster, id) order. */
function bruteForce(state: FleetState, filter: JobFilter): string[] {
  const all = state.list('job').filter((job) =>
    JOB_FILTER_FIELDS.every((f) => {
      const want = filter[f];
      if (!want) return true;
      const value = f === 'state' ? want.toUpperCase() : want;
      return JobIndex.valuesOf(f, job).includes(value);
    }),
  );
  all.sort((a, b) => (a.cluster !== b.cluster ? (a.cluster < b.cluster ? -1 : 1) : a.id - b.id));
  return all.map((j) => `${j.cluster}/${j.id}`);
}

function pageThrough(state: FleetState, filter: JobFilter, limit: number): string[] {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = queryJobs(state, filter, limit, cursor);
    seen.push(...page.items.map((j) => `${j.cluster}/${j.id}`));
    expect(page.items.length).toBeLessThanOrEqual(limit);
    cursor = page.next_cursor;
    if (!cursor) return seen;
    expect(page.items).toHaveLength(limit);
  }
  throw new Error('too many pages');
}

describe('queryJobs over a changing fleet', () => {
  it('pages through exactly the matching jobs in order, whichever plan it picks', () => {
    const rng = new Prng(11);
    const state = new FleetState();
    const clusters = ['c-b', 'c-a', 'c-c'];
    const jobs = new Map<string, Job[]>();
    for (const c of clusters) {
      // Ids out of order in the snapshot, with gaps.
      const list = Array.from({ length: 1500 }, (_, i) => randomJob(rng, c, 1000 + i * 3));
      list.reverse();
      jobs.set(c, list);
      state.apply(delta(c, 1, list, [], true));
    }
    // Changes: state and node moves, removals, re-adds of removed ids, new ids below and above.
    let seq = 1;
    for (let round = 0; round < 20; round++) {
      seq++;
      for (const c of clusters) {
        const list = jobs.get(c)!;
        const upserts = Array.from({ length: 60 }, () => randomJob(rng, c, rng.pick(list).id));
        upserts.push(randomJob(rng, c, 5000 + round), randomJob(rng, c, 1 + round * 3));
        const removals = Array.from({ length: 15 }, () => rng.pick(list).id).filter((id) => !upserts.some((u) => u.id === id));
        state.apply(delta(c, seq, upserts, removals));
      }
    }
    const filters: JobFilter[] = [
      {},
      { cluster: 'c-a' },
      { user: 'alice' },
      { user: 'rare' },
      { account: 'ops', state: 'running' },
      { state: 'FAILED' },
      { partition: 'batch' },
      { partition: 'debug,batch' },
      { node: 'n7' },
      { cluster: 'c-c', user: 'bob', state: 'PENDING' },
      { user: 'nobody' },
      { user: 'rare', account: 'research' },
      { user: 'rare', account: 'ops', state: 'RUNNING' },
      { user: 'alice', account: 'ops', node: 'n3' },
      { cluster: 'missing' },
    ];
    for (const filter of filters) {
      const expected = bruteForce(state, filter);
      for (const limit of [1, 7, 100, 5000]) expect(pageThrough(state, filter, limit), `${JSON.stringify(filter)} limit ${limit}`).toEqual(expected);
    }
  });

  it('keeps the index equal to indexing every job from scratch', () => {
    const rng = new Prng(3);
    const state = new FleetState();
    const list = Array.from({ length: 400 }, (_, i) => randomJob(rng, 'c', i + 1));
    state.apply(delta('c', 1, list, [], true));
    for (let seq = 2; seq < 40; seq++) {
      state.apply(delta('c', seq, Array.from({ length: 30 }, () => randomJob(rng, 'c', rng.int(1, 450))), [rng.int(1, 450)]));
    }
    const fresh = new JobIndex();
    for (const job of state.list('job')) fresh.add('c', job);
    for (const field of INDEXED_FIELDS) {
      for (const value of [...USERS, ...ACCOUNTS, ...STATES, 'debug', 'batch', 'gpu', 'c', 'n1', 'n7', 'n45']) {
        expect([...state.jobs.lookup(field, value)].sort(), `${field}=${value}`).toEqual([...fresh.lookup(field, value)].sort());
        expect(state.jobs.count(field, value), `count ${field}=${value}`).toBe(fresh.count(field, value));
      }
    }
    for (const user of USERS) {
      for (const account of ACCOUNTS) {
        const both = state.list('job').filter((j) => j.user === user && j.account === account).length;
        expect(state.jobs.pairCount('user', user, 'account', account)).toBe(both);
        expect(state.jobs.pairCount('account', account, 'user', user)).toBe(both);
      }
      for (const st of STATES) expect(state.jobs.pairCount('state', st, 'user', user)).toBe(state.list('job').filter((j) => j.user === user && j.state === st).length);
    }
    expect(state.jobs.pairCount('node', 'n1', 'user', 'alice')).toBeUndefined();
  });
});
