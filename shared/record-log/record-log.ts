// An append-only file of records, each framed as [u32 length][u32 crc32][bytes]. Appends are
// fsync'd before they resolve; a torn tail left by a crash is detected and cut off on open,
// so a record either exists whole or not at all.
// A failed write (ENOSPC) is cut off again at once; when that fails too, or an fsync failed (after
// EIO the kernel may have dropped the pages), the log is `broken`: appends refuse until the owner
// rewrites it from what it holds in memory. rewrite() keeps the old file open until the new one
// is in place, so a rewrite that fails leaves the log as it was.
// With a RecordSealing (shared/crypto AtRest) the file starts with SEALED_MAGIC and a header the
// sealing writes, and each record body is sealed (AES-256-GCM) before it is framed.
import { closeSync, fsync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, writevSync, existsSync, mkdirSync } from 'node:fs';
import { mkdir, open as openFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { checkOpenFile, type FileCheck } from '../durability/index.js';
import { crc32 } from './crc32.js';

const HEADER = 8;
const MAX_RECORD = 512 * 1024 * 1024;

/**
 * First bytes of a sealed (encrypted) file. As a plaintext record length it would be over
 * MAX_RECORD, so a plaintext log can never start like this.
 */
export const SEALED_MAGIC = Buffer.from('SFENC\x00\x01\n', 'latin1');

export function isSealed(data: Uint8Array): boolean {
  return data.length >= SEALED_MAGIC.length && Buffer.from(data.buffer, data.byteOffset, SEALED_MAGIC.length).equals(SEALED_MAGIC);
}

/** How a file's records are sealed: one per file (its data key), made by a RecordSealing. */
export interface SealedFile {
  /** Bytes before the first record (magic + header). */
  readonly prefix: Uint8Array;
  seal(body: Uint8Array, index: number): Uint8Array;
  /** Throws when the record fails authentication: never returns altered bytes. */
  open(body: Uint8Array, index: number): Uint8Array;
}

/** Encryption of a file's records; shared/crypto's AtRest makes these. */
export interface RecordSealing {
  /** A new file (or a full rewrite): a fresh header and data key. */
  create(path: string): SealedFile;
  /** An existing sealed file: its header read from `data`, its data key unwrapped. */
  open(path: string, data: Buffer): SealedFile;
}

export interface RecordLogOptions {
  /** Seal every record; a plaintext file is rewritten sealed when opened. */
  sealing?: RecordSealing;
}

export interface OpenedLog {
  log: RecordLog;
  records: Uint8Array[];
  /** Bytes cut off the end because the last record was incomplete or corrupt. */
  truncatedBytes: number;
}

export class RecordLog {
  private fd: number;
  private size: number;
  /** Records in the file (the index a sealed record's authentication binds). */
  private count: number;
  /** fsyncs running on the thread pool (appendDurable). */
  private syncing = 0;
  /** Descriptors replaced or closed while an fsync on them ran: closed when none runs. */
  private retired: number[] = [];
  /** Why appends refuse until the next rewrite (a write or fsync failed and the tail is unknown). */
  private brokenBy?: Error;

  private constructor(
    readonly path: string,
    fd: number,
    size: number,
    count: number,
    private readonly sealing: RecordSealing | undefined,
    private sealed: SealedFile | undefined,
  ) {
    this.fd = fd;
    this.size = size;
    this.count = count;
  }

  static open(path: string, opts: RecordLogOptions = {}): OpenedLog {
    try {
      return RecordLog.openWritable(path, opts);
    } catch (err) {
      // A full, read-only or failing disk at start: what can be read is returned, and the log
      // is broken (appends refuse) until its owner rewrites it from memory once the disk works.
      if (!DISK_FAULTS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      const data = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
      let records: Uint8Array[] = [];
      if (isSealed(data)) {
        if (opts.sealing) {
          const sealed = opts.sealing.open(path, data);
          records = readRecords(data, sealed.prefix.length).records.map((body, i) => sealed.open(body, i));
        }
      } else records = readRecords(data, 0).records;
      const log = new RecordLog(path, -1, 0, 0, opts.sealing, undefined);
      log.brokenBy = err as Error;
      return { log, records, truncatedBytes: 0 };
    }
  }

  private static openWritable(path: string, opts: RecordLogOptions): OpenedLog {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const data = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
    let sealed: SealedFile | undefined;
    let start = 0;
    if (isSealed(data)) {
      if (!opts.sealing) throw new Error(`${path} is encrypted: enable encryption (with its key) in the config to read it`);
      sealed = opts.sealing.open(path, data);
      start = sealed.prefix.length;
    }
    const { records, end } = readRecords(data, start);
    const plain = sealed ? records.map((body, i) => sealed!.open(body, i)) : records;
    const truncatedBytes = data.length - end;
    if (opts.sealing && !sealed) {
      // New, or written before encryption was enabled: sealed from now on, whole records kept.
      const log = new RecordLog(path, -1, 0, 0, opts.sealing, undefined);
      log.rewrite(plain);
      return { log, records: plain, truncatedBytes };
    }
    const fd = openSync(path, 'a+', 0o600);
    if (truncatedBytes > 0) {
      ftruncateSync(fd, end);
      fsyncSync(fd);
    }
    return { log: new RecordLog(path, fd, end - start, records.length, opts.sealing, sealed), records: plain, truncatedBytes };
  }

  /** Bytes of the framed records (a sealed file's header not counted). */
  get bytes(): number {
    return this.size;
  }

  /** Set when a write or fsync failed in a way only a rewrite repairs. */
  get broken(): Error | undefined {
    return this.brokenBy;
  }

  /** Whether the file at the path is still the one we write, whole (deleted, replaced, truncated). */
  check(): FileCheck {
    if (this.fd < 0) return 'ok';
    return checkOpenFile(this.fd, this.path, (this.sealed?.prefix.length ?? 0) + this.size);
  }

  /** Appends and fsyncs a batch; durable when this returns. */
  append(...bodies: Uint8Array[]): void {
    if (bodies.length === 0) return;
    this.write(bodies);
    try {
      fsyncSync(this.fd);
    } catch (err) {
      this.breakOn(err as Error);
      throw err;
    }
  }

  /**
   * Appends a batch now and fsyncs it on the thread pool: durable when the promise resolves.
   * The event loop goes on meanwhile (the hub keeps answering queries during a slow disk flush),
   * and what arrives in the meantime can share the next fsync. Appends keep their order.
   */
  appendDurable(...bodies: Uint8Array[]): Promise<void> {
    if (bodies.length === 0) return Promise.resolve();
    this.write(bodies);
    const fd = this.fd;
    this.syncing++;
    return new Promise((resolve, reject) => {
      fsync(fd, (err) => {
        this.syncing--;
        if (this.syncing === 0) this.closeRetired();
        if (err) {
          if (fd === this.fd) this.breakOn(err);
          reject(err);
        } else resolve();
      });
    });
  }

  private breakOn(err: Error): void {
    this.brokenBy ??= err;
  }

  private write(plain: Uint8Array[]): void {
    if (this.brokenBy) {
      const err = new Error(`${this.path} needs a rewrite after a failed write (${this.brokenBy.message})`);
      (err as NodeJS.ErrnoException).code = (this.brokenBy as NodeJS.ErrnoException).code ?? 'EIO';
      throw err;
    }
    const bodies = this.sealed ? plain.map((body, i) => this.sealed!.seal(body, this.count + i)) : plain;
    try {
      this.writeFramed(bodies);
    } catch (err) {
      // Cut what part of the batch reached the file, so the next append follows a whole record.
      try {
        ftruncateSync(this.fd, (this.sealed?.prefix.length ?? 0) + this.size);
      } catch {
        this.breakOn(err as Error);
      }
      throw err;
    }
    this.count += bodies.length;
  }

  private writeFramed(bodies: Uint8Array[]): void {
    // Headers in one small buffer; the bodies are written from where they are (writev), not
    // copied into one big buffer first.
    const headers = Buffer.allocUnsafe(HEADER * bodies.length);
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < bodies.length; i++) {
      const body = bodies[i];
      headers.writeUInt32LE(body.length, i * HEADER);
      headers.writeUInt32LE(crc32(body), i * HEADER + 4);
      parts.push(headers.subarray(i * HEADER, (i + 1) * HEADER), body);
      total += HEADER + body.length;
    }
    let written = 0;
    let expected = 0;
    for (let i = 0; i < parts.length; i += IOV_MAX) {
      const chunk = parts.slice(i, i + IOV_MAX);
      for (const part of chunk) expected += part.length;
      written += writevSync(this.fd, chunk);
      if (written < expected) break;
    }
    if (written < total) {
      // A short write (rare: a signal, a full disk): finish from one contiguous copy.
      const all = Buffer.concat(parts as Uint8Array[], total);
      while (written < total) written += writeSync(this.fd, all, written, total - written);
    }
    this.size += total;
  }

  /** Replaces the whole file atomically (write temp, fsync, rename). */
  rewrite(plain: Uint8Array[]): void {
    // A sealed rewrite is a new file: a fresh data key, record indexes from 0.
    const sealed = this.sealing?.create(this.path);
    const bodies = sealed ? plain.map((body, i) => sealed.seal(body, i)) : plain;
    const framed = frame(bodies);
    const data = sealed ? Buffer.concat([sealed.prefix, framed]) : framed;
    writeAtomically(this.path, data);
    const fd = openSync(this.path, 'a+', 0o600);
    if (this.fd >= 0) this.release(this.fd);
    this.fd = fd;
    this.sealed = sealed;
    this.size = framed.length;
    this.count = bodies.length;
    this.brokenBy = undefined;
  }

  close(): void {
    if (this.fd < 0) return;
    this.release(this.fd);
    this.fd = -1;
  }

  /** Closes a descriptor, or keeps it open until no fsync runs on it (its number must not be reused meanwhile). */
  private release(fd: number): void {
    if (this.syncing > 0) this.retired.push(fd);
    else closeSync(fd);
  }

  private closeRetired(): void {
    for (const fd of this.retired) closeSync(fd);
    this.retired = [];
  }
}

/** Errors of the disk rather than of the file: a log opened under them starts broken instead of failing. */
const DISK_FAULTS = new Set(['ENOSPC', 'EROFS', 'EIO', 'EDQUOT']);

/** Most iovecs one writev takes (Linux IOV_MAX). */
const IOV_MAX = 1024;

/** The whole records from `start` on, and where the last whole one ends. */
export function readRecords(data: Buffer, start: number): { records: Uint8Array[]; end: number } {
  const records: Uint8Array[] = [];
  let offset = start;
  while (offset + HEADER <= data.length) {
    const length = data.readUInt32LE(offset);
    const sum = data.readUInt32LE(offset + 4);
    if (length > MAX_RECORD || offset + HEADER + length > data.length) break;
    const body = data.subarray(offset + HEADER, offset + HEADER + length);
    if (crc32(body) !== sum) break;
    records.push(body);
    offset += HEADER + length;
  }
  return { records, end: offset };
}

export function frame(bodies: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const body of bodies) {
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32LE(body.length, 0);
    header.writeUInt32LE(crc32(body), 4);
    parts.push(header, Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  }
  return Buffer.concat(parts);
}

/**
 * writeAtomically off the main thread (libuv's fs threads): for files written often on a
 * request's path. One call per path at a time (the temp file's name is per process).
 */
export async function writeAtomicallyAsync(path: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const file = await openFile(tmp, 'w', 0o600);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dir = await openFile(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Write to a temp file, fsync it, rename over the target, fsync the directory. */
export function writeAtomically(path: string, data: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    try {
      let written = 0;
      while (written < data.length) written += writeSync(fd, data, written, data.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    // A half-written temp file would hold the space a full disk needs to recover.
    try {
      unlinkSync(tmp);
    } catch {
      // gone already, or the filesystem is read-only: nothing more to free
    }
    throw err;
  }
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
