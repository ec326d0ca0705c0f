// How far V8 lets the hub's heap grow past what is live before a full collection
// (limits.heap_growth, V8's --heap-growing-percent). V8's own heuristic lets the old generation
// grow to up to several times what survived the last full collection when the hub allocates
// fast, and RSS follows. Measured with 300 paused SSE watchers fed ~45 rounds of 100 changes
// (the abuse test): the hub grew by 67-84 MiB with V8's default, most of it garbage promoted to
// the old generation awaiting a full collection (a smaller young generation changed nothing).
// Growth at 100 % (Go's GOGC default): 55-57 MiB; 50 %: 51; 30 %: 36-39. The cost is more
// frequent (incremental, concurrent) full collections: ingest CPU per update, against V8's
// default, measured alternately on a loaded machine, 11 % more at 100 %, 27 % at 50 %, 38 % at
// 30 %. The default is 0 (V8's own): at 100 % a hub under steady light load kept up to twice its
// live heap between full collections, and the 5-minute soak read that as growth (heap floor +19-24 %;
// +2 % at 0). A hub facing many slow watchers sets it.
import { setFlagsFromString } from 'node:v8';

/** Sets the heap's growth for this process (0: V8's own heuristic). Process-wide: the hub process owns it. */
export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}

/**
 * V8's --optimize-for-size (limits.heap_optimize_for_size), set in-process so it holds for every
 * way the hub starts (the systemd unit, the single binary, npm): NODE_OPTIONS refuses the flag.
 * At run time V8 then sizes the old generation at most 1.3 times what survived a full
 * collection and compacts pages that are a fifth free. Session 12's soaks: the leader's heap
 * total (in use or free) 84-92 MiB for 63-67 in use without it, 66-73 with it at the same
 * minutes; its anonymous memory still rose after the warm-up, so it is not the whole answer to
 * the leader's RSS growth, and its CPU cost is unmeasured: off by default.
 */
export function applyHeapFootprint(optimizeForSize: boolean): void {
  if (optimizeForSize) setFlagsFromString('--optimize-for-size');
}
