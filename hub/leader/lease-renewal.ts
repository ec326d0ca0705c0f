// When this hub last renewed its etcd lease, as far as a leader may rely on it.
//
// etcd expires a lease TTL after the last keep-alive it received. Every keep-alive etcd answered
// was sent by us no earlier than we noted its sending, so a renewal is dated by when its
// keep-alive was *sent*, not when the answer came back. Answers come in the order the keep-alives
// went out on the stream, so the sends wait in a queue and each answer takes the oldest.
//
// Times are read from the monotonic clock, so a wall-clock step back (NTP) cannot stretch a term
// past the lease. The wall clock is read as well and the longer of the two silences counts: the
// monotonic clock stops while the host is suspended (and in some VM pauses), while etcd's time
// goes on. A wall-clock step forward can only end a term early, the safe side. A leader steps
// down at two thirds of the TTL after its last renewal, leaving a third for its singletons to
// stop and for clock-rate differences between this host and etcd's.
export const STEP_DOWN_FRACTION = 2 / 3;

export class LeaseRenewal {
  private renewedAt: number;
  private renewedWall: number;
  private readonly inFlight: number[] = [];

  constructor(
    readonly ttlMs: number,
    /** The monotonic clock, in milliseconds. */
    readonly now: () => number = () => performance.now(),
    /** The wall clock, in milliseconds. */
    private readonly wall: () => number = () => Date.now(),
  ) {
    this.renewedAt = now();
    this.renewedWall = wall();
  }

  /** A renewal sent at `sentAt` (monotonic); its wall time is as long ago on the wall clock. */
  private mark(sentAt: number): void {
    this.renewedAt = sentAt;
    this.renewedWall = this.wall() - (this.now() - sentAt);
  }

  /** How long after a renewal the leader must have stopped acting. */
  get stepDownAfterMs(): number {
    return Math.floor(this.ttlMs * STEP_DOWN_FRACTION);
  }

  /** The lease was granted: call with the time read just before the grant was asked for. */
  granted(sentAt: number): void {
    this.mark(sentAt);
    this.inFlight.length = 0;
  }

  /** A keep-alive goes out on the lease's stream. */
  fired(): void {
    this.inFlight.push(this.now());
  }

  /** The stream answered the oldest keep-alive in flight. */
  answered(): void {
    const sentAt = this.inFlight.shift();
    if (sentAt !== undefined) this.renewed(sentAt);
  }

  /** The stream failed: what was in flight will not be answered on it. */
  streamFailed(): void {
    this.inFlight.length = 0;
  }

  /** A keep-alive sent at `sentAt` outside the stream (a rescue) was answered. */
  renewed(sentAt: number): void {
    if (sentAt > this.renewedAt) this.mark(sentAt);
  }

  /** Time since the last renewal. */
  silentMs(): number {
    return Math.max(this.now() - this.renewedAt, this.wall() - this.renewedWall);
  }

  /**
   * True once a check `checkEveryMs` apart might otherwise notice too late. The margin is two
   * checks or a twentieth of the TTL, whichever is more: on a loaded machine the check's timer
   * runs late (chaos measured 2,016 ms against 2,000 with a one-check margin).
   */
  mustStepDown(checkEveryMs: number): boolean {
    return this.silentMs() >= this.stepDownAfterMs - Math.max(2 * checkEveryMs, this.ttlMs / 20);
  }

  /**
   * True when the stream's regular keep-alive (every third of the TTL) is overdue: one lost or
   * slow keep-alive would otherwise cost the lead, so a separate one is sent.
   */
  rescueDue(): boolean {
    return this.silentMs() > this.ttlMs / 3 + Math.max(250, this.ttlMs / 12);
  }
}
