// Every job of the fleet sorted by one field, kept per sort field so a sorted, counted jobs query
// does not sort 100k jobs on each request. A view is built on its first query; after that
// apply() only notes which jobs changed (O(1) per change), and the next query folds the noted
// changes in (k log n comparisons and one copy of the view) instead of a full sort. Fields nobody sorts by
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
    // Where each removed entry sits and where each added one goes, by binary search (k log n
    // comparisons); the view between those places is copied as it is, without comparing. A merge
    // comparing every entry took 26 ms (p50) at 100k jobs under 1,000 updates/s on a loaded
    // 2-core machine, this 1 ms: it runs on most sorted queries while jobs change.
    const old = this.entries;
    const cuts = gone.map((key) => indexOfKey(old, key));
    const places = added.map((entry) => firstAfter(old, entry.key));
    const out: SortEntry[] = new Array<SortEntry>(old.length - gone.length + added.length);
    let o = 0;
    let from = 0;
    const copyTo = (end: number): void => {
      for (let i = from; i < end; i++) out[o++] = old[i];
      from = Math.max(from, end);
    };
    let g = 0;
    let a = 0;
    while (g < cuts.length || a < places.length) {
      const cut = g < cuts.length ? cuts[g] : Infinity;
      const place = a < places.length ? places[a] : Infinity;
      if (place <= cut) {
        copyTo(place);
        out[o++] = added[a++];
      } else {
        g++;
        // A key noted as gone is in the view (keys are unique per job); if not, nothing to drop.
        if (cut < 0) continue;
        copyTo(cut);
        from = cut + 1;
      }
    }
    copyTo(old.length);
    out.length = o;
    this.entries = out;
    return out;
  }
}

/** The index of `key` in the ascending view, or -1. */
function indexOfKey(view: readonly SortEntry[], key: SortKey): number {
  const i = firstAfter(view, key) - 1;
  return i >= 0 && compareSortKeys(view[i].key, key) === 0 ? i : -1;
}

/** The first index whose key is greater than `key` (view.length when none is). */
function firstAfter(view: readonly SortEntry[], key: SortKey): number {
  let lo = 0;
  let hi = view.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareSortKeys(view[mid].key, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
