// Heartbeat silence that does not blame the peer for this process's own stalls. When the
// process did not run for a while (a long GC pause, a big message decoded, a machine with more
// work than cores), the peer's messages may be waiting unread in the socket: the beat timer
// fires before the reads do. So silence is only counted over time this process was running:
// after a stall the count starts again.
export class SilenceWatch {
  private lastHeard: number;
  private lastCheck: number;
  private runningSince: number;

  constructor(
    private readonly intervalMs: number,
    private readonly beats: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastHeard = this.lastCheck = this.runningSince = now();
  }

  /** Something came from the peer. */
  heard(): void {
    this.lastHeard = this.now();
  }

  /** Milliseconds since the peer was last heard from. */
  sinceHeard(): number {
    return this.now() - this.lastHeard;
  }

  /**
   * Called by the beat timer (every intervalMs): true when the peer has been silent for `beats`
   * intervals of this process's running time.
   */
  silent(): boolean {
    const now = this.now();
    // The timer ran half a beat late or more: this process stalled; count from now.
    if (now - this.lastCheck > this.intervalMs * 1.5) this.runningSince = now;
    this.lastCheck = now;
    return now - Math.max(this.lastHeard, this.runningSince) > this.beats * this.intervalMs;
  }
}
