// The on-disk envelope of a sealed file:
//   [8]     SEALED_MAGIC
//   [1024]  header slot A  } [u32 seq][u32 length][u32 crc32][header JSON][zero padding]
//   [1024]  header slot B  } the valid slot with the higher seq is the header
//   ...     records, RecordLog framing, each body = nonce(12) | AES-256-GCM ciphertext | tag(16)
// The header names the purpose, the data key id and the wrapped data key (provider, key id,
// key version). Two slots let `keys rotate` re-wrap the data key in place while a process
// appends to the file: it writes the other slot and fsyncs; a crash mid-write leaves the old
// slot valid. Each record's AAD binds purpose, data key id and record index, so a record moved
// to another file, another position or another purpose fails authentication.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { crc32, isSealed, SEALED_MAGIC, type SealedFile } from '../record-log/index.js';
import { TamperedDataError } from './errors.js';
import type { WrappedDek } from './key-provider.js';

export const SLOT_BYTES = 1024;
export const PREFIX_BYTES = SEALED_MAGIC.length + 2 * SLOT_BYTES;
const SLOT_HEAD = 12;
const NONCE = 12;
const TAG = 16;

export interface EnvelopeHeader extends WrappedDek {
  v: 1;
  alg: 'AES-256-GCM';
  /** What the file is (e.g. "hub/tokens"): bound into every record, checked on read. */
  purpose: string;
  /** Random id of the data key (hex): the in-memory key cache is keyed by it. */
  dek_id: string;
}

export interface ParsedHeader {
  header: EnvelopeHeader;
  /** Seq of the slot it came from, and which slot (0 or 1). */
  seq: number;
  slot: number;
}

export function encodeSlot(header: EnvelopeHeader, seq: number): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  if (json.length > SLOT_BYTES - SLOT_HEAD) throw new Error(`envelope header too large (${json.length} bytes)`);
  const slot = Buffer.alloc(SLOT_BYTES);
  slot.writeUInt32LE(seq >>> 0, 0);
  slot.writeUInt32LE(json.length, 4);
  slot.writeUInt32LE(crc32(json), 8);
  json.copy(slot, SLOT_HEAD);
  return slot;
}

/** A new file's prefix: magic, the header in slot A (seq 1), an empty slot B. */
export function encodePrefix(header: EnvelopeHeader): Buffer {
  return Buffer.concat([SEALED_MAGIC, encodeSlot(header, 1), Buffer.alloc(SLOT_BYTES)]);
}

/** The current header of a sealed file's bytes (at least PREFIX_BYTES of them). */
export function parsePrefix(path: string, data: Uint8Array): ParsedHeader {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!isSealed(buf)) throw new TamperedDataError(`${path}: not a sealed file`);
  if (buf.length < PREFIX_BYTES) throw new TamperedDataError(`${path}: sealed file truncated inside its header`);
  let best: ParsedHeader | undefined;
  for (let slot = 0; slot < 2; slot++) {
    const at = SEALED_MAGIC.length + slot * SLOT_BYTES;
    const seq = buf.readUInt32LE(at);
    const length = buf.readUInt32LE(at + 4);
    if (seq === 0 || length === 0 || length > SLOT_BYTES - SLOT_HEAD) continue;
    const json = buf.subarray(at + SLOT_HEAD, at + SLOT_HEAD + length);
    if (crc32(json) !== buf.readUInt32LE(at + 8)) continue;
    let header: EnvelopeHeader;
    try {
      header = JSON.parse(json.toString('utf8')) as EnvelopeHeader;
    } catch {
      continue;
    }
    if (header?.v !== 1 || typeof header.dek_id !== 'string' || typeof header.purpose !== 'string' || typeof header.wrapped !== 'string') continue;
    if (!best || seq > best.seq) best = { header, seq, slot };
  }
  if (!best) throw new TamperedDataError(`${path}: sealed file has no valid header`);
  return best;
}

