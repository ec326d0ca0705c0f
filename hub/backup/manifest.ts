// A backup is a set of objects and one manifest, written last: a backup without its manifest is
// incomplete and is never listed, verified or restored as one. Every object is sealed with
// AES-256-GCM under the backup's own random data key; the data key is wrapped by a key provider
// (the same providers as encryption at rest: file keyring, env, Vault transit) and kept in the
// manifest. The AAD of an object binds the backup id and the object's name, so an object moved
// to another name or another backup fails. The manifest lists each object's SHA-256 before and
// after sealing, and is itself authenticated: its body's SHA-256 sealed under the data key.
import { createCipheriv, createDecipheriv, createHash, randomBytes, type DecipherGCM } from 'node:crypto';
import type { KeyProvider, WrappedDek } from '../../shared/crypto/index.js';
import { BackupCorruptError, BackupKeyError } from './errors.js';

export const FORMAT = 'sfleet-backup/1' as const;
const NONCE = 12;
const TAG = 16;

export type ObjectKind =
  /** The hub configuration as exported (secrets redacted, ${VAR} references kept). */
  | 'config'
  /** A plain file of the data directory, byte for byte. */
  | 'file'
  /** A sealed file of the data directory, opened: its records (framed), to be sealed again under the restoring hub's key. */
  | 'records'
  /** A hub group's durable etcd keys (etcd-state.ts): JSON, sealed values opened, sealed again on restore. */
  | 'etcd'
  /** A hub group's durable Redis keys (redis-state.ts): JSON. */
  | 'redis';

export interface ManifestObject {
  /** Where it goes back: "data/<path in data_dir>", "audit/<path in the audit dir>", "config/hub.yaml", "hubs/<hub_id>/audit/<path>" (another hub's chain). */
  name: string;
  kind: ObjectKind;
  /** records: the purpose it was sealed for (bound into the restored file). */
  purpose?: string;
  size: number;
  sha256: string;
  stored_size: number;
  stored_sha256: string;
}

export interface Manifest {
  format: typeof FORMAT;
  id: string;
  created_at: string;
  hub_id: string;
  region: string;
  /** The restore epoch of the hub that wrote it (pitr/epoch.ts); absent: a hub never restored. */
  epoch?: string;
  key: WrappedDek & { dek_id: string };
  objects: ManifestObject[];
  /** base64(nonce | GCM(sha256(body without auth)) | tag). */
  auth: string;
}

/** The stored size of an object of `size` bytes: its nonce and tag added. */
export const sealedSize = (size: number): number => NONCE + size + TAG;

export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** A new backup id: sortable by time ("20261206T194200Z-3f9a1c"). */
export function newBackupId(now: number): string {
  return `${new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')}-${randomBytes(3).toString('hex')}`;
}

export function isBackupId(id: string): boolean {
  return /^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(id);
}

function aad(id: string, name: string): Buffer {
  return Buffer.from(`sfleet-backup\0${id}\0${name}`);
}

