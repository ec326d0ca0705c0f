// Reads one big slurmrestd list answer (/jobs, /nodes) as its bytes arrive, one element at a
// time: the whole body string and the whole parsed tree never exist (at 100,000 jobs a v0.0.38
// /jobs answer is ~320 MB of text and several GB as one parsed tree).
//
// A byte scanner follows the JSON structure (strings and escapes included; UTF-8 continuation
// bytes never look like ASCII, so bytes are enough) and cuts the top-level `key` array into its
// elements; each element goes through JSON.parse on its own and then to the adapter
// (streamed-list.ts). Everything around the list (meta, errors, warnings, last_update...) is
// kept, with the list left empty, and checked at the end exactly as a buffered answer is
// (response.ts), so Slurm's `errors` still win over a half-read list. Malformed or truncated
// input names the byte position, never the body.
import { SlurmResponseError } from '../../shared/errors/index.js';

export interface ListLimits {
  /** Largest single element (one job); a bigger one fails the answer. */
  maxElementBytes: number;
  /** Largest total of everything outside the list (meta, errors, warnings). */
  maxOtherBytes: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** fastList hands an element over to the byte scanner beyond this size without a closing line. */
const FAST_CARRY_BYTES = 1 << 20;
const STRING = 1;
const OPEN = 2;
const CLOSE = 3;
const SEPARATOR = 4;
/** What a byte means to the structure inside the list; 0 for nothing. */
const STRUCTURE = new Uint8Array(256);
STRUCTURE[QUOTE] = STRING;
STRUCTURE[LBRACE] = OPEN;
STRUCTURE[LBRACKET] = OPEN;
STRUCTURE[RBRACE] = CLOSE;
STRUCTURE[RBRACKET] = CLOSE;
STRUCTURE[COMMA] = SEPARATOR;

/**
 * The closing quote of the string whose contents start at `from`, or -1 if it is not in
 * `data` yet. `data` holds the string from its opening quote on (an element is carried
 * whole), so counting the backslashes before a quote never leaves the string.
 */
function stringEnd(data: Buffer, from: number): number {
  let j = data.indexOf(QUOTE, from);
  while (j > 0 && data[j - 1] === BACKSLASH) {
    let k = j - 1;
    while (data[k] === BACKSLASH) k--;
    if (((j - 1 - k) & 1) === 0) return j;
    j = data.indexOf(QUOTE, j + 1);
  }
  return j;
}

/**
 * The closing line of the object element data[start, end) (white space after it included):
 * `\n` + blanks + `}` when it is laid out that way, else undefined.
 */
function closingLine(data: Buffer, start: number, end: number): Buffer | undefined {
  let e = end;
  while (e > start && isSpace(data[e - 1])) e--;
  if (data[start] !== LBRACE || data[e - 1] !== RBRACE) return undefined;
  const nl = data.lastIndexOf(0x0a, e - 1);
  if (nl <= start) return undefined;
  for (let k = nl + 1; k < e - 1; k++) if (data[k] !== 0x20 && data[k] !== 0x09) return undefined;
  return Buffer.from(data.subarray(nl, e));
}

/**
 * data.indexOf(closer, from) for a closing line (`\n`, blanks, `}`), found from its `}`: a
 * pretty-printed job has a hundred newlines for every few braces, so a native search for the
 * brace stops far less often than one for the line's first byte.
 */
function findCloser(data: Buffer, from: number, closer: Buffer): number {
  const last = closer.length - 1;
  for (let at = data.indexOf(RBRACE, from + last); at >= 0; at = data.indexOf(RBRACE, at + 1)) {
    const s = at - last;
    let k = 0;
    while (k < last && data[s + k] === closer[k]) k++;
    if (k === last) return s;
  }
  return -1;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The scanner: feed `write` the body's chunks in order, then `end`. */
export class ListStream {
  private readonly key: Buffer;
  /** Absolute offset of the next chunk's first byte. */
  private total = 0;
  /**
   * The unfinished element's bytes, kept over a chunk boundary: the first `carryBytes` bytes
   * of `scratch`, where the next chunk is appended. One buffer for the whole answer instead of
   * two fresh ones per chunk (a copy of the rest, then a joined copy): at ~400 chunks per
   * 25 MB answer those allocations were a good part of the agent's garbage collection.
   */
  private scratch = Buffer.alloc(0);
  private carryBytes = 0;
  private depth = 0;
  private inString = false;
  private escape = false;
  private started = false;
  private isObject = false;
  private expectKey = false;
  private inKey = false;
  private keyPos = 0;
  private keyMatch = false;
  private keyIsList = false;
  private awaitList = false;
  private inList = false;
  /** After a comma between elements: another element must follow. */
  private needElement = false;
  private count = 0;
  private readonly other: Buffer[] = [];
  private otherBytes = 0;
  /** Where the list's contents were cut out: offset in `other`, and how many bytes. */
  private cutAt = -1;
  private cutBytes = 0;
  private listStart = 0;
  /** Until an element shows otherwise, the list may be pretty-printed (see fastList). */
  private pretty = true;
  /** The closing line of an element: `\n`, the element's indentation, `}`. */
  private closer?: Buffer;
  /** Where fastList's search resumes, from the unfinished element's start. */
  private searchAt = 1;

  constructor(
    key: string,
    private readonly what: string,
    private readonly limits: ListLimits,
    private readonly onElement: (value: unknown, index: number) => void,
    /** Called with each element's bytes first; true means it was handled without parsing. */
    private readonly reuse?: (bytes: Buffer, index: number) => boolean,
  ) {
    this.key = Buffer.from(key);
  }

  /** Bytes read so far. */
  get bytes(): number {
    return this.total;
  }

  /** `chunk` is only read during the call (the caller may reuse its memory afterwards). */
  write(chunk: Buffer): void {
    let data = chunk;
    let from = 0;
    if (this.carryBytes > 0) {
      from = this.carryBytes;
      this.reserve(from + chunk.length, from);
      chunk.copy(this.scratch, from);
      data = this.scratch.subarray(0, from + chunk.length);
      this.carryBytes = 0;
    }
    const base = this.total - from;
    this.total += chunk.length;
    let i = from;
    // An element was pending: it starts at 0 of the joined buffer.
    let elementStart = from > 0 ? 0 : -1;
    while (i < data.length) {
      if (this.inList) {
        let r = this.closer ? this.fastList(data, i, elementStart, base) : this.scanList(data, i, elementStart, base);
        if (r < 0) {
          // Not laid out as learned: the byte scanner takes over, from that element on.
          r = ~r;
          this.closer = undefined;
          this.pretty = false;
          this.depth = 2;
          this.inString = false;
        }
        i = r;
        elementStart = -1;
      } else {
        i = this.scanOther(data, i);
      }
    }
  }

  /**
   * Inside the list (depth 2 = between elements). Returns where scanning stopped: the end of
   * data (the unfinished element is carried) or just after the list's closing bracket.
   */
  private scanList(data: Buffer, from: number, elementStart: number, base: number): number {
    let depth = this.depth;
    let start = elementStart;
    const n = data.length;
    let i = from;
    if (this.inString) {
      i = stringEnd(data, from);
      if (i < 0) i = n;
      else {
        this.inString = false;
        i++;
      }
    }
    while (i < n) {
      const c = data[i];
      const t = STRUCTURE[c];
      // Most bytes (names, numbers, white space) mean nothing here: one table look-up each.
      if (t === 0) {
        if (start < 0 && depth === 2 && !isSpace(c)) start = i;
        i++;
        continue;
      }
      if (t === STRING) {
        if (start < 0) start = i;
        const end = stringEnd(data, i + 1);
        if (end < 0) {
          this.inString = true;
          i = n;
          break;
        }
        i = end + 1;
        continue;
      }
      if (depth > 2) {
        if (t === OPEN) depth++;
        else if (t === CLOSE) depth--;
        i++;
        continue;
      }
      // depth 2: between elements, or a scalar element
      if (c === COMMA || c === RBRACKET) {
        if (start >= 0) {
          this.element(data, start, i, base);
          if (c === COMMA && this.pretty && this.closer === undefined) {
            this.closer = closingLine(data, start, i);
            if (this.closer) {
              this.needElement = true;
              this.depth = depth;
              return i + 1;
            }
            this.pretty = false;
          }
          start = -1;
        } else if (c === COMMA || this.needElement) {
          throw this.malformed(base + i);
        }
        this.needElement = c === COMMA;
        if (c === RBRACKET) {
          // scanOther takes the bracket itself (kept, depth 2 -> 1).
          this.depth = 2;
          this.inList = false;
          this.cutBytes = base + i - this.listStart;
          return i;
        }
        i++;
        continue;
      }
      if (c === RBRACE) throw this.malformed(base + i);
      if (start < 0) start = i;
      depth++;
      i++;
    }
    this.depth = depth;
    if (start >= 0) {
      if (n - start > this.limits.maxElementBytes) throw this.tooBig();
      this.keepCarry(data, start);
    } else if (this.inString) {
      // Cannot happen: a string in the list belongs to an element.
      throw this.malformed(base + n);
    }
    return n;
  }

  /**
   * Inside a pretty-printed list (slurmrestd's layout): an element ends at its closing line,
   * `\n` + its indentation + `}`, found by a native search instead of byte by byte. A raw
   * newline never occurs inside a JSON string, and JSON.parse (or a byte-identical element
   * that parsed before) proves the cut: a complete object starting at the element's `{` ends
   * where its brackets match, nowhere else. Anything else returns ~index: the byte scanner
   * takes the element starting there.
   */
  private fastList(data: Buffer, from: number, elementStart: number, base: number): number {
    const closer = this.closer!;
    const n = data.length;
    let i = from;
    let start = elementStart;
    for (;;) {
      if (start < 0) {
        while (i < n && isSpace(data[i])) i++;
        if (i >= n) return n;
        const c = data[i];
        if (c === COMMA) {
          if (this.needElement) throw this.malformed(base + i);
          this.needElement = true;
          i++;
          continue;
        }
        if (c === RBRACKET) {
          if (this.needElement) throw this.malformed(base + i);
          this.inList = false;
          this.cutBytes = base + i - this.listStart;
          return i;
        }
        if (c !== LBRACE) return ~i;
        if (!this.needElement) throw this.malformed(base + i);
        start = i;
        this.searchAt = 1;
      }
      const at = findCloser(data, start + this.searchAt, closer);
      if (at < 0) {
        // No closing line for this long (or the layout changed): let the byte scanner decide.
        if (n - start > Math.min(FAST_CARRY_BYTES, this.limits.maxElementBytes)) return ~start;
        this.keepCarry(data, start);
        this.searchAt = Math.max(1, n - start - closer.length + 1);
        return n;
      }
      const end = at + closer.length;
      if (end - start > this.limits.maxElementBytes) return ~start;
      if (!this.tryElement(data, start, end)) return ~start;
      this.needElement = false;
      start = -1;
      i = end;
    }
  }

  /** Keeps data[start..] (an unfinished element) for the next chunk. */
  private keepCarry(data: Buffer, start: number): void {
    const length = data.length - start;
    if (data.buffer === this.scratch.buffer && data.byteOffset === this.scratch.byteOffset) {
      this.scratch.copyWithin(0, start, data.length);
    } else {
      this.reserve(length, 0);
      data.copy(this.scratch, 0, start);
    }
    this.carryBytes = length;
  }

  /** Room for `size` bytes in scratch, keeping its first `keep` bytes. */
  private reserve(size: number, keep: number): void {
    if (this.scratch.length >= size) return;
    // Room for the next chunks too: the carry plus a socket read is the usual size.
    const next = Buffer.allocUnsafe(Math.max(size, 2 * this.scratch.length, 128 * 1024));
    this.scratch.copy(next, 0, 0, keep);
    this.scratch = next;
  }

  /** An element cut by fastList: taken when it proves complete, false when it does not parse. */
  private tryElement(data: Buffer, start: number, end: number): boolean {
    if (this.reuse?.(data.subarray(start, end), this.count)) {
      this.count++;
      return true;
    }
    let value: unknown;
    try {
      value = JSON.parse(data.toString('utf8', start, end));
    } catch {
      return false;
    }
    this.onElement(value, this.count++);
    return true;
  }

  /** Outside the list: follows the structure, finds the list's key, keeps the bytes. */
  private scanOther(data: Buffer, from: number): number {
    const n = data.length;
    let i = from;
    for (; i < n; i++) {
      const c = data[i];
      if (this.inString) {
        if (this.escape) {
          this.escape = false;
          this.keyMatch = false;
        } else if (c === BACKSLASH) {
          this.escape = true;
          this.keyMatch = false;
        } else if (c === QUOTE) {
          this.inString = false;
          if (this.inKey) {
            this.inKey = false;
            this.keyIsList = this.keyMatch && this.keyPos === this.key.length;
          }
        } else if (this.inKey) {
          if (this.keyMatch && this.keyPos < this.key.length && this.key[this.keyPos] === c) this.keyPos++;
          else this.keyMatch = false;
        }
        continue;
      }
      if (isSpace(c)) continue;
      if (!this.started) {
        this.started = true;
        this.isObject = c === LBRACE;
      }
      if (this.awaitList) {
        this.awaitList = false;
        if (c === LBRACKET && this.cutAt < 0) {
          this.keep(data, from, i + 1);
          this.cutAt = this.otherBytes;
          this.listStart = this.total - n + i + 1;
          this.depth = 2;
          this.inList = true;
          this.needElement = false;
          return i + 1;
        }
      }
      switch (c) {
        case QUOTE:
          this.inString = true;
          if (this.depth === 1 && this.isObject && this.expectKey) {
            this.inKey = true;
            this.keyPos = 0;
            this.keyMatch = true;
            this.expectKey = false;
          }
          break;
        case LBRACE:
        case LBRACKET:
          this.depth++;
          if (this.depth === 1) this.expectKey = true;
          break;
        case RBRACE:
        case RBRACKET:
          this.depth--;
          break;
        case COMMA:
          if (this.depth === 1) this.expectKey = true;
          break;
        case COLON:
          if (this.depth === 1) {
            this.awaitList = this.keyIsList;
            this.keyIsList = false;
          }
          break;
      }
    }
    this.keep(data, from, n);
    return n;
  }

  private keep(data: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.otherBytes += to - from;
    if (this.otherBytes > this.limits.maxOtherBytes) {
      throw new SlurmResponseError(`slurmrestd answer to ${this.what} holds more than ${this.limits.maxOtherBytes} bytes besides its list`);
    }
    this.other.push(Buffer.from(data.subarray(from, to)));
  }

  private element(data: Buffer, start: number, end: number, base: number): void {
    if (end - start > this.limits.maxElementBytes) throw this.tooBig();
    while (end > start && isSpace(data[end - 1])) end--;
    if (this.reuse?.(data.subarray(start, end), this.count)) {
      this.count++;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(data.toString('utf8', start, end));
    } catch (err) {
      throw this.malformed(base + start + (jsonErrorPosition(err) ?? 0));
    }
    this.onElement(value, this.count++);
  }

  /**
   * After the last chunk: everything around the list, parsed, with the list empty. An empty
   * body gives undefined (the caller reports it as response.ts does).
   */
  end(): unknown {
    if (this.total === 0) return undefined;
    if (this.carryBytes > 0 && this.closer) {
      // fastList found no closing line up to the end (e.g. a last element on one line).
      const rest = Buffer.from(this.scratch.subarray(0, this.carryBytes));
      this.carryBytes = 0;
      this.closer = undefined;
      this.pretty = false;
      this.total -= rest.length;
      this.write(rest);
    }
    if (this.inList || this.inString || this.depth !== 0 || !this.started) {
      throw new SlurmResponseError(`slurmrestd sent truncated JSON for ${this.what} at position ${this.total} of ${this.total}`, {
        position: this.total,
        length: this.total,
      });
    }
    const text = Buffer.concat(this.other, this.otherBytes).toString('utf8');
    this.other.length = 0;
    try {
      return JSON.parse(text);
    } catch (err) {
      let position = jsonErrorPosition(err) ?? text.length;
      if (this.cutAt >= 0 && position >= this.cutAt) position += this.cutBytes;
      throw this.malformed(position);
    }
  }

  private malformed(position: number): SlurmResponseError {
    return new SlurmResponseError(`slurmrestd sent malformed JSON for ${this.what} at position ${position}`, { position });
  }

  private tooBig(): SlurmResponseError {
    return new SlurmResponseError(
      `slurmrestd answer to ${this.what}: element ${this.count} is larger than ${this.limits.maxElementBytes} bytes`,
      { index: this.count },
    );
  }
}

/** V8's "... at position N" (never the message itself: it can quote the body). */
function jsonErrorPosition(err: unknown): number | undefined {
  const message = err instanceof Error ? err.message : '';
  const at = message.lastIndexOf('position ');
  if (at < 0) return undefined;
  const n = Number.parseInt(message.slice(at + 9), 10);
  return Number.isFinite(n) ? n : undefined;
}
