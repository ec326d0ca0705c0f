// Ships records to one destination without ever blocking the request path: enqueue() only
// pushes to a bounded buffer (full: the oldest record is dropped, counted, logged once per
// overflow). One batch is in flight at a time; failures are retried with jittered exponential
// backoff, and only the records the destination did not take are sent again.
import type { Logger } from '../../../shared/logging/index.js';
import type { AuditRecord } from '../record.js';
import type { AuditSink } from './sink.js';

export interface ShipperOptions {
  buffer: number;
  batch: number;
  flushIntervalMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** Where a shipper remembers how far it got (every seq up to it delivered, refused or dropped). */
export interface ShipCursor {
  read(): number | undefined;
  write(seq: number): void;
}

export class Shipper {
  private buffer: AuditRecord[] = [];
  private inFlight = false;
  /** Records of the batch in flight (out of `buffer` until it settles). */
  private sending = 0;
  private timer?: NodeJS.Timeout;
  private attempt = 0;
  private overflowing = false;
  private closed = false;
  readonly stats = { shipped: 0, dropped: 0, rejected: 0, retries: 0, failures: 0 };
  lastError?: string;
  private lastEnqueued = 0;
  private saved?: number;

  constructor(
    readonly sink: AuditSink,
    private readonly opts: ShipperOptions,
    private readonly logger: Logger,
    private readonly cursor?: ShipCursor,
  ) {}

  /** Records are settled up to here: everything older than the oldest still buffered. */
  private saveCursor(): void {
    if (!this.cursor) return;
    const done = this.buffer.length ? this.buffer[0].seq - 1 : this.lastEnqueued;
    if (done === this.saved || done < 0) return;
    try {
      this.cursor.write(done);
      this.saved = done;
    } catch (err) {
      this.logger.warn({ sink: this.sink.name, err: (err as Error).message }, 'cannot save the audit shipping cursor');
    }
  }

  /** The saved position, if any (read once at start). */
  cursorSeq(): number | undefined {
    return this.cursor?.read();
  }

  /** A new destination: nothing before seq is due. */
  startAt(seq: number): void {
    this.lastEnqueued = seq;
    this.saveCursor();
  }

  /** Records held and not yet acknowledged by the destination: waiting, and the batch in flight. */
  get buffered(): number {
    return this.buffer.length + this.sending;
  }

  enqueue(record: AuditRecord): void {
    if (this.closed) return;
    this.buffer.push(record);
    this.lastEnqueued = record.seq;
    this.trim();
    this.schedule(this.buffer.length >= this.opts.batch ? 0 : this.opts.flushIntervalMs);
  }

  private trim(): void {
    const over = this.buffer.length - this.opts.buffer;
    if (over <= 0) {
      this.overflowing = false;
      return;
    }
    this.buffer.splice(0, over);
    this.stats.dropped += over;
    if (!this.overflowing) {
      this.overflowing = true;
      this.logger.warn({ sink: this.sink.name, buffer: this.opts.buffer }, 'audit shipping buffer full: dropping the oldest records (they stay in the local audit files)');
    }
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.inFlight) return;
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pump();
    }, delayMs);
    this.timer.unref();
  }

  private backoffMs(): number {
    const base = Math.min(this.opts.maxBackoffMs, this.opts.initialBackoffMs * 2 ** Math.min(this.attempt - 1, 30));
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }

  /** Sends one batch; resolves when it settled (tests and close() wait on it). */
  async pump(): Promise<void> {
    if (this.inFlight || this.buffer.length === 0) return;
    this.inFlight = true;
    const batch = this.buffer.splice(0, this.opts.batch);
    this.sending = batch.length;
    let again: AuditRecord[] = [];
    try {
      const result = await this.sink.send(batch);
      this.stats.shipped += batch.length - result.retry.length - result.rejected;
      if (result.rejected) {
        this.stats.rejected += result.rejected;
        this.logger.warn({ sink: this.sink.name, rejected: result.rejected, reason: result.reason }, 'audit destination refused records for good (the local audit files keep them)');
      }
      again = result.retry;
      if (again.length) this.stats.retries += again.length;
      this.lastError = again.length ? `${again.length} records to retry` : undefined;
    } catch (err) {
      again = batch;
      this.stats.failures++;
      this.lastError = (err as Error).message;
      if (this.attempt === 0) this.logger.warn({ sink: this.sink.name, err: this.lastError }, 'audit shipping failed; retrying with backoff');
    } finally {
      this.inFlight = false;
      this.sending = 0;
    }
    if (again.length) this.buffer.unshift(...again);
    this.saveCursor();
    if (again.length) {
      // Back at the front (above), in order: the oldest records go first once the destination is back.
      this.trim();
      this.attempt++;
      this.schedule(this.backoffMs());
    } else {
      if (this.attempt > 0) this.logger.info({ sink: this.sink.name }, 'audit shipping recovered');
      this.attempt = 0;
      if (this.buffer.length) this.schedule(this.buffer.length >= this.opts.batch ? 0 : this.opts.flushIntervalMs);
    }
  }

  /** One last attempt for what is buffered, then stop. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    while (this.inFlight) await new Promise((r) => setTimeout(r, 10));
    if (this.buffer.length && this.attempt === 0) await this.pump();
    this.closed = true;
    clearTimeout(this.timer);
  }
}
