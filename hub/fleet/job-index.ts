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

  private static valuesOf(field: JobFilterField, job: Job): readonly string[] {
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

  lookup(field: JobFilterField, value: string): ReadonlySet<string> {
    return this.byField[field].get(value) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
