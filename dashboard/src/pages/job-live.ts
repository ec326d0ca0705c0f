// The jobs table's live updates, applied in batches: at 1,000 job changes a second, one state
// update (and one render) per change kept the page's main thread busy (long tasks over 50 ms,
// and a navigation that could not start), so changes are gathered and applied a few times a
// second, each batch in one pass over the loaded rows.
import type { Job } from '../api/client';
import type { WatchMessage } from '../api/watch';

/** How often gathered changes reach the table: live to a reader, a few renders a second. */
export const BATCH_MS = 200;
/** Changed jobs the table does not show are counted up to here ("1,000+ more changed"). */
export const FRESH_CAP = 1_000;

export interface LiveRows {
  rows: Job[];
  total: number | null;
  /** Jobs changed or added since the listing was loaded that it does not show (at most FRESH_CAP). */
  fresh: Set<string>;
}

export const jobKey = (j: { cluster: string; id: number }): string => `${j.cluster}/${j.id}`;

/**
 * Loaded rows change in place; a job that leaves (or no longer has the filtered state) goes; a
 * job the listing has not loaded is only counted (inserting it would move rows under the reader).
 * The last message per job wins. Answers `list` itself when nothing it shows changed.
 */
export function applyJobChanges<L extends LiveRows>(list: L, messages: readonly WatchMessage[], state: string | null): L {
  const last = new Map<string, WatchMessage>();
  for (const m of messages) if (m.kind === 'job') last.set(`${m.cluster}/${m.id}`, m);
  if (last.size === 0) return list;
  let rows: Job[] | undefined;
  let removed = 0;
  const out: Job[] = [];
  for (const job of list.rows) {
    const key = jobKey(job);
    const m = last.get(key);
    if (!m) {
      out.push(job);
      continue;
    }
    last.delete(key);
    rows = out;
    const next = m.object as Job | null;
    if (m.type === 'remove' || !next || (state && next.state !== state)) removed++;
    else out.push(next);
  }
  let fresh = list.fresh;
  for (const [key, m] of last) {
    if (m.type !== 'upsert' || fresh.has(key) || fresh.size >= FRESH_CAP) continue;
    if (fresh === list.fresh) fresh = new Set(fresh);
    fresh.add(key);
  }
  if (!rows && fresh === list.fresh) return list;
  return { ...list, rows: rows ?? list.rows, total: list.total === null ? null : list.total - removed, fresh };
}