/** Reads just the prefix of a file; undefined when the file is not sealed. */
export function readPrefix(path: string): ParsedHeader | undefined {
  const fd = openSync(path, 'r');
  try {
    return readPrefixFd(path, fd);
  } finally {
    closeSync(fd);
  }
}

function readPrefixFd(path: string, fd: number): ParsedHeader | undefined {
  const buf = Buffer.alloc(PREFIX_BYTES);
  const n = readSync(fd, buf, 0, PREFIX_BYTES, 0);
  if (!isSealed(buf.subarray(0, n))) return undefined;
  return parsePrefix(path, buf.subarray(0, n));
}

/**
 * Replaces the header of a sealed file in place: `next` computes the new header from the
 * current one, then it goes to the other slot with seq + 1, fsync'd. Read and write go through
 * one descriptor, so a file replaced meanwhile (a checkpoint rewritten by the running process)
 * is never given the old file's header. Records and appends are untouched (after the prefix).
 * Returns false when the file is not sealed.
 */
export async function rewriteHeader(path: string, next: (current: EnvelopeHeader) => Promise<EnvelopeHeader | undefined>): Promise<boolean> {
  const fd = openSync(path, 'r+');
  try {
    const current = readPrefixFd(path, fd);
    if (!current) return false;
    const header = await next(current.header);
    if (!header) return true;
    const other = 1 - current.slot;
    writeSync(fd, encodeSlot(header, current.seq + 1), 0, SLOT_BYTES, SEALED_MAGIC.length + other * SLOT_BYTES);
    fsyncSync(fd);
    return true;
  } finally {
    closeSync(fd);
  }
}

function aad(purpose: string, dekId: string, index: number): Buffer {
  return Buffer.from(`sfleet-record\0${purpose}\0${dekId}\0${index}`);
}

/**
 * Random nonces drawn from the CSPRNG in blocks: one randomBytes call per record would cost more
 * than sealing a small record. Each nonce is handed out once.
 */
export class NoncePool {
  private block = Buffer.alloc(0);
  private at = 0;

  constructor(private readonly perBlock = 1024) {}

  next(): Buffer {
    if (this.at + NONCE > this.block.length) {
      this.block = randomBytes(NONCE * this.perBlock);
      this.at = 0;
    }
    const nonce = this.block.subarray(this.at, this.at + NONCE);
    this.at += NONCE;
    return nonce;
  }
}

/** Seals and opens the records of one file with its data key. */
export function sealedFile(path: string, header: EnvelopeHeader, dek: Buffer, prefix: Uint8Array, nonces: NoncePool): SealedFile {
  return {
    prefix,
    seal(body: Uint8Array, index: number): Uint8Array {
      // A random nonce per record under a data key that is fresh per file: far below the 2^32
      // records per key where random 96-bit nonces would start to risk a repeat.
      const nonce = nonces.next();
      const cipher = createCipheriv('aes-256-gcm', dek, nonce);
      cipher.setAAD(aad(header.purpose, header.dek_id, index));
      const first = cipher.update(body);
      const last = cipher.final();
      return Buffer.concat([nonce, first, last, cipher.getAuthTag()], NONCE + first.length + last.length + TAG);
    },
    open(body: Uint8Array, index: number): Uint8Array {
      if (body.length < NONCE + TAG) throw new TamperedDataError(`${path}: record ${index} is too short to be sealed`);
      const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      try {
        const decipher = createDecipheriv('aes-256-gcm', dek, buf.subarray(0, NONCE));
        decipher.setAAD(aad(header.purpose, header.dek_id, index));
        decipher.setAuthTag(buf.subarray(buf.length - TAG));
        return Buffer.concat([decipher.update(buf.subarray(NONCE, buf.length - TAG)), decipher.final()]);
      } catch {
        throw new TamperedDataError(`${path}: record ${index} fails authentication (changed, moved or reordered; ${header.purpose}, data key ${header.dek_id.slice(0, 8)})`);
      }
    },
  };
}