function seal(dek: Buffer, additional: Buffer, plain: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', dek, nonce);
  cipher.setAAD(additional);
  return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function open(dek: Buffer, additional: Buffer, sealed: Uint8Array, what: string): Buffer {
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (buf.length < NONCE + TAG) throw new BackupCorruptError(`${what} is truncated (${buf.length} bytes)`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', dek, buf.subarray(0, NONCE));
    decipher.setAAD(additional);
    decipher.setAuthTag(buf.subarray(buf.length - TAG));
    return Buffer.concat([decipher.update(buf.subarray(NONCE, buf.length - TAG)), decipher.final()]);
  } catch {
    throw new BackupCorruptError(`${what} fails authentication (changed, truncated or moved)`);
  }
}

/** The writing side of one backup: its data key and the objects sealed so far. */
export class ManifestWriter {
  readonly objects: ManifestObject[] = [];

  private constructor(
    readonly id: string,
    private readonly dek: Buffer,
    private readonly key: Manifest['key'],
  ) {}

  static async start(id: string, provider: KeyProvider): Promise<ManifestWriter> {
    const dek = randomBytes(32);
    const dekId = `backup-${id}`;
    let wrapped: WrappedDek;
    try {
      wrapped = await provider.wrap(dek, dekId);
    } catch (err) {
      throw new BackupKeyError(`the backup key could not be wrapped with ${provider.kind} key ${provider.keyId}: ${(err as Error).message}`);
    }
    return new ManifestWriter(id, dek, { ...wrapped, dek_id: dekId });
  }

  /** Seals one object; returns the bytes to store under objectKey(id, index). */
  add(name: string, kind: ObjectKind, plain: Uint8Array, purpose?: string): Buffer {
    const stored = seal(this.dek, aad(this.id, name), plain);
    this.objects.push({ name, kind, ...(purpose ? { purpose } : {}), size: plain.length, sha256: sha256(plain), stored_size: stored.length, stored_sha256: sha256(stored) });
    return stored;
  }

  /**
   * Seals one object read as chunks (a large file streamed from disk), handing each sealed chunk
   * to `out` as it is made: the object is never whole in memory. Same format as add().
   */
  async addStream(name: string, kind: ObjectKind, chunks: AsyncIterable<Buffer>, out: (sealed: Buffer) => Promise<void>, purpose?: string): Promise<number> {
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.dek, nonce);
    cipher.setAAD(aad(this.id, name));
    const plainHash = createHash('sha256');
    const storedHash = createHash('sha256');
    let size = 0;
    let stored = 0;
    const emit = async (b: Buffer): Promise<void> => {
      if (!b.length) return;
      storedHash.update(b);
      stored += b.length;
      await out(b);
    };
    await emit(nonce);
    for await (const c of chunks) {
      plainHash.update(c);
      size += c.length;
      await emit(cipher.update(c));
    }
    await emit(Buffer.concat([cipher.final(), cipher.getAuthTag()]));
    this.objects.push({ name, kind, ...(purpose ? { purpose } : {}), size, sha256: plainHash.digest('hex'), stored_size: stored, stored_sha256: storedHash.digest('hex') });
    return stored;
  }

  finish(meta: { created_at: string; hub_id: string; region: string; epoch?: string }): Manifest {
    const body: Omit<Manifest, 'auth'> = { format: FORMAT, id: this.id, ...meta, key: this.key, objects: this.objects };
    return { ...body, auth: seal(this.dek, aad(this.id, 'manifest'), Buffer.from(sha256(canonical(body)), 'hex')).toString('base64') };
  }
}

function canonical(body: Omit<Manifest, 'auth'>): Buffer {
  return Buffer.from(JSON.stringify(body));
}

/** Parses a stored manifest (shape only; `ManifestReader.open` authenticates it). */
export function parseManifest(text: string, where: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new BackupCorruptError(`${where}: the manifest is not JSON (truncated or changed)`);
  }
  if (m?.format !== FORMAT || typeof m.id !== 'string' || !Array.isArray(m.objects) || typeof m.auth !== 'string' || typeof m.key?.wrapped !== 'string') {
    throw new BackupCorruptError(`${where}: not a ${FORMAT} manifest`);
  }
  return m;
}

/** The reading side: the unwrapped data key, the authenticated manifest, and object checks. */
export class ManifestReader {
  private constructor(
    readonly manifest: Manifest,
    private readonly dek: Buffer,
  ) {}

  static async open(manifest: Manifest, provider: KeyProvider): Promise<ManifestReader> {
    let dek: Buffer;
    try {
      dek = await provider.unwrap(manifest.key, manifest.key.dek_id);
    } catch (err) {
      throw new BackupKeyError(`backup ${manifest.id} was encrypted with ${manifest.key.provider} key ${manifest.key.key_id} v${manifest.key.key_version}, which the configured ${provider.kind} key ${provider.keyId} cannot open: ${(err as Error).message}`);
    }
    const { auth, ...body } = manifest;
    const expected = open(dek, aad(manifest.id, 'manifest'), Buffer.from(auth, 'base64'), `backup ${manifest.id}: the manifest`);
    if (!expected.equals(Buffer.from(sha256(canonical(body)), 'hex'))) throw new BackupCorruptError(`backup ${manifest.id}: the manifest was changed after it was written`);
    return new ManifestReader(manifest, dek);
  }

  /**
   * Checks object `index` while streaming it: its size, both checksums and the GCM tag, handing
   * each plaintext chunk to `out` as it is decrypted. What `out` gets is unchecked until this
   * resolves: it must keep it from view (a temp file, renamed after) and drop it on a throw.
   */
  openStream(index: number, stored: StoredObject | undefined, out: (plain: Buffer) => void | Promise<void>): Promise<void> {
    return openStream(this.dek, this.manifest, index, stored, out);
  }

