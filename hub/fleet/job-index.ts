// Secondary indexes over the fleet's jobs, for the filters users actually type: state, user,
// account, partition, node (cluster needs none: each cluster's jobs are already apart, in
// FleetState.jobOrder). Per cluster, field and value: the jobs' numeric ids. Numbers rather than
// "cluster/id" strings: no string per job to build, hash and keep, about 1 GB less work per
// million jobs loaded.
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

/** Job ids by value of one field, in one cluster. */
type ValueIds = Map<string, Set<number>>;

/**
 * One cluster's indexes. Apart per cluster so that an update costs one lookup of its value and
 * one of its id (the cluster's index is looked up once per delta by FleetState), and fleet-wide
 * answers (counts, ids by cluster) are sums over the clusters, made per query instead.
 */
export class ClusterJobIndex {
  readonly byField: Record<JobFilterField, ValueIds> = {
    cluster: new Map(),
    state: new Map(),
    user: new Map(),
    account: new Map(),
    partition: new Map(),
    node: new Map(),
  };
  /** Per PAIRS pair: jobs per combination of its two values (first value, then second). */
  readonly pairs: Map<string, Map<string, number>>[] = PAIRS.map(() => new Map());

  /**
   * A job changed (previous and/or next): its id moves only in the fields whose values differ.
   * Same index as remove(previous) then add(next), with less work for the usual update
   * (priority, times, reason: no indexed field moves). The decoder hands an unchanged field
   * the stored version's string or list itself, so most comparisons are one identity check.
   * Each field is read by name, not through a loop over names: this runs for every job update.
   */
  change(id: number, previous: Job | undefined, next: Job | undefined): void {
    const both = previous !== undefined && next !== undefined;
    const f = this.byField;
    if (!both || previous.state !== next.state) moveValue(f.state, previous?.state, next?.state, id);
    if (!both || previous.user !== next.user) moveValue(f.user, previous?.user, next?.user, id);
    if (!both || previous.account !== next.account) moveValue(f.account, previous?.account, next?.account, id);
    if (!both || previous.partition !== next.partition) {
      if (previous) for (const value of JobIndex.valuesOf('partition', previous)) removeValue(f.partition, value, id);
      if (next) for (const value of JobIndex.valuesOf('partition', next)) addValue(f.partition, value, id);
    }
    if (!both || !sameList(previous.nodes, next.nodes)) {
      if (previous) for (const value of previous.nodes) removeValue(f.node, value, id);
      if (next) for (const value of next.nodes) addValue(f.node, value, id);
    }
    // The usual update moves no pair (or only the state's): nothing to count.
    const sameState = both && previous.state === next.state;
    const sameUser = both && previous.user === next.user;
    const sameAccount = both && previous.account === next.account;
    if (!(sameState && sameUser)) movePair(this.pairs[0], previous?.state, previous?.user, next?.state, next?.user);
    if (!(sameState && sameAccount)) movePair(this.pairs[1], previous?.state, previous?.account, next?.state, next?.account);
    if (!(sameUser && sameAccount)) movePair(this.pairs[2], previous?.user, previous?.account, next?.user, next?.account);
  }
}

export class JobIndex {
  private readonly clusters = new Map<string, ClusterJobIndex>();

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

  /** The cluster's indexes (made on first use): apply a delta's job changes through one lookup. */
  of(cluster: string): ClusterJobIndex {
    let index = this.clusters.get(cluster);
    if (!index) this.clusters.set(cluster, (index = new ClusterJobIndex()));
    return index;
  }

  add(cluster: string, job: Job): void {
    this.of(cluster).change(job.id, undefined, job);
  }

  remove(cluster: string, job: Job): void {
    this.of(cluster).change(job.id, job, undefined);
  }

  /** A job of `cluster` changed: see ClusterJobIndex.change. */
  change(cluster: string, id: number, previous: Job | undefined, next: Job | undefined): void {
    this.of(cluster).change(id, previous, next);
  }

  /** Jobs having both values, when the two fields are a counted pair; undefined otherwise. */
  pairCount(a: JobFilterField, va: string, b: JobFilterField, vb: string): number | undefined {
    for (let i = 0; i < PAIRS.length; i++) {
      const [x, y] = PAIRS[i];
      let first: string;
      let second: string;
      if (x === a && y === b) [first, second] = [va, vb];
      else if (x === b && y === a) [first, second] = [vb, va];
      else continue;
      let n = 0;
      for (const index of this.clusters.values()) n += index.pairs[i].get(first)?.get(second) ?? 0;
      return n;
    }
    return undefined;
  }

  /** How many jobs have this value (0 when none). */
  count(field: JobFilterField, value: string): number {
    let n = 0;
    for (const index of this.clusters.values()) n += index.byField[field].get(value)?.size ?? 0;
    return n;
  }

  /** How many jobs of one cluster have this value (0 when none). */
  countIn(cluster: string, field: JobFilterField, value: string): number {
    return this.clusters.get(cluster)?.byField[field].get(value)?.size ?? 0;
  }

  /** The ids of the jobs with this value, by cluster (clusters without any left out). */
  idsByCluster(field: JobFilterField, value: string): ReadonlyMap<string, ReadonlySet<number>> {
    const out = new Map<string, ReadonlySet<number>>();
    for (const [cluster, index] of this.clusters) {
      const ids = index.byField[field].get(value);
      if (ids) out.set(cluster, ids);
    }
    return out;
  }

  /** "cluster/id" keys of the jobs with this value (built on demand: for tests and tools). */
  lookup(field: JobFilterField, value: string): ReadonlySet<string> {
    const out = new Set<string>();
    for (const [cluster, ids] of this.idsByCluster(field, value)) for (const id of ids) out.add(`${cluster}/${id}`);
    return out;
  }
}

/** A single-valued field: the id leaves `from` (when the job was there) and joins `to`. */
function moveValue(values: ValueIds, from: string | undefined, to: string | undefined, id: number): void {
  if (from !== undefined) removeValue(values, from, id);
  if (to !== undefined) addValue(values, to, id);
}

function addValue(values: ValueIds, value: string, id: number): void {
  let ids = values.get(value);
  if (!ids) values.set(value, (ids = new Set()));
  ids.add(id);
}

function removeValue(values: ValueIds, value: string, id: number): void {
  const ids = values.get(value);
  if (ids && ids.delete(id) && ids.size === 0) values.delete(value);
}

/** One job less for (fromA, fromB) when it was there, one more for (toA, toB). */
function movePair(counts: Map<string, Map<string, number>>, fromA: string | undefined, fromB: string | undefined, toA: string | undefined, toB: string | undefined): void {
  if (fromA !== undefined && fromB !== undefined) {
    const inner = counts.get(fromA);
    const n = (inner?.get(fromB) ?? 0) - 1;
    if (inner && n <= 0) {
      inner.delete(fromB);
      if (inner.size === 0) counts.delete(fromA);
    } else if (inner) inner.set(fromB, n);
  }
  if (toA !== undefined && toB !== undefined) {
    let inner = counts.get(toA);
    if (!inner) counts.set(toA, (inner = new Map()));
    inner.set(toB, (inner.get(toB) ?? 0) + 1);
  }
}

/** Whether two versions of a job have the same nodes (index values). */
function sameList(x: readonly string[], y: readonly string[]): boolean {
  if (x === y) return true;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
