// The append-only, hash-chained writer. Records queue up and are written in groups: one append
// and one fdatasync per group (group commit); each caller's promise resolves only once its
// record is on disk. A failed write leaves the chain exactly as it was (the partial bytes are
// cut off again) and rejects every record of that group.
import type { AuditFiles } from './audit-files.js';
import { AUDIT_FILE_RE } from './audit-files.js';
import { formatHead, headMacProblem, parseHead } from './head.js';
import { GENESIS_HASH, lineHash, type AuditAnchor, type AuditBreak, type AuditLine, type AuditRecord } from './record.js';

export type PendingRecord = Omit<AuditRecord, 'seq' | 'prev_hash' | 'hash'>;

interface Head {
  file: string | null;
  size: number;
  seq: number;
  hash: string;
  /** The current file's lines are keyed (its anchor says mac). */
  keyed: boolean;
  /** Where the current file's chain starts (its anchor's seq and prev_hash): what is left when it is lost. */
  startSeq: number;
  startHash: string;
}

const NO_HEAD: Head = { file: null, size: 0, seq: 0, hash: GENESIS_HASH, keyed: false, startSeq: 1, startHash: GENESIS_HASH };

export interface ChainWriterOptions {
  hubId: string;
  maxFileBytes: number;
  now?: () => number;
  /** HMAC key: new files are keyed; a file started without it is closed at the next write. */
  key?: Buffer;
}

export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
}

export class ChainWriter {
  private head: Head = { ...NO_HEAD };
  /** The file being written was lost under us: the next group starts a new segment that names the break. */
  private lost?: AuditBreak['how'];
  private queue: { rec: PendingRecord; resolve: (r: AuditRecord) => void; reject: (e: Error) => void }[] = [];
  private flushing = false;
  /** The last write failed: mutations are refused until a write succeeds again. */
  failing = false;
  readonly stats = { written: 0, write_failures: 0 };
  private readonly now: () => number;

