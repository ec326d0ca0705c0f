// When the agent dials its hub again, and when it says so in its log. A stream that dies soon
// after it was welcomed (a hub that welcomes and then fails, e.g. one refusing deltas) must not
// reset the backoff, or the agent redials every few hundred ms forever; so the backoff starts over
// only after a stream stayed up for `stableMs` (at least the backoff's maximum). Failures are
// logged like the write-fault log: the first one, then once per interval with how many were not.

export interface ReconnectBackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** A stream up this long counts as stable: the backoff and the log start over (default max(maxMs, 5 s)). */
  stableMs?: number;
  /** Log failing streams at most once per this many ms (default 60 s). */
  logIntervalMs?: number;
}

/** A stream that lived this long was a fresh start: the same hub is tried again at once. */
const LONG_LIVED_MS = 30_000;

export class ReconnectBackoff {
  private attempt = 0;
  private upSince?: number;
  private lastLoggedAt?: number;
  private suppressed = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;

  constructor(
    private readonly opts: ReconnectBackoffOptions = {},
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.initialMs = opts.initialMs ?? 250;
    this.maxMs = opts.maxMs ?? 15_000;
    this.stableMs = opts.stableMs ?? Math.max(this.maxMs, 5_000);
  }

  /** The hub welcomed a stream. */
  connected(): void {
    this.upSince = this.now();
  }

  /** The stream ended or a connect failed: how long to wait, and whether to try the same hub (a long-lived stream). */
  next(): { delayMs: number; sameHub: boolean } {
    const up = this.upSince === undefined ? 0 : this.now() - this.upSince;
    this.upSince = undefined;
    if (up >= this.stableMs) {
      this.attempt = 0;
      this.lastLoggedAt = undefined;
      this.suppressed = 0;
    }
    if (up > LONG_LIVED_MS) {
      this.attempt++;
      return { delayMs: 0, sameHub: true };
    }
    const delayMs = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 10)) * (0.5 + this.random() / 2);
    this.attempt++;
    return { delayMs, sameHub: false };
  }

  /** A stream failed: log it now? With how many failures went unlogged since the last line. */
  shouldLog(): { log: boolean; suppressed: number } {
    const now = this.now();
    if (this.lastLoggedAt !== undefined && now - this.lastLoggedAt < (this.opts.logIntervalMs ?? 60_000)) {
      this.suppressed++;
      return { log: false, suppressed: this.suppressed };
    }
    const suppressed = this.suppressed;
    this.lastLoggedAt = now;
    this.suppressed = 0;
    return { log: true, suppressed };
  }
}
