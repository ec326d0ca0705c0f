// What open watch streams may cost, and how long they may live. A watcher that does not read
// makes the hub hold what it cannot send: its backlog is what its transport has not taken (the
// hub's queue for it, watch-queue.ts, and what the transport buffers). Each watcher may hold
// `perWatcher` bytes and all of them `total`, judged every `stallMs`, not while a change is
// queued: one large change (a burst of megabytes) goes over a watcher's cap at once, and a
// watcher that reads must be let drain it. Over its cap, a watcher whose backlog did not shrink
// since the last check is ended; over the total, the one with the most queued first, until
// under (a frame shared by N watchers counts N times: the total is conservative). Each gets a reason
// that says where to resume (its last event id). A caller may hold `perCaller` watches at once.
// Every `recheckMs` (and at once when the revocation list changes) each watch re-checks its
// credential and permission: a revoked certificate or token, a logout, an expired session or a
// lost role ends it. A credential that ends at a known time (a login session, an API token with a
// ttl) ends its watches then, by a timer of the watch's own, without waiting for the next re-check.
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
  /** How long a watcher over its cap may go without its backlog shrinking (2 s when omitted). */
  stallMs?: number;
}

export interface WatchHandle {
  /** Ends the stream with this reason (the route knows how to tell its client). */
  end(err: WatchEndedError): void;
  /** Throws when the caller may no longer watch (authentication again, then the permission). */
  recheck(): Promise<void> | void;
  /** The id of the last event sent: where the client may resume. */
  lastEventId(): string;
  /** What the transport has not taken now, read at each check (else the last setQueued). */
  backlog?(): number;
  /** When the caller's credential ends (ms since the epoch; Principal.expiresAt): the watch ends then. */
  expiresAt?: number;
  /** What ends then, for the reason: "session" (the default) or "API token". */
  expiring?: 'session' | 'API token';
}

/** The expiry fields of a watch handle for a caller (Principal's method and expiresAt). */
export function credentialExpiry(principal: { method: string; expiresAt?: number }): Pick<WatchHandle, 'expiresAt' | 'expiring'> {
  if (principal.expiresAt === undefined) return {};
  return { expiresAt: principal.expiresAt, expiring: principal.method === 'token' ? 'API token' : 'session' };
}

// setTimeout takes at most 2^31-1 ms (about 24.8 days); a later expiry is waited for in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class WatchSlot {
  queued = 0;
  /** The backlog at the last check while over the cap (-1: under it then): it must shrink by the next. */
  mark = -1;
  private closed = false;
  /** Ends the watch when its credential does (handle.expiresAt). */
  expiry?: NodeJS.Timeout;

  constructor(
    private readonly budget: WatchBudget,
    readonly caller: string,
    readonly handle: WatchHandle,
  ) {}

  /** The bytes the watcher's transport has not taken now (judged at the next check). */
  setQueued(bytes: number): void {
    if (this.closed) return;
    this.budget.adjust(bytes - this.queued);
    this.queued = bytes;
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
  private readonly checker: NodeJS.Timeout;
  private rechecking?: Promise<void>;
  private recheckAgain = false;

  constructor(
    readonly opts: WatchBudgetOptions,
    /** Told of each watch the hub ends (slow, over budget, credential gone), for the operator's log. */
    private readonly ended: (caller: string, err: WatchEndedError) => void = () => undefined,
  ) {
    this.timer = setInterval(() => void this.recheckAll(), opts.recheckMs);
    this.timer.unref();
    this.checker = setInterval(() => this.check(), this.stallMs);
    this.checker.unref();
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
    if (handle.expiresAt !== undefined) this.armExpiry(slot, handle.expiresAt);
    return slot;
  }

  private armExpiry(slot: WatchSlot, at: number): void {
    const wait = at - Date.now();
    // Already past (a clock a little off the session store's): end it on the next turn, not inside
    // open(), so the route has written the stream's head before the end arrives.
    slot.expiry = setTimeout(() => (Date.now() >= at ? this.expire(slot, at) : this.armExpiry(slot, at)), Math.max(0, Math.min(wait, MAX_TIMER_MS)));
    slot.expiry.unref();
  }

  private expire(slot: WatchSlot, at: number): void {
    if (!slot.open) return;
    this.stats.ended_credential++;
    const what = slot.handle.expiring ?? 'session';
    const next = what === 'session' ? 'log in again' : 'use a new token';
    this.end(slot, new WatchEndedError(`the watch's credential or permission no longer holds: the ${what} expired at ${new Date(at).toISOString()}; ${next}`));
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
    clearTimeout(slot.expiry);
    this.queuedTotal -= slot.queued;
    slot.queued = 0;
    const left = (this.byCaller.get(slot.caller) ?? 1) - 1;
    if (left <= 0) this.byCaller.delete(slot.caller);
    else this.byCaller.set(slot.caller, left);
  }

  /**
   * Ends the watchers that do not drain: over its own cap with a backlog that did not shrink
   * since the last check; then, while all of them hold more than the total, the one with the
   * most queued first. Runs every stallMs.
   */
  check(): void {
    const { perWatcher, total } = this.opts;
    for (const slot of [...this.slots]) {
      if (slot.handle.backlog) slot.setQueued(slot.handle.backlog());
      if (slot.queued <= perWatcher) {
        slot.mark = -1;
      } else if (slot.mark >= 0 && slot.queued >= slot.mark) {
        this.stats.cut_slow++;
        this.end(slot, new WatchEndedError(`the watcher read too slowly: ${slot.queued} bytes queued for it, over ${perWatcher} (limits.watch_buffer), and its backlog did not shrink in ${this.stallMs} ms (limits.watch_stall); resume from event ${slot.handle.lastEventId()}`));
      } else {
        slot.mark = slot.queued;
      }
    }
    if (this.queuedTotal <= total) return;
    for (const worst of [...this.slots].sort((a, b) => b.queued - a.queued)) {
      if (this.queuedTotal <= total || worst.queued === 0) return;
      this.stats.cut_total++;
      this.end(worst, new WatchEndedError(`the hub holds too much for slow watchers: ${this.queuedTotal} bytes, over ${total} (limits.watch_buffer_total), and this one had the most queued; resume from event ${worst.handle.lastEventId()}`));
    }
  }

  get stallMs(): number {
    return this.opts.stallMs ?? 2_000;
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

  /**
   * Re-checks every open watch's credential and permission now (the revocation list changed, a
   * session or token ended). Calls while a pass runs make one more pass after it, not one each:
   * a burst of logouts across the group costs two passes.
   */
  recheckAll(): Promise<void> {
    if (this.rechecking) {
      this.recheckAgain = true;
      return this.rechecking;
    }
    this.rechecking = (async () => {
      do {
        this.recheckAgain = false;
        await this.recheckPass();
      } while (this.recheckAgain);
    })().finally(() => (this.rechecking = undefined));
    return this.rechecking;
  }

  private async recheckPass(): Promise<void> {
    for (const slot of [...this.slots]) {
      // An expired credential ends its watch with the same reason whichever comes first.
      const at = slot.handle.expiresAt;
      if (at !== undefined && at <= Date.now()) {
        this.expire(slot, at);
        continue;
      }
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
    clearInterval(this.checker);
  }
}
