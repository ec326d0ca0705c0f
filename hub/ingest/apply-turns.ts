// Fair turns on the event loop for applying deltas: when many clusters' deltas land at once, API
// requests get the event loop in between instead of after all of them.

/** Most milliseconds of applying deltas per event-loop turn before other work gets a turn. */
const APPLY_TURN_MS = 5;

export class ApplyTurns {
  /** Applies waiting for their turn on the event loop. */
  private readonly queue: (() => void)[] = [];
  private scheduled = false;

  /** Runs fn on the event loop, in arrival order with the others, about APPLY_TURN_MS of them per turn. */
  runSoon(fn: () => void): void {
    this.queue.push(fn);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const start = performance.now();
      while (this.queue.length > 0) {
        this.queue.shift()!();
        if (performance.now() - start > APPLY_TURN_MS) break;
      }
      this.schedule();
    });
  }
}
