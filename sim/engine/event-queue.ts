// Entries of the engine's heaps: timed events (job ends, purges, node recoveries, begin times)
// ordered by time then job id, and the pending queue ordered by priority.
export interface TimedEntry {
  t: number;
  id: number;
  seq: number;
}
export interface QueueEntry {
  id: number;
  seq: number;
  priority: number;
}

/** Earlier time first; ties by lower id so equal-time events pop in a stable order. */
export function byTime(a: TimedEntry, b: TimedEntry): boolean {
  return a.t < b.t || (a.t === b.t && a.id < b.id);
}
