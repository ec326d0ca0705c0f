// What open watch streams may cost, and how long they may live. A watcher that does not read
// makes the hub queue what it cannot send; each watcher may queue `perWatcher` bytes and all of
// them `total`: over its own cap a watcher is ended, and over the total the watcher with the most
// queued is ended first, each with a reason that says where to resume (its last event id). A
// caller may hold `perCaller` watches at once. Every `recheckMs` (and at once when the revocation
// list changes) each watch re-checks its credential and permission: a revoked certificate or
// token, a logout, an expired session or a lost role ends it.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError } from '../../shared/errors/index.js';

/** A caller over its concurrent-watch cap. */
export class TooManyWatchesError extends FleetError {
  constructor(limit: number) {
    super('SF_WATCH_TOO_MANY', `at most ${limit} watches at once per caller (limits.watches_per_caller); close one first`, 429, GrpcStatus.RESOURCE_EXHAUSTED);
  }
}

/** Why a watch was ended by the hub (sent as the stream's last word where it can still be read). */
export class WatchEndedError extends FleetError {
  constructor(message: string) {
    super('SF_WATCH_ENDED', message, 409, GrpcStatus.ABORTED);
  }
}

export interface WatchBudgetOptions {
  perWatcher: number;
  total: number;
  perCaller: number;
  recheckMs: number;
}

export interface WatchHandle {
  /** Ends the stream with this reason (the route knows how to tell its client). */
  end(err: WatchEndedError): void;
  /** Throws when the caller may no longer watch (authentication again, then the permission). */
  recheck(): Promise<void> | void;
  /** The id of the last event sent: where the client may resume. */
  lastEventId(): string;
}

export class WatchSlot {
  queued = 0;
  private closed = false;

  constructor(
    private readonly budget: WatchBudget,
    readonly caller: string,
    readonly handle: WatchHandle,
  ) {}

  /** The bytes queued for this watcher now; over a cap, the budget ends someone. */
  setQueued(bytes: number): void {
    if (this.closed) return;
    this.budget.adjust(bytes - this.queued);
    this.queued = bytes;
    if (bytes > this.budget.opts.perWatcher) {
      this.budget.cut(this, `the watcher read too slowly: over ${this.budget.opts.perWatcher} bytes queued for it (limits.watch_buffer)`);
    } else if (this.budget.queuedTotal > this.budget.opts.total) {
      this.budget.cutSlowest();
    }
  }

  /** Forgets the watcher (its stream closed). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.budget.release(this);
  }

  get open(): boolean {
    return !this.closed;
  }
}

export class WatchBudget {
  private readonly slots = new Set<WatchSlot>();
  private readonly byCaller = new Map<string, number>();
  queuedTotal = 0;
  readonly stats = { cut_slow: 0, cut_total: 0, ended_credential: 0, refused_too_many: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly opts: WatchBudgetOptions,
    /** Told of each watch the hub ends (slow, over budget, credential gone), for the operator's log. */
    private readonly ended: (caller: string, err: WatchEndedError) => void = () => undefined,
  ) {
    this.timer = setInterval(() => void this.recheckAll(), opts.recheckMs);
    this.timer.unref();
  }

  /** A slot for a new watch of `caller`, or TooManyWatchesError. */
  open(caller: string, handle: WatchHandle): WatchSlot {
    const n = this.byCaller.get(caller) ?? 0;
    if (n >= this.opts.perCaller) {
      this.stats.refused_too_many++;
      throw new TooManyWatchesError(this.opts.perCaller);
    }
    this.byCaller.set(caller, n + 1);
    const slot = new WatchSlot(this, caller, handle);
    this.slots.add(slot);
    return slot;
  }

  get watchers(): number {
    return this.slots.size;
  }

  /** @internal */
  adjust(delta: number): void {
    this.queuedTotal += delta;
  }

  /** @internal */
  release(slot: WatchSlot): void {
    if (!this.slots.delete(slot)) return;
    this.queuedTotal -= slot.queued;
    slot.queued = 0;
    const left = (this.byCaller.get(slot.caller) ?? 1) - 1;
    if (left <= 0) this.byCaller.delete(slot.caller);
    else this.byCaller.set(slot.caller, left);
  }

  /** @internal Ends one watcher for being slow. */
  cut(slot: WatchSlot, why: string): void {
    this.stats.cut_slow++;
    this.end(slot, new WatchEndedError(`${why}; resume from event ${slot.handle.lastEventId()}`));
  }

  /** @internal All watchers hold too much: the one with the most queued goes first, until under. */
  cutSlowest(): void {
    while (this.queuedTotal > this.opts.total) {
      let worst: WatchSlot | undefined;
      for (const s of this.slots) if (!worst || s.queued > worst.queued) worst = s;
      if (!worst || worst.queued === 0) return;
      this.stats.cut_total++;
      this.end(worst, new WatchEndedError(`the hub holds too much for slow watchers (limits.watch_buffer_total) and this one had the most queued; resume from event ${worst.handle.lastEventId()}`));
    }
  }

  private end(slot: WatchSlot, err: WatchEndedError): void {
    slot.close();
    this.ended(slot.caller, err);
    try {
      slot.handle.end(err);
    } catch {
      // The stream is gone already.
    }
  }

  /** Re-checks every open watch's credential and permission now (the revocation list changed). */
  async recheckAll(): Promise<void> {
    for (const slot of [...this.slots]) {
      try {
        await slot.handle.recheck();
      } catch (err) {
        if (!slot.open) continue;
        this.stats.ended_credential++;
        this.end(slot, new WatchEndedError(`the watch's credential or permission no longer holds: ${err instanceof Error ? err.message : String(err)}`));
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
