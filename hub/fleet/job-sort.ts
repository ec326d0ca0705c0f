// The jobs query with a sort order and a total count (the dashboard's table). Sorting by a field
// other than (cluster, id) reads the fleet's sorted view of that field (job-sort-index.ts, kept
// up to date by FleetState.apply), finds the cursor by binary search and walks from there; the
// count is one pass of the filter over the view (or the view's length when nothing filters).
// scripts/bench (suite dashboard-query) measures it at 100k jobs.
import { BadRequestError } from '../../shared/errors/index.js';
import type { Job } from '../../shared/model/index.js';
import type { FleetState } from './fleet-state.js';
import { compareSortKeys, JOB_SORT_FIELDS, sortKeyOf, type JobSortField, type SortKey } from './job-sort-index.js';
import { checkLimit, encodeCursor, decodeCursor, indexedJobCount, jobMatcher, queryJobs, type JobFilter, type Page } from './queries.js';

export { compareSortKeys, JOB_SORT_FIELDS, sortKeyOf, type JobSortField, type SortKey };
export type SortOrder = 'asc' | 'desc';

/** Totals are exact up to this many matches; past it the answer says "at least". */
export const TOTAL_CAP = 100_000;

export interface JobListing extends Page<Job> {
  /** Matches of the filter, at most TOTAL_CAP; null when no count was asked for. */
  total: number | null;
  /** The total reached TOTAL_CAP: there are at least that many. */
  total_capped: boolean;
}

export interface JobListOptions {
  sort?: JobSortField;
  order?: SortOrder;
  limit?: number;
  cursor?: string;
  /** Count the matches too. */
  count?: boolean;
}

export function listJobs(state: FleetState, filter: JobFilter, opts: JobListOptions, visible?: (job: Job) => boolean): JobListing {
  const limit = checkLimit(opts.limit);
  const sort = opts.sort ?? 'id';
  const order = opts.order ?? 'asc';
  // The plain (cluster, id) order without a count keeps the index plans of queryJobs.
  if (sort === 'id' && order === 'asc' && !opts.count && !opts.cursor?.startsWith('s.')) {
    return { ...queryJobs(state, filter, limit, opts.cursor, visible), total: null, total_capped: false };
  }
  const active = Object.values(filter).some((v) => v !== undefined && v !== '');
  const matches = jobMatcher(filter);
  const test = visible ? (j: Job) => matches(j) && visible(j) : active ? matches : undefined;
  const view = state.jobSort.sorted(sort, () => state.list('job'));
  const n = view.length;
  const asc = order === 'asc';
  // Position of the first entry after the cursor, in the walking direction.
  let start = asc ? 0 : n - 1;
  if (opts.cursor) {
    const after = parseCursor(opts.cursor, sort, order);
    let lo = 0;
    let hi = n;
    // asc: first index whose key > after; desc: first index whose key >= after, minus one.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareSortKeys(view[mid].key, after);
      if (asc ? c <= 0 : c < 0) lo = mid + 1;
      else hi = mid;
    }
    start = asc ? lo : lo - 1;
  }
  const step = asc ? 1 : -1;
  const items: Job[] = [];
  let lastKey: SortKey | undefined;
  let more = false;
  for (let i = start; i >= 0 && i < n; i += step) {
    const entry = view[i];
    if (test && !test(entry.job)) continue;
    if (items.length === limit) {
      more = true;
      break;
    }
    items.push(entry.job);
    lastKey = entry.key;
  }
  let total: number | null = null;
  if (opts.count) {
    // A caller's row filter (RBAC) is no index: its counts read the jobs.
    const indexed = visible ? undefined : indexedJobCount(state, filter);
    if (indexed !== undefined) total = indexed;
    else if (!test) total = n;
    else {
      total = 0;
      for (let i = 0; i < n && total < TOTAL_CAP; i++) if (test(view[i].job)) total++;
    }
  }
  return {
    items,
    next_cursor: more && lastKey ? sortedJobCursor(sort, order, lastKey) : undefined,
    total: total === null ? null : Math.min(total, TOTAL_CAP),
    total_capped: total !== null && total >= TOTAL_CAP,
  };
}

/** The cursor of a sorted listing that resumes after the job with this key (a global query cuts a region's page with it). */
export function sortedJobCursor(sort: JobSortField, order: SortOrder, after: SortKey): string {
  return `s.${encodeCursor([`${sort}:${order}`, JSON.stringify(after)])}`;
}

function parseCursor(cursor: string, sort: JobSortField, order: SortOrder): SortKey {
  if (!cursor.startsWith('s.')) throw new BadRequestError('invalid cursor: this cursor belongs to an unsorted listing; pass back the next_cursor of the same query unchanged');
  const [how, key] = decodeCursor(cursor.slice(2)) as [string, string];
  if (how !== `${sort}:${order}`) throw new BadRequestError(`invalid cursor: it was made for sort ${how}, not ${sort}:${order}`);
  try {
    const parsed = JSON.parse(key) as unknown;
    if (Array.isArray(parsed) && parsed.length === 3 && typeof parsed[1] === 'string' && typeof parsed[2] === 'number') return parsed as SortKey;
  } catch {
    // fall through
  }
  throw new BadRequestError('invalid cursor: pass back the next_cursor of a previous page unchanged');
}
