// Secondary indexes over the fleet's jobs, for the filters users actually type: state, user,
// account, partition, node (cluster needs none: each cluster's jobs are already apart, in
// FleetState.jobOrder). Per field and value: how many jobs have it, and their numeric ids by
// cluster. Numbers rather than "cluster/id" strings: no string per job to build, hash and keep,
// about 1 GB less work per million jobs loaded.
import type { Job } from '../../shared/model/index.js';

export type JobFilterField = 'cluster' | 'state' | 'user' | 'account' | 'partition' | 'node';

export const JOB_FILTER_FIELDS: readonly JobFilterField[] = ['cluster', 'state', 'user', 'account', 'partition', 'node'];

/** The fields this index keeps (cluster is FleetState.jobOrder's). */
export const INDEXED_FIELDS: readonly JobFilterField[] = ['state', 'user', 'account', 'partition', 'node'];

/**
 * Pairs of single-valued fields whose combinations are counted too: filters on both are often
 * correlated (a user works in one or two accounts), and a combination that does not exist must
 * answer at once instead of being searched for.
 */
type PairField = 'state' | 'user' | 'account';
const PAIRS: readonly [PairField, PairField][] = [
  ['state', 'user'],
  ['state', 'account'],
  ['user', 'account'],
];

interface ValueEntry {
  count: number;
  byCluster: Map<string, Set<number>>;
}

export class JobIndex {
  private readonly byField: Record<JobFilterField, Map<string, ValueEntry>> = {
    cluster: new Map(),
    state: new Map(),
    user: new Map(),
    account: new Map(),
    partition: new Map(),
    node: new Map(),
  };
  /** Jobs per combination of a PAIRS pair's values. */
  private readonly pairs = new Map<string, number>();

  static valuesOf(field: JobFilterField, job: Job): readonly string[] {
    switch (field) {
      case 'node':
        return job.nodes;
      case 'partition':
        // A pending job may name several partitions ("debug,batch").
        return job.partition.includes(',') ? job.partition.split(',') : [job.partition];
      default:
        return [job[field]];
    }
  }

  add(cluster: string, job: Job): void {
    this.change(cluster, job.id, undefined, job);
  }

  remove(cluster: string, job: Job): void {
    this.change(cluster, job.id, job, undefined);
  }

  /**
   * A job of `cluster` changed (previous and/or next): its id moves only in the fields whose
   * values differ. Same index as remove(previous) then add(next), with less work for the usual
   * update (priority, times, reason: no indexed field moves).
   */
  change(cluster: string, id: number, previous: Job | undefined, next: Job | undefined): void {
    for (const field of INDEXED_FIELDS) {
      if (previous && next && sameValues(field, previous, next)) continue;
      if (previous) for (const value of JobIndex.valuesOf(field, previous)) this.removeValue(field, value, cluster, id);
      if (next) for (const value of JobIndex.valuesOf(field, next)) this.addValue(field, value, cluster, id);
    }
    for (let i = 0; i < PAIRS.length; i++) {
      const [a, b] = PAIRS[i];
      // The usual update moves no pair (or only the state's): nothing to count.
      if (previous && next && previous[a] === next[a] && previous[b] === next[b]) continue;
      if (previous) this.countPair(pairKey(i, previous[a], previous[b]), -1);
      if (next) this.countPair(pairKey(i, next[a], next[b]), 1);
    }
  }

  /** Jobs having both values, when the two fields are a counted pair; undefined otherwise. */
  pairCount(a: JobFilterField, va: string, b: JobFilterField, vb: string): number | undefined {
    for (let i = 0; i < PAIRS.length; i++) {
      const [x, y] = PAIRS[i];
      if (x === a && y === b) return this.pairs.get(pairKey(i, va, vb)) ?? 0;
      if (x === b && y === a) return this.pairs.get(pairKey(i, vb, va)) ?? 0;
    }
    return undefined;
  }

  private countPair(key: string, by: number): void {
    const n = (this.pairs.get(key) ?? 0) + by;
    if (n === 0) this.pairs.delete(key);
    else this.pairs.set(key, n);
  }

  /** How many jobs have this value (0 when none). */
  count(field: JobFilterField, value: string): number {
    return this.byField[field].get(value)?.count ?? 0;
  }

  /** The ids of the jobs with this value, by cluster. */
  idsByCluster(field: JobFilterField, value: string): ReadonlyMap<string, ReadonlySet<number>> {
    return this.byField[field].get(value)?.byCluster ?? NO_IDS;
  }

  /** "cluster/id" keys of the jobs with this value (built on demand: for tests and tools). */
  lookup(field: JobFilterField, value: string): ReadonlySet<string> {
    const out = new Set<string>();
    for (const [cluster, ids] of this.idsByCluster(field, value)) for (const id of ids) out.add(`${cluster}/${id}`);
    return out;
  }

  private addValue(field: JobFilterField, value: string, cluster: string, id: number): void {
    const values = this.byField[field];
    let entry = values.get(value);
    if (!entry) values.set(value, (entry = { count: 0, byCluster: new Map() }));
    let ids = entry.byCluster.get(cluster);
    if (!ids) entry.byCluster.set(cluster, (ids = new Set()));
    const before = ids.size;
    ids.add(id);
    entry.count += ids.size - before;
  }

  private removeValue(field: JobFilterField, value: string, cluster: string, id: number): void {
    const values = this.byField[field];
    const entry = values.get(value);
    const ids = entry?.byCluster.get(cluster);
    if (!entry || !ids || !ids.delete(id)) return;
    entry.count--;
    if (ids.size === 0) entry.byCluster.delete(cluster);
    if (entry.count === 0) values.delete(value);
  }
}

const NO_IDS: ReadonlyMap<string, ReadonlySet<number>> = new Map();

function pairKey(pair: number, a: string, b: string): string {
  return `${pair}\u0000${a}\u0000${b}`;
}

/** Whether a field's index values are the same for two versions of a job. */
function sameValues(field: JobFilterField, a: Job, b: Job): boolean {
  if (field !== 'node') return a[field] === b[field];
  const x = a.nodes;
  const y = b.nodes;
  if (x === y) return true;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
