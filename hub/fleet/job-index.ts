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
  /** Per PAIRS pair: jobs per combination of its two values (first value, then second). */
  private readonly pairs: Map<string, Map<string, number>>[] = PAIRS.map(() => new Map());

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
   * update (priority, times, reason: no indexed field moves). Each field is read by name, not
   * through a loop over field names: this runs for every job update the hub ingests.
   */
  change(cluster: string, id: number, previous: Job | undefined, next: Job | undefined): void {
    const both = previous !== undefined && next !== undefined;
    const f = this.byField;
    if (!both || previous.state !== next.state) this.moveValue(f.state, previous?.state, next?.state, cluster, id);
    if (!both || previous.user !== next.user) this.moveValue(f.user, previous?.user, next?.user, cluster, id);
    if (!both || previous.account !== next.account) this.moveValue(f.account, previous?.account, next?.account, cluster, id);
    if (!both || previous.partition !== next.partition) {
      if (previous) for (const value of JobIndex.valuesOf('partition', previous)) this.removeValue(f.partition, value, cluster, id);
      if (next) for (const value of JobIndex.valuesOf('partition', next)) this.addValue(f.partition, value, cluster, id);
    }
    if (!both || !sameList(previous.nodes, next.nodes)) {
      if (previous) for (const value of previous.nodes) this.removeValue(f.node, value, cluster, id);
      if (next) for (const value of next.nodes) this.addValue(f.node, value, cluster, id);
    }
    // The usual update moves no pair (or only the state's): nothing to count.
    const sameState = both && previous.state === next.state;
    const sameUser = both && previous.user === next.user;
    const sameAccount = both && previous.account === next.account;
    if (!(sameState && sameUser)) this.movePair(0, previous?.state, previous?.user, next?.state, next?.user);
    if (!(sameState && sameAccount)) this.movePair(1, previous?.state, previous?.account, next?.state, next?.account);
    if (!(sameUser && sameAccount)) this.movePair(2, previous?.user, previous?.account, next?.user, next?.account);
  }

  /** Jobs having both values, when the two fields are a counted pair; undefined otherwise. */
  pairCount(a: JobFilterField, va: string, b: JobFilterField, vb: string): number | undefined {
    for (let i = 0; i < PAIRS.length; i++) {
      const [x, y] = PAIRS[i];
      if (x === a && y === b) return this.pairs[i].get(va)?.get(vb) ?? 0;
      if (x === b && y === a) return this.pairs[i].get(vb)?.get(va) ?? 0;
    }
    return undefined;
  }

  /** A single-valued field: the id leaves `from` (when the job was there) and joins `to`. */
  private moveValue(values: Map<string, ValueEntry>, from: string | undefined, to: string | undefined, cluster: string, id: number): void {
    if (from !== undefined) this.removeValue(values, from, cluster, id);
    if (to !== undefined) this.addValue(values, to, cluster, id);
  }

  /** Pair `i`: one job less for (fromA, fromB) when it was there, one more for (toA, toB). */
  private movePair(i: number, fromA: string | undefined, fromB: string | undefined, toA: string | undefined, toB: string | undefined): void {
    const counts = this.pairs[i];
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

  private addValue(values: Map<string, ValueEntry>, value: string, cluster: string, id: number): void {
    let entry = values.get(value);
    if (!entry) values.set(value, (entry = { count: 0, byCluster: new Map() }));
    let ids = entry.byCluster.get(cluster);
    if (!ids) entry.byCluster.set(cluster, (ids = new Set()));
    const before = ids.size;
    ids.add(id);
    entry.count += ids.size - before;
  }

  private removeValue(values: Map<string, ValueEntry>, value: string, cluster: string, id: number): void {
    const entry = values.get(value);
    const ids = entry?.byCluster.get(cluster);
    if (!entry || !ids || !ids.delete(id)) return;
    entry.count--;
    if (ids.size === 0) entry.byCluster.delete(cluster);
    if (entry.count === 0) values.delete(value);
  }
}

const NO_IDS: ReadonlyMap<string, ReadonlySet<number>> = new Map();

/** Whether two versions of a job have the same nodes (index values). */
function sameList(x: readonly string[], y: readonly string[]): boolean {
  if (x === y) return true;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