  /** The plaintext of object `index`, after checking both checksums; throws BackupCorruptError naming it. */
  openObject(index: number, stored: Uint8Array | undefined): Buffer {
    const o = this.manifest.objects[index];
    const what = `backup ${this.manifest.id}: object ${o.name}`;
    if (!stored) throw new BackupCorruptError(`${what} is missing`);
    if (stored.length !== o.stored_size) throw new BackupCorruptError(`${what} is ${stored.length < o.stored_size ? 'truncated' : 'longer than written'} (${stored.length} of ${o.stored_size} bytes)`);
    if (sha256(stored) !== o.stored_sha256) throw new BackupCorruptError(`${what} does not match its checksum (sha256)`);
    const plain = open(this.dek, aad(this.manifest.id, o.name), stored, what);
    if (sha256(plain) !== o.sha256) throw new BackupCorruptError(`${what}: the content does not match its checksum`);
    return plain;
  }
}

/** A stored object read as a stream: its size (as the destination reports it) and its bytes. */
export interface StoredObject {
  size: number;
  chunks: AsyncIterable<Buffer>;
  /** Closes the source without reading it (a file, a bucket's response). */
  close?: () => void;
}

/** ManifestReader.openStream: the data key and manifest are its own. */
async function openStream(dek: Buffer, manifest: Manifest, index: number, stored: StoredObject | undefined, out: (plain: Buffer) => void | Promise<void>): Promise<void> {
  const o = manifest.objects[index];
  const what = `backup ${manifest.id}: object ${o.name}`;
  if (!stored) throw new BackupCorruptError(`${what} is missing`);
  const sizeWrong = (n: number): BackupCorruptError => new BackupCorruptError(`${what} is ${n < o.stored_size ? 'truncated' : 'longer than written'} (${n} of ${o.stored_size} bytes)`);
  // Refused before reading: the stream (a file, an S3 socket) is closed, not left open.
  const refuse = (err: BackupCorruptError): never => {
    stored.close?.();
    throw err;
  };
  if (stored.size !== o.stored_size) return refuse(sizeWrong(stored.size));
  if (o.stored_size < NONCE + TAG) return refuse(new BackupCorruptError(`${what} is truncated (${o.stored_size} bytes)`));
  // Layout: nonce | ciphertext | tag; the manifest's stored_size says where the tag starts.
  const tagAt = o.stored_size - TAG;
  const storedHash = createHash('sha256');
  const plainHash = createHash('sha256');
  const head: Buffer[] = [];
  const tail: Buffer[] = [];
  let decipher: DecipherGCM | undefined;
  let at = 0;
  const emit = async (plain: Buffer): Promise<void> => {
    if (!plain.length) return;
    plainHash.update(plain);
    await out(plain);
  };
  for await (const chunk of stored.chunks) {
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    if (at + c.length > o.stored_size) throw sizeWrong(at + c.length);
    storedHash.update(c);
    const end = at + c.length;
    if (at < NONCE) head.push(c.subarray(0, NONCE - at));
    if (!decipher && end >= NONCE) {
      decipher = createDecipheriv('aes-256-gcm', dek, Buffer.concat(head));
      decipher.setAAD(aad(manifest.id, o.name));
    }
    const cipherFrom = Math.max(at, NONCE);
    const cipherTo = Math.min(end, tagAt);
    if (decipher && cipherTo > cipherFrom) await emit(decipher.update(c.subarray(cipherFrom - at, cipherTo - at)));
    if (end > tagAt) tail.push(c.subarray(Math.max(0, tagAt - at)));
    at = end;
  }
  if (at !== o.stored_size) throw sizeWrong(at);
  if (storedHash.digest('hex') !== o.stored_sha256) throw new BackupCorruptError(`${what} does not match its checksum (sha256)`);
  let last: Buffer;
  try {
    decipher!.setAuthTag(Buffer.concat(tail));
    last = decipher!.final();
  } catch {
    throw new BackupCorruptError(`${what} fails authentication (changed, truncated or moved)`);
  }
  await emit(last);
  if (plainHash.digest('hex') !== o.sha256) throw new BackupCorruptError(`${what}: the content does not match its checksum`);
}

export function objectKey(id: string, index: number): string {
  return `${id}/objects/${String(index).padStart(5, '0')}`;
}

export function manifestKey(id: string): string {
  return `${id}/manifest.json`;
}
