// What the hub holds for one watcher until its transport takes it, and the frames watchers share.
//
// A watcher's transport (an SSE response, a gRPC call) is handed events only while it takes them
// (its write says "more"); the rest waits here, in order, until it drains. Measured with 300
// paused SSE watchers (abuse test): writing every event straight into each socket made the hub
// grow by about 540 MiB, because each watcher serialized each event on its own (300 strings per
// change) and each stalled socket held its own copy, plain and encrypted. Queued here, an event is
// a reference to a frame made once per event and view (SharedFrames) and held by every watcher
// that has not taken it yet; a socket holds at most its high-water mark.

/** One watcher's backlog: items in order, with their byte count. */
export class WatchQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private size = 0;

  constructor(
    private readonly sizeOf: (item: T) => number,
    /** Hands one item to the transport; false when the transport is full (wait for its drain). */
    private readonly send: (item: T) => boolean,
  ) {}

  /** Bytes waiting here (not yet handed to the transport). */
  get bytes(): number {
    return this.size;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
    this.size += this.sizeOf(item);
  }

  /** Hands items to the transport until it is full or nothing is left. */
  pump(): void {
    while (this.head < this.items.length) {
      const item = this.items[this.head] as T;
      this.items[this.head++] = undefined;
      this.size -= this.sizeOf(item);
      if (!this.send(item)) break;
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      // Drop the taken slots now and then rather than shift() per item (O(n) each).
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Forgets what is left (the watch ended). */
  clear(): void {
    this.items = [];
    this.head = 0;
    this.size = 0;
  }
}

/**
 * The frames of the event being delivered now, one per view ("variant"): a change reaches every
 * watcher in one synchronous loop (WatchFeed.emit), so the first watcher of a view makes the
 * frame and the others reuse it. Only the latest event is kept: no frame outlives the watchers'
 * queues that hold it.
 */
export class SharedFrames<F> {
  private event: string | undefined;
  private readonly frames = new Map<string, F>();

  /** `event`: the event's number in the feed (its id differs by watcher scope: put that in `variant`). */
  get(event: string, variant: string, make: () => F): F {
    if (event !== this.event) {
      this.event = event;
      this.frames.clear();
    }
    let frame = this.frames.get(variant);
    if (frame === undefined) {
      frame = make();
      this.frames.set(variant, frame);
    }
    return frame;
  }
}
