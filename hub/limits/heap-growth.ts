// How far V8 lets the hub's heap grow past what is live before a full collection
// (limits.heap_growth, V8's --heap-growing-percent). V8's own heuristic lets the old generation
// grow to up to several times what survived the last full collection when the hub allocates
// fast, and RSS follows. Measured with 300 paused SSE watchers fed ~45 rounds of 100 changes
// (the abuse test): the hub grew by 67-84 MiB with V8's default, of which only about 20 MiB
// was held (TLS connections, queued frames, the replay buffer's new events): the rest was
// garbage promoted to the old generation awaiting a full collection. At 50 % it grew by 51 MiB,
// at 30 % by 39 MiB, at the same pace of rounds. The cost is more frequent (incremental,
// concurrent) full collections.
import { setFlagsFromString } from 'node:v8';

/** Sets the heap's growth for this process (0: V8's own heuristic). Process-wide: the hub process owns it. */
export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}
