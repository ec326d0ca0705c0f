// Every byte the audit log reads or writes goes through here, so encryption at rest (or any
// other storage) can replace this one class. Files are named audit-YYYYMMDD-NNNN.jsonl: the
// UTC day they were opened and a counter, so name order is chain order.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, ftruncateSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { checkOpenFile, type FileCheck } from '../../shared/durability/index.js';

export const AUDIT_FILE_RE = /^audit-(\d{8})-(\d{4})\.jsonl$/;

export interface AuditFiles {
  readonly dir: string;
  /** Audit file names in chain order. */
  list(): string[];
  read(name: string): string;
  /**
   * The file's lines in order without their newlines (a last line without one too), read a chunk
   * at a time: a busy hub's day of audit can be hundreds of MB, and an export or query must not
   * hold it whole.
   */
  lines(name: string): Generator<string>;
  /** The first `n` lines (fewer if the file has fewer), read from the file's start only. */
  firstLines(name: string, n: number): string[];
  size(name: string): number;
  /** Appends and makes durable (fdatasync) before resolving. */
  append(name: string, data: string): Promise<void>;
  truncate(name: string, size: number): void;
  remove(name: string): void;
  /** Whether the file at `name` is still the one written, whole (`size` bytes): deleted, replaced or truncated under the hub. */
  check(name: string, size: number): FileCheck;
  /** Small state files beside the chain: HEAD (last seq and hash, see verify.ts), shipping cursors. */
  readMeta(name: 'HEAD' | `ship-${string}.cursor`): string | undefined;
  /** Replaced atomically (rename), not fsync'd: after a crash it may lag, never lead. */
  writeMeta(name: 'HEAD' | `ship-${string}.cursor`, text: string): void;
  close(): Promise<void>;
}

export class NodeAuditFiles implements AuditFiles {
  private handle?: { name: string; fh: FileHandle };

  constructor(readonly dir: string) {}

  ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  list(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).filter((f) => AUDIT_FILE_RE.test(f)).sort();
  }

  read(name: string): string {
    return readFileSync(join(this.dir, name), 'utf8');
  }

  *lines(name: string): Generator<string> {
    const path = join(this.dir, name);
    const decoder = new StringDecoder('utf8');
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    let position = 0;
    let rest = '';
    for (;;) {
      // Opened per chunk: a consumer that stops without finishing the generator leaks no descriptor.
      const n = readChunk(path, buf, position);
      if (n === 0) break;
      position += n;
      const parts = (rest + decoder.write(buf.subarray(0, n))).split('\n');
      rest = parts.pop()!;
      yield* parts;
    }
    rest += decoder.end();
    if (rest) yield rest;
  }

  firstLines(name: string, n: number): string[] {
    const out: string[] = [];
    for (const line of this.lines(name)) {
      out.push(line);
      if (out.length === n) break;
    }
    return out;
  }

  size(name: string): number {
    return statSync(join(this.dir, name)).size;
  }

  async append(name: string, data: string): Promise<void> {
    if (this.handle?.name !== name) {
      await this.handle?.fh.close();
      this.handle = undefined;
      const fh = await open(join(this.dir, name), 'a', 0o600);
      this.handle = { name, fh };
      // A new file's directory entry must survive a crash too.
      syncDir(this.dir);
    }
    try {
      await this.handle.fh.appendFile(data, 'utf8');
      await this.handle.fh.datasync();
    } catch (err) {
      // Reopen on the next write: the caller cuts the partial bytes off (or removes a new file).
      await this.handle.fh.close().catch(() => undefined);
      this.handle = undefined;
      throw err;
    }
  }

  check(name: string, size: number): FileCheck {
    if (this.handle?.name === name) return checkOpenFile(this.handle.fh.fd, join(this.dir, name), size);
    try {
      return statSync(join(this.dir, name)).size < size ? 'truncated' : 'ok';
    } catch {
      return 'deleted';
    }
  }

  truncate(name: string, size: number): void {
    const fd = openSync(join(this.dir, name), 'r+');
    try {
      ftruncateSync(fd, size);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  remove(name: string): void {
    if (this.handle?.name === name) throw new Error(`refusing to remove the file being written (${name})`);
    rmSync(join(this.dir, name), { force: true });
  }

  readMeta(name: string): string | undefined {
    const file = join(this.dir, name);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  writeMeta(name: string, text: string): void {
    const tmp = join(this.dir, `${name}.tmp`);
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, join(this.dir, name));
  }

  async close(): Promise<void> {
    await this.handle?.fh.close();
    this.handle = undefined;
  }
}

const READ_CHUNK = 1 << 20;

function readChunk(path: string, buf: Buffer, position: number): number {
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, buf, 0, buf.length, position);
  } finally {
    closeSync(fd);
  }
}

/** fsync a directory so a created, renamed or removed entry in it is durable. */
export function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems cannot fsync a directory; the file's own fsync still holds its bytes.
  }
}