  constructor(
    readonly files: AuditFiles,
    private readonly opts: ChainWriterOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * With the key: whether HEAD vouches for the tail found by open() (its HMAC, and the hash of
   * the record it names if that is in the newest file). A mismatch means the files were
   * rewritten while the hub was down; the caller records it, since appending moves HEAD on.
   */
  checkHead(): string | undefined {
    const key = this.opts.key;
    const text = this.files.readMeta('HEAD');
    if (!key || text === undefined || !this.head.file) return undefined;
    const head = parseHead(text);
    if (typeof head === 'string') return head;
    if (head.mac === undefined && !this.head.keyed && head.seq === this.head.seq && head.hash === this.head.hash) {
      // The key was just configured: sign the head of the plain chain as it is.
      this.files.writeMeta('HEAD', formatHead({ file: this.head.file, seq: this.head.seq, hash: this.head.hash }, key));
      return undefined;
    }
    const problem = headMacProblem(head, key);
    if (problem) return problem;
    if (head.seq > this.head.seq) return `HEAD says the chain reached seq ${head.seq} but the files end at seq ${this.head.seq}`;
    for (const raw of this.files.read(this.head.file).split('\n')) {
      if (!raw.includes(`"seq":${head.seq},`)) continue;
      const line = JSON.parse(raw) as AuditLine;
      if (line.type === 'record' && line.seq === head.seq && line.hash !== head.hash) return `the record at seq ${head.seq} is not the one HEAD names`;
    }
    return undefined;
  }

  /** Finds where the chain ends; cuts off a torn last line (a write that never completed, so never acknowledged). */
  open(): { repaired: boolean } {
    const names = this.files.list();
    const last = names[names.length - 1];
    if (!last) return { repaired: false };
    const text = this.files.read(last);
    let end = text.lastIndexOf('\n') + 1;
    let repaired = end !== text.length;
    let lines = text.slice(0, end).split('\n').slice(0, -1);
    // A line that does not parse at the very end is a torn write too (a crash mid-append).
    while (lines.length > 0 && !parses(lines[lines.length - 1])) {
      end -= Buffer.byteLength(lines[lines.length - 1]) + 1;
      lines = lines.slice(0, -1);
      repaired = true;
    }
    if (repaired) this.files.truncate(last, Buffer.byteLength(text.slice(0, end)));
    const tail = lines.length ? (JSON.parse(lines[lines.length - 1]) as AuditLine) : undefined;
    if (!tail) {
      // An empty newest file: continue the chain from the file before it.
      this.files.remove(last);
      this.open();
      return { repaired: true };
    }
    const seq = tail.type === 'anchor' ? tail.seq - 1 : tail.seq;
    const anchor = JSON.parse(lines[0]) as AuditLine;
    const isAnchor = anchor.type === 'anchor';
    this.head = {
      file: last,
      size: this.files.size(last),
      seq,
      hash: tail.hash,
      keyed: isAnchor && anchor.mac === 'hmac-sha256',
      startSeq: isAnchor ? anchor.seq : seq + 1,
      startHash: isAnchor ? anchor.prev_hash : tail.hash,
    };
    return { repaired };
  }

  /**
   * Once per flush interval: whether the file being written is still whole at its path. When it
   * was deleted, truncated or replaced, the next write (`record`, queued first) starts a new
   * segment whose first record names the break. Returns how it was lost, or undefined.
   */
  checkFile(record: PendingRecord): Promise<AuditRecord> | undefined {
    if (this.lost || !this.head.file || this.flushing) return undefined;
    const how = this.files.check(this.head.file, this.head.size);
    if (how === 'ok') return undefined;
    this.lost = how;
    return new Promise((resolve, reject) => {
      this.queue.unshift({ rec: record, resolve, reject });
      void this.flush();
    });
  }

  /** What of the lost file survives: whole lines that still chain, up to where it was cut. */
  private survivors(how: AuditBreak['how']): AuditBreak {
    const head = this.head;
    const file = head.file!;
    let good = { seq: head.startSeq - 1, hash: head.startHash, bytes: 0 };
    if (how !== 'deleted') {
      let text = '';
      try {
        text = this.files.read(file);
      } catch {
        // gone meanwhile: nothing survives
      }
      let bytes = 0;
      let prev = head.startHash;
      let expected = head.startSeq;
      for (const [i, raw] of text.split('\n').slice(0, -1).entries()) {
        let line: AuditLine;
        try {
          line = JSON.parse(raw) as AuditLine;
        } catch {
          break;
        }
        if (lineHash(line, head.keyed ? this.opts.key : undefined) !== line.hash || line.prev_hash !== prev) break;
        if (i === 0 ? line.type !== 'anchor' || (line as AuditAnchor).file !== file : line.type !== 'record' || line.seq !== expected) break;
        bytes += Buffer.byteLength(raw) + 1;
        prev = line.hash;
        if (i > 0) expected++;
        good = { seq: expected - 1, hash: line.hash, bytes };
      }
    }
    return { file, how, lost_bytes: Math.max(0, head.size - good.bytes), lost_records: head.seq - good.seq, last_good_seq: good.seq, last_good_hash: good.hash };
  }

  /** The file being written (never removed by retention). */
  get currentFile(): string | null {
    return this.head.file;
  }

  get lastSeq(): number {
    return this.head.seq;
  }

  write(rec: PendingRecord): Promise<AuditRecord> {
    return new Promise((resolve, reject) => {
      this.queue.push({ rec, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Resolves when everything queued so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length) await new Promise((r) => setImmediate(r));
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length) {
        const group = this.queue.splice(0);
        const before = { ...this.head };
        let head = { ...this.head };
        let data = '';
        let created: string | null = null;
        const records: AuditRecord[] = [];
        try {
          const now = this.now();
          const key = this.opts.key;
          // The lost file's break is told by the first record of the new segment (checkFile queued it first).
          const lost = this.lost ? this.survivors(this.lost) : undefined;
          if (lost) group[0].rec = { ...group[0].rec, break: lost };
          if (lost || !head.file || !head.file.startsWith(`audit-${dayOf(now)}-`) || head.size >= this.opts.maxFileBytes || head.keyed !== !!key) {
            created = this.nextFileName(head.file, now);
            const anchor: Omit<AuditAnchor, 'hash'> = {
              type: 'anchor',
              seq: head.seq + 1,
              timestamp: new Date(now).toISOString(),
              hub_id: this.opts.hubId,
              file: created,
              prev_file: head.file,
              prev_hash: lost ? lost.last_good_hash : head.hash,
              ...(key ? { mac: 'hmac-sha256' as const } : {}),
            };
            const hash = lineHash(anchor, key);
            data += `${JSON.stringify({ ...anchor, hash })}\n`;
            head = { file: created, size: 0, seq: head.seq, hash, keyed: !!key, startSeq: anchor.seq, startHash: anchor.prev_hash };
          }
          for (const { rec } of group) {
            const seq = head.seq + 1;
            const line = { ...rec, seq, prev_hash: head.hash } as Omit<AuditRecord, 'hash'>;
            const hash = lineHash(line, head.keyed ? key : undefined);
            const full = { ...line, hash } as AuditRecord;
            records.push(full);
            data += `${JSON.stringify(full)}\n`;
            head = { ...head, seq, hash };
          }
          await this.files.append(head.file!, data);
          head.size = (created ? 0 : before.size) + Buffer.byteLength(data);
          this.head = head;
          this.lost = undefined;
          this.failing = false;
          this.stats.written += records.length;
          try {
            this.files.writeMeta('HEAD', formatHead({ file: head.file, seq: head.seq, hash: head.hash }, this.opts.key));
          } catch {
            // HEAD only detects a cut tail; the records themselves are durable.
          }
          group.forEach((g, i) => g.resolve(records[i]));
        } catch (err) {
          // A lost file's break is looked for again at the next check (writes meanwhile count as lost).
          this.lost = undefined;
          this.failing = true;
          this.stats.write_failures += group.length;
          this.undo(before, created);
          const code = (err as NodeJS.ErrnoException).code;
          const error = Object.assign(new Error(`audit write failed: ${code ?? (err as Error).message}`), code ? { code } : {});
          for (const g of group) g.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private undo(before: Head, created: string | null): void {
    try {
      if (created) this.files.remove(created);
      else if (before.file) this.files.truncate(before.file, before.size);
    } catch {
      // Still broken; open() repairs a torn tail at the next start, and the next write retries.
    }
  }

  private nextFileName(prev: string | null, now: number): string {
    const day = dayOf(now);
    const m = prev ? AUDIT_FILE_RE.exec(prev) : null;
    const n = m && m[1] === day ? Number(m[2]) + 1 : 1;
    return `audit-${day}-${String(n).padStart(4, '0')}.jsonl`;
  }
}

function parses(line: string): boolean {
  try {
    const v = JSON.parse(line) as { hash?: unknown };
    return typeof v.hash === 'string';
  } catch {
    return false;
  }
}
