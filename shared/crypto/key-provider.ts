// Key-encryption keys (KEKs): a provider wraps and unwraps the random data keys (DEKs) that seal
// each file. The DEK is what encrypts data; the KEK never touches bulk data, so rotating it only
// re-wraps the small DEKs in file headers.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KeyUnavailableError } from './errors.js';

export type ProviderKind = 'file' | 'env' | 'vault';

/** A DEK as stored in a file header: which key wrapped it, and the wrapped bytes. */
export interface WrappedDek {
  provider: ProviderKind;
  /** Keyring id (file), variable name (env), mount/key (vault). */
  key_id: string;
  key_version: number;
  /** base64(nonce | ciphertext | tag) for local keys; Vault's "vault:vN:..." ciphertext. */
  wrapped: string;
}

export interface KeyProvider {
  readonly kind: ProviderKind;
  readonly keyId: string;
  /** Wraps under the newest KEK version. `dekId` is bound into the wrapping where the provider can. */
  wrap(dek: Buffer, dekId: string): Promise<WrappedDek>;
  unwrap(w: WrappedDek, dekId: string): Promise<Buffer>;
  /** The same DEK under the newest KEK version. */
  rewrap(w: WrappedDek, dekId: string): Promise<WrappedDek>;
  /** Creates a new KEK version where the provider can; returns the newest version. */
  rotate(): Promise<{ version: number; created: boolean }>;
  /** Local keys only: the same without I/O, for the synchronous write path. */
  readonly local?: {
    wrap(dek: Buffer, dekId: string): WrappedDek;
    unwrap(w: WrappedDek, dekId: string): Buffer;
    /** The newest KEK version now (a keyring changed on disk is re-read). */
    version(): number;
  };
}

const NONCE = 12;
const TAG = 16;

/** AES-256-GCM wrapping with versioned local keys (the file and env providers). */
export abstract class LocalKeyProvider implements KeyProvider {
  abstract readonly kind: 'file' | 'env';
  abstract readonly keyId: string;
  /** The versions known now (a provider may reload them). */
  protected abstract versions(): Map<number, Buffer>;
  /** Called when a needed version is missing: reload from the source, if it can change. */
  protected reload(): void {}

  readonly local = {
    wrap: (dek: Buffer, dekId: string): WrappedDek => this.wrapSync(dek, dekId),
    unwrap: (w: WrappedDek, dekId: string): Buffer => this.unwrapSync(w, dekId),
    version: (): number => this.newest(),
  };

  protected newest(): number {
    return Math.max(0, ...this.versions().keys());
  }

  private wrapSync(dek: Buffer, dekId: string): WrappedDek {
    const version = this.newest();
    const kek = this.versions().get(version);
    if (!kek) throw new KeyUnavailableError(`${this.kind} key ${this.keyId} has no key version`);
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', kek, nonce);
    cipher.setAAD(wrapAad(dekId));
    const body = Buffer.concat([cipher.update(dek), cipher.final()]);
    return { provider: this.kind, key_id: this.keyId, key_version: version, wrapped: Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64') };
  }

  private unwrapSync(w: WrappedDek, dekId: string): Buffer {
    if (w.provider !== this.kind || w.key_id !== this.keyId) {
      throw new KeyUnavailableError(`sealed with ${w.provider} key ${w.key_id} v${w.key_version}, but the configured key is ${this.kind} key ${this.keyId}`);
    }
    let kek = this.versions().get(w.key_version);
    if (!kek) {
      this.reload();
      kek = this.versions().get(w.key_version);
    }
    if (!kek) throw new KeyUnavailableError(`${this.kind} key ${this.keyId} has no version ${w.key_version} (it has ${[...this.versions().keys()].map((v) => `v${v}`).join(', ') || 'none'})`);
    const raw = Buffer.from(w.wrapped, 'base64');
    if (raw.length !== NONCE + 32 + TAG) throw new KeyUnavailableError(`the wrapped data key is malformed (${this.kind} key ${this.keyId} v${w.key_version})`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', kek, raw.subarray(0, NONCE));
      decipher.setAAD(wrapAad(dekId));
      decipher.setAuthTag(raw.subarray(raw.length - TAG));
      return Buffer.concat([decipher.update(raw.subarray(NONCE, raw.length - TAG)), decipher.final()]);
    } catch {
      throw new KeyUnavailableError(`${this.kind} key ${this.keyId} v${w.key_version} does not open the data key: a different key with the same id, or a changed header`);
    }
  }

  wrap(dek: Buffer, dekId: string): Promise<WrappedDek> {
    return Promise.resolve().then(() => this.wrapSync(dek, dekId));
  }

  unwrap(w: WrappedDek, dekId: string): Promise<Buffer> {
    return Promise.resolve().then(() => this.unwrapSync(w, dekId));
  }

  async rewrap(w: WrappedDek, dekId: string): Promise<WrappedDek> {
    this.reload();
    return this.wrapSync(this.unwrapSync(w, dekId), dekId);
  }

  abstract rotate(): Promise<{ version: number; created: boolean }>;
}

function wrapAad(dekId: string): Buffer {
  return Buffer.from(`sfleet-dek\0${dekId}`);
}

/** A 32-byte key from base64 text, or an error that says where it came from (never the value). */
export function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32 || !/^[A-Za-z0-9+/=_-]+$/.test(text.trim())) {
    throw new KeyUnavailableError(`${where}: expected a base64 256-bit key (32 bytes), got ${key.length} bytes`);
  }
  return key;
}
