// Secondary indexes over the fleet's jobs, for the filters users actually type:
// cluster, state, user, account, partition, node. Keys are "cluster/id".
import type { Job } from '../../shared/model/index.js';

export type JobFilterField = 'cluster' | 'state' | 'user' | 'account' | 'partition' | 'node';

export const JOB_FILTER_FIELDS: readonly JobFilterField[] = ['cluster', 'state', 'user', 'account', 'partition', 'node'];

export class JobIndex {
  private readonly byField: Record<JobFilterField, Map<string, Set<string>>> = {
    cluster: new Map(),
    state: new Map(),
    user: new Map(),
    account: new Map(),
    partition: new Map(),
    node: new Map(),
  };

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

  add(key: string, job: Job): void {
    for (const field of JOB_FILTER_FIELDS) {
      for (const value of JobIndex.valuesOf(field, job)) {
        let set = this.byField[field].get(value);
        if (!set) this.byField[field].set(value, (set = new Set()));
        set.add(key);
      }
    }
  }

  remove(key: string, job: Job): void {
    for (const field of JOB_FILTER_FIELDS) {
      for (const value of JobIndex.valuesOf(field, job)) {
        const set = this.byField[field].get(value);
        if (!set) continue;
        set.delete(key);
        if (set.size === 0) this.byField[field].delete(value);
      }
    }
  }

  /**
   * A job changed (previous and/or next): moves its key only in the fields whose values
   * differ. Same index as remove(previous) then add(next), with less work for the usual update
   * (priority, times, reason: no indexed field moves). `key` is made only when needed.
   */
  change(key: () => string, previous: Job | undefined, next: Job | undefined): void {
    let k: string | undefined;
    for (const field of JOB_FILTER_FIELDS) {
      if (previous && next && sameValues(field, previous, next)) continue;
      k ??= key();
      if (previous) for (const value of JobIndex.valuesOf(field, previous)) this.removeValue(field, value, k);
      if (next) for (const value of JobIndex.valuesOf(field, next)) this.addValue(field, value, k);
    }
  }

  /** How many jobs have this value (0 when none). */
  count(field: JobFilterField, value: string): number {
    return this.byField[field].get(value)?.size ?? 0;
  }

  private addValue(field: JobFilterField, value: string, key: string): void {
    let set = this.byField[field].get(value);
    if (!set) this.byField[field].set(value, (set = new Set()));
    set.add(key);
  }

  private removeValue(field: JobFilterField, value: string, key: string): void {
    const set = this.byField[field].get(value);
    if (!set) return;
    set.delete(key);
    if (set.size === 0) this.byField[field].delete(value);
  }

  lookup(field: JobFilterField, value: string): ReadonlySet<string> {
    return this.byField[field].get(value) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

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
