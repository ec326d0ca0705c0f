// Every job of the fleet sorted by one field, kept per sort field so a sorted, counted jobs query
// does not sort 100k jobs on each request. A view is built on its first query; after that
// apply() only notes which jobs changed (O(1) per change), and the next query folds the noted
// changes in with one merge pass (O(n + k log k)) instead of a full sort. Fields nobody sorts by
// cost nothing; a view whose pending changes outgrow it is dropped and rebuilt when next asked.
import type { Job } from '../../shared/model/index.js';

export const JOB_SORT_FIELDS = ['id', 'submit_time', 'start_time', 'end_time', 'user', 'account', 'partition', 'state'] as const;
export type JobSortField = (typeof JOB_SORT_FIELDS)[number];

/** [value (null: none), cluster, id]: unique per job. */
export type SortKey = [value: string | number | null, cluster: string, id: number];

export interface SortEntry {
  key: SortKey;
  job: Job;
}

export function sortKeyOf(job: Job, field: JobSortField): SortKey {
  const value = field === 'id' ? job.id : (job[field] ?? null);
  return [value === '' ? null : value, job.cluster, job.id];
}

/** Ascending: values first (nulls last), then cluster, then id. */
export function compareSortKeys(a: SortKey, b: SortKey): number {
  if (a[0] !== b[0]) {
    if (a[0] === null) return 1;
    if (b[0] === null) return -1;
    return a[0] < b[0] ? -1 : 1;
  }
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[2] - b[2];
}

const byKey = (a: SortEntry, b: SortEntry): number => compareSortKeys(a.key, b.key);

interface Pending {
  /** The job's key in the view as last folded in (undefined: it was not in the view). */
  was?: SortKey;
  /** The job now (undefined: removed). */
  now?: Job;
}

class SortedView {
  entries: SortEntry[];
  private readonly pending = new Map<string, Pending>();

  constructor(
    readonly field: JobSortField,
    jobs: Iterable<Job>,
  ) {
    const entries: SortEntry[] = [];
    for (const job of jobs) entries.push({ key: sortKeyOf(job, field), job });
    this.entries = entries.sort(byKey);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  note(cluster: string, id: number, previous: Job | undefined, next: Job | undefined): void {
    const name = `${cluster}\u0000${id}`;
    const seen = this.pending.get(name);
    if (seen) seen.now = next;
    else this.pending.set(name, { was: previous ? sortKeyOf(previous, this.field) : undefined, now: next });
  }

  /** The view with every noted change folded in. */
  current(): SortEntry[] {
    if (this.pending.size === 0) return this.entries;
    const gone: SortKey[] = [];
    const added: SortEntry[] = [];
    for (const p of this.pending.values()) {
      if (p.was) gone.push(p.was);
      if (p.now) added.push({ key: sortKeyOf(p.now, this.field), job: p.now });
    }
    this.pending.clear();
    gone.sort(compareSortKeys);
    added.sort(byKey);
    const old = this.entries;
    const out: SortEntry[] = new Array<SortEntry>(old.length - gone.length + added.length);
    let g = 0;
    let a = 0;
    let o = 0;
    for (const entry of old) {
      // Both lists ascend, so a removed key is met in order (keys are unique per job).
      while (g < gone.length && compareSortKeys(gone[g], entry.key) < 0) g++;
      if (g < gone.length && compareSortKeys(gone[g], entry.key) === 0) {
        g++;
        continue;
      }
      while (a < added.length && byKey(added[a], entry) < 0) out[o++] = added[a++];
      out[o++] = entry;
    }
    while (a < added.length) out[o++] = added[a++];
    out.length = o;
    this.entries = out;
    return out;
  }
}

export class JobSortIndex {
  private readonly views = new Map<JobSortField, SortedView>();

  /** A job changed in the fleet state (FleetState.apply calls this for each job change). */
  note(cluster: string, id: number, previous: Job | undefined, next: Job | undefined): void {
    for (const [field, view] of this.views) {
      view.note(cluster, id, previous, next);
      // Mostly changed jobs: a fresh sort when next asked is as cheap, and holds no second copy.
      if (view.pendingCount > 1024 && view.pendingCount > view.entries.length) this.views.delete(field);
    }
  }

  /** Every job sorted ascending by `field`; `all` lists the fleet's jobs when the view must be built. */
  sorted(field: JobSortField, all: () => Iterable<Job>): readonly SortEntry[] {
    let view = this.views.get(field);
    if (!view) this.views.set(field, (view = new SortedView(field, all())));
    return view.current();
  }
}
