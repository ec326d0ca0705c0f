// Merging the regions' answers of a global query, and the global cursor.
//
// Order: (region, cluster, id) for jobs, (region, cluster, name) for nodes; jobs asked with a
// sort (or descending) merge in that sort's order across regions, the region breaking ties
// (mergeOrder). Paging: each page
// asks every region for up to `limit` items after that region's own cursor, merges them in that
// order and returns the first `limit`. The global cursor is base64url JSON
//   { "v": 1, "r": { "<region>": "<that region's cursor>" | "" | null } }
// per region: a cursor string to resume after (a region cursor, the same encoding the region's
// own API hands out), "" to start at its beginning, null when it is done. A region that failed
// on a page is marked done in the next cursor (it is listed in `partial`), so paging always ends.
import { BadRequestError } from '../../shared/errors/index.js';
import type { Job } from '../../shared/model/index.js';
import { compareSortKeys, encodeCursor, sortedJobCursor, sortKeyOf, type JobSortField, type SortOrder } from '../fleet/index.js';

export type RegionCursors = Record<string, string | null>;

export interface RegionPage<T> {
  region: string;
  items: T[];
  next_cursor?: string | null;
}

/** How a sorted global listing orders the merged items, and how it resumes a region after one of them. */
export interface MergeOrder<T> {
  compare(a: T & { region: string }, b: T & { region: string }): number;
  /** The region's own cursor that resumes right after `item`. */
  cursorAfter(item: T): string;
}

const byRegion = (a: { region: string }, b: { region: string }): number => (a.region < b.region ? -1 : a.region > b.region ? 1 : 0);

/** Jobs in the order a region's sorted listing gives them (value, cluster, id), whichever region holds them. */
export function jobMergeOrder(sort: JobSortField, order: SortOrder): MergeOrder<object> {
  const key = (j: object) => sortKeyOf(j as Job, sort);
  const dir = order === 'asc' ? 1 : -1;
  return {
    compare: (a, b) => dir * compareSortKeys(key(a), key(b)) || byRegion(a, b),
    cursorAfter: (j) => sortedJobCursor(sort, order, key(j)),
  };
}

export interface GlobalPage<T> {
  items: (T & { region: string })[];
  next_cursor: string | null;
}

export function encodeGlobalCursor(cursors: RegionCursors): string {
  return Buffer.from(JSON.stringify({ v: 1, r: cursors })).toString('base64url');
}

export function decodeGlobalCursor(cursor: string): RegionCursors {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v?: unknown; r?: unknown };
    if (parsed.v === 1 && parsed.r && typeof parsed.r === 'object' && !Array.isArray(parsed.r)) {
      const r = parsed.r as Record<string, unknown>;
      if (Object.values(r).every((c) => c === null || typeof c === 'string')) return r as RegionCursors;
    }
  } catch {
    // fall through
  }
  throw new BadRequestError('invalid global cursor: pass back the next_cursor of a previous scope=global page unchanged');
}

/** What a region should be asked for on this page: undefined = skip it (done), '' = from its start. */
export function regionCursor(cursors: RegionCursors | undefined, region: string): string | undefined {
  if (!cursors) return '';
  const c = cursors[region];
  return c === null || c === undefined ? undefined : c;
}

export interface ItemKey {
  cluster: string;
  key: string | number;
}

function compareKey(a: ItemKey, b: ItemKey): number {
  if (a.cluster !== b.cluster) return a.cluster < b.cluster ? -1 : 1;
  if (typeof a.key === 'number' && typeof b.key === 'number') return a.key - b.key;
  const x = String(a.key);
  const y = String(b.key);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Tag every item with its region and sort by (region, cluster, key): the unpaged lists. */
export function mergeAll<T extends object>(pages: RegionPage<T>[], keyOf: (item: T) => ItemKey): (T & { region: string })[] {
  const out = pages.flatMap((p) => p.items.map((item) => ({ ...item, region: p.region })));
  return out.sort((a, b) => (a.region !== b.region ? (a.region < b.region ? -1 : 1) : compareKey(keyOf(a), keyOf(b))));
}

/**
 * One global page: `pages` are the regions that answered this page, `failed` the regions that
 * were asked and did not answer, `skipped` regions already done. Returns the first `limit`
 * merged items and the cursor of the next page (null when every region is done).
 */
export function mergePage<T extends object>(pages: RegionPage<T>[], failed: string[], limit: number, keyOf: (item: T) => ItemKey, previous?: RegionCursors, order?: MergeOrder<T>): GlobalPage<T> {
  const merged = order ? pages.flatMap((p) => p.items.map((item) => ({ ...item, region: p.region }))).sort(order.compare) : mergeAll(pages, keyOf);
  const items = merged.slice(0, limit);
  const next: RegionCursors = {};
  for (const [region, c] of Object.entries(previous ?? {})) if (c === null) next[region] = null;
  for (const region of failed) next[region] = null;
  for (const page of pages) {
    const taken = items.filter((i) => i.region === page.region);
    if (taken.length < page.items.length) {
      // Cut inside this region's page: resume after the last item this page returned.
      const lastTaken = taken.length ? taken[taken.length - 1] : undefined;
      const after = (item: T): string => {
        if (order) return order.cursorAfter(item);
        const last = keyOf(item);
        return encodeCursor([last.cluster, last.key]);
      };
      next[page.region] = lastTaken ? after(lastTaken) : (regionCursor(previous, page.region) ?? '');
    } else {
      next[page.region] = page.next_cursor ? page.next_cursor : null;
    }
  }
  const more = Object.values(next).some((c) => c !== null);
  return { items, next_cursor: more ? encodeGlobalCursor(next) : null };
}
