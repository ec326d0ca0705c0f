// The HTTP/1.1 response framing for raw-request.ts: status line, headers, then a body sized by
// Content-Length, sent chunked, or running to the end of the connection. Bytes go in as the
// socket reads them (any split); the body comes out as views of those bytes, valid only during
// the callback (the socket reuses its read buffer). It never looks inside the body.
import { SlurmResponseError } from '../../../shared/errors/index.js';

/** Status line and headers larger than this are refused (slurmrestd sends a few hundred bytes). */
const MAX_HEAD_BYTES = 64 * 1024;
/** A chunk-size line (hex size and extensions) or trailer line longer than this is refused. */
const MAX_LINE_BYTES = 4096;

const LF = 0x0a;

export interface ResponseHead {
  status: number;
  /** Lower-case names; a repeated header keeps its last value. */
  headers: Map<string, string>;
}

type Phase = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailer' | 'close' | 'done';

export class ResponseReader {
  private phase: Phase = 'head';
  /** The head (or a chunk-size / trailer line) so far, copied: it may span reads. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Body bytes still due: of the Content-Length, or of the current chunk. */
  private remaining = 0;
  /** Body bytes delivered. */
  bodyBytes = 0;

  constructor(
    private readonly what: string,
    private readonly onHead: (head: ResponseHead) => void,
    private readonly onBody: (chunk: Buffer) => void,
    /** HEAD requests and the like: no body whatever the headers say. */
    private readonly noBody = false,
  ) {}

  /** True once the answer is complete (bytes after it are ignored). */
  get complete(): boolean {
    return this.phase === 'done';
  }

  /** Whether the status line and headers have been read. */
  get headRead(): boolean {
    return this.phase !== 'head';
  }

  /** Feeds the next bytes; returns true once the answer is complete. Throws on bad framing. */
  push(data: Buffer): boolean {
    let i = 0;
    const n = data.length;
    while (i < n && this.phase !== 'done') {
      switch (this.phase) {
        case 'head': {
          const end = this.headEnd(data, i);
          if (end < 0) {
            this.hold(data, i, n, MAX_HEAD_BYTES, 'its headers are');
            return false;
          }
          this.hold(data, i, end, MAX_HEAD_BYTES, 'its headers are');
          i = end;
          this.readHead();
          break;
        }
        case 'length':
        case 'chunk-data': {
          const take = Math.min(this.remaining, n - i);
          this.deliver(data, i, i + take);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.phase = this.phase === 'length' ? 'done' : 'chunk-end';
          break;
        }
        case 'close':
          this.deliver(data, i, n);
          i = n;
          break;
        case 'chunk-size':
        case 'chunk-end':
        case 'trailer': {
          const lf = data.indexOf(LF, i);
          const end = lf < 0 ? n : lf + 1;
          this.hold(data, i, end, MAX_LINE_BYTES, 'a chunk line is');
          i = end;
          if (lf >= 0) this.readLine();
          break;
        }
      }
    }
    return this.phase === 'done';
  }

  /** At the end of the connection: true when that completes the answer (no length given). */
  end(): boolean {
    if (this.phase === 'close') this.phase = 'done';
    return this.phase === 'done';
  }

  /** Where the blank line after the headers ends in data (held bytes counted); -1 if not yet. */
  private headEnd(data: Buffer, from: number): number {
    if (this.pendingBytes > 0) {
      // It may straddle reads: the last 3 held bytes joined with the first 3 new ones.
      const held = Buffer.concat(this.pending, this.pendingBytes);
      const tail = held.subarray(Math.max(0, held.length - 3));
      const at = Buffer.concat([tail, data.subarray(from, from + 3)]).indexOf('\r\n\r\n', 0, 'latin1');
      if (at >= 0) return from + at + 4 - tail.length;
    }
    const at = data.indexOf('\r\n\r\n', from, 'latin1');
    return at < 0 ? -1 : at + 4;
  }

  private hold(data: Buffer, from: number, to: number, max: number, what: string): void {
    if (to <= from) return;
    this.pendingBytes += to - from;
    if (this.pendingBytes > max) throw new SlurmResponseError(`slurmrestd answer to ${this.what}: ${what} larger than ${max} bytes`);
    this.pending.push(Buffer.from(data.subarray(from, to)));
  }

  private take(): string {
    const text = Buffer.concat(this.pending, this.pendingBytes).toString('latin1');
    this.pending = [];
    this.pendingBytes = 0;
    return text;
  }

  private readHead(): void {
    const lines = this.take().split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0]);
    if (!m) throw this.bad('its status line is not HTTP/1.x');
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k];
      if (line === '') continue;
      const colon = line.indexOf(':');
      if (colon <= 0) throw this.bad('a header line has no name');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if (status >= 100 && status < 200) {
      // An interim answer (100 Continue): the real one follows.
      this.phase = 'head';
      return;
    }
    this.onHead({ status, headers });
    const chunked = /(^|,)\s*chunked\s*$/i.test(headers.get('transfer-encoding') ?? '');
    const length = headers.get('content-length');
    if (this.noBody || status === 204 || status === 304) this.phase = 'done';
    else if (chunked) this.phase = 'chunk-size';
    else if (length !== undefined) {
      if (!/^\d{1,15}$/.test(length)) throw this.bad('its Content-Length is not a number');
      this.remaining = Number(length);
      this.phase = this.remaining === 0 ? 'done' : 'length';
    } else this.phase = 'close';
  }

  /** A complete chunk-size, chunk-end or trailer line is held. */
  private readLine(): void {
    const line = this.take().replace(/\r?\n$/, '');
    if (this.phase === 'chunk-end') {
      if (line !== '') throw this.bad('a chunk is longer than its size');
      this.phase = 'chunk-size';
      return;
    }
    if (this.phase === 'trailer') {
      if (line === '') this.phase = 'done';
      return;
    }
    const m = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
    if (!m) throw this.bad('a chunk size is not hexadecimal');
    this.remaining = Number.parseInt(m[1], 16);
    this.phase = this.remaining === 0 ? 'trailer' : 'chunk-data';
  }

  private deliver(data: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.bodyBytes += to - from;
    this.onBody(from === 0 && to === data.length ? data : data.subarray(from, to));
  }

  private bad(why: string): SlurmResponseError {
    return new SlurmResponseError(`slurmrestd answer to ${this.what} is not valid HTTP: ${why}`);
  }
}
