import { describe, expect, it } from 'vitest';
import { jobDelta } from '../../shared/delta/testdata/fleet-fixtures.js';
import type { Job } from '../../shared/model/index.js';
import { Prng } from '../../sim/engine/index.js';
import { FleetState } from './fleet-state.js';
import { JOB_SORT_FIELDS, listJobs, type JobSortField, type SortOrder } from './job-sort.js';

const USERS = ['alice', 'bob', 'carol', 'dave'];
const STATES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED'];

function job(rng: Prng, cluster: string, id: number): Job {
  const started = rng.chance(0.6);
  const at = (s: number) => new Date(Date.UTC(2026, 11, 1) + s * 1000).toISOString();
  return {
    cluster, id, name: `j${id}`, user: rng.pick(USERS), account: rng.pick(['research', 'physics']), partition: rng.pick(['debug', 'batch']), qos: 'normal',
    state: rng.pick(STATES), state_flags: [], state_reason: 'None', nodes: [], node_list: '', cpus: 1, node_count: 1, working_dir: '', comment: '', tres: '',
    submit_time: at(rng.int(0, 500)), ...(started ? { start_time: at(rng.int(500, 900)) } : {}),
  };
}

function fleet(): FleetState {
  const rng = new Prng(7);
  const state = new FleetState();
  for (const c of ['west', 'east']) state.apply(jobDelta(Array.from({ length: 700 }, (_, i) => job(rng, c, i + 1)), { cluster: c, snapshot: true }));
  return state;
}

/** Every page of the listing, following next_cursor. */
function allPages(state: FleetState, sort: JobSortField, order: SortOrder, filter = {}, limit = 97): { keys: string[]; totals: (number | null)[] } {
  const keys: string[] = [];
  const totals: (number | null)[] = [];
  let cursor: string | undefined;
  do {
    const page = listJobs(state, filter, { sort, order, limit, cursor, count: true });
    keys.push(...page.items.map((j) => `${j.cluster}/${j.id}`));
    totals.push(page.total);
    cursor = page.next_cursor;
  } while (cursor);
  return { keys, totals };
}


/** The listing as a plain sort of every match would give it. */
function bruteForce(state: FleetState, sort: JobSortField, order: SortOrder, keep: (j: Job) => boolean): string[] {
  return state
    .list('job')
    .filter(keep)
    .map((j) => ({ k: `${j.cluster}/${j.id}`, v: sort === 'id' ? j.id : ((j[sort] as string | undefined) ?? null), c: j.cluster, id: j.id }))
    .sort((a, b) => {
      const s = order === 'asc' ? 1 : -1;
      if (a.v !== b.v) return a.v === null ? s : b.v === null ? -s : a.v < b.v ? -s : s;
      return s * (a.c !== b.c ? (a.c < b.c ? -1 : 1) : a.id - b.id);
    })
    .map((x) => x.k);
}

describe('listJobs: sorted, counted, cursor-paged', () => {
  const state = fleet();

  it.each(JOB_SORT_FIELDS.flatMap((f) => (['asc', 'desc'] as const).map((o) => [f, o] as const)))('by %s %s, pages cover every match once, in order, nulls last', (sort, order) => {
    const filter = { state: 'running' };
    const { keys, totals } = allPages(state, sort, order, filter);
    const expected = bruteForce(state, sort, order, (j) => j.state === 'RUNNING');
    expect(keys).toEqual(expected);
    expect(new Set(totals)).toEqual(new Set([expected.length]));
  });

  it('counts under the caller\'s row filter, and refuses a cursor of another order', () => {
    const page = listJobs(state, {}, { sort: 'user', count: true, limit: 10 }, (j) => j.account === 'physics');
    expect(page.total).toBe(state.list('job').filter((j) => j.account === 'physics').length);
    expect(page.items.every((j) => j.account === 'physics')).toBe(true);
    expect(() => listJobs(state, {}, { sort: 'state', cursor: page.next_cursor })).toThrow(/made for sort user:asc/);
    expect(() => listJobs(state, {}, { sort: 'state', cursor: 's.garbage' })).toThrow(/invalid cursor/);
  });

  it('without sort or count it is the (cluster, id) listing of queryJobs, total unknown', () => {
    const page = listJobs(state, { user: 'alice' }, { limit: 5 });
    expect(page.total).toBeNull();
    expect(page.items.map((j) => j.cluster)).toEqual(['east', 'east', 'east', 'east', 'east']);
  });

  it('follows changes applied between queries: moved, removed, new, changed twice, and a snapshot that drops jobs', () => {
    const live = fleet();
    const rng = new Prng(11);
    const check = (label: string): void => {
      for (const sort of ['submit_time', 'user', 'start_time'] as const) {
        for (const order of ['asc', 'desc'] as const) {
          expect(allPages(live, sort, order, {}, 113).keys, `${label}: ${sort} ${order}`).toEqual(bruteForce(live, sort, order, () => true));
        }
      }
    };
    check('built');
    let seq = 1;
    const west = (jobs: Job[], removedJobs: number[] = []) => live.apply(jobDelta(jobs, { cluster: 'west', seq: ++seq, removedJobs }));
    // Moved: new sort values for existing jobs; one job changed twice before the next query.
    west([job(rng, 'west', 5), job(rng, 'west', 6), { ...job(rng, 'west', 7), user: 'zed', start_time: undefined }]);
    west([{ ...job(rng, 'west', 5), user: 'aaron' }], [8, 9]);
    west([job(rng, 'west', 9000)]);
    check('after updates');
    // Added then removed before any query leaves no trace; a snapshot replaces east wholesale.
    west([job(rng, 'west', 9001)]);
    west([], [9001]);
    live.apply(jobDelta(Array.from({ length: 50 }, (_, i) => job(rng, 'east', 2000 + i)), { cluster: 'east', snapshot: true, epoch: 2, seq: 1 }));
    check('after a snapshot');
    expect(listJobs(live, {}, { sort: 'user', count: true, limit: 1 }).total).toBe(live.list('job').length);
  });

  it('totals the indexes answer equal a count of the matching jobs, after changes too (cluster, one field, a pair, several)', () => {
    const live = fleet();
    const rng = new Prng(5);
    const filters: Record<string, string>[] = [{}, { cluster: 'west' }, { user: 'bob' }, { state: 'running' }, { cluster: 'east', user: 'carol' }, { user: 'dave', account: 'physics' }, { state: 'pending', user: 'alice' }, { partition: 'debug' }, { cluster: 'west', user: 'bob', state: 'FAILED' }, { user: 'nobody' }];
    const count = (f: Record<string, string>): number =>
      live.list('job').filter((j) => Object.entries(f).every(([k, v]) => (k === 'state' ? j.state === v.toUpperCase() : j[k as 'user'] === v))).length;
    const check = (label: string): void => {
      for (const f of filters) expect(listJobs(live, f, { sort: 'submit_time', count: true, limit: 1 }).total, `${label}: ${JSON.stringify(f)}`).toBe(count(f));
    };
    check('built');
    live.apply(jobDelta([{ ...job(rng, 'west', 3), user: 'bob', state: 'FAILED' }, job(rng, 'west', 9100)], { cluster: 'west', seq: 2, removedJobs: [4, 5] }));
    check('after updates');
  });
});
