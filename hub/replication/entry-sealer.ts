// The replicated deltas and snapshots hold the fleet's job data; with redis.encrypt_replication
// they are sealed in Redis under the encryption-at-rest key. Each hub seals with a data key of
// its own (random 256-bit, AES-256-GCM), kept wrapped by the at-rest key in one Redis hash
// (<prefix>:<region>:data-keys, field = key id) so every hub of the group can open it; each
// entry names its key id (field k), so nothing needs the order in which keys were made.
//
// Rotation: when the at-rest key gets a new version (`sfleet keys rotate`, or the leader's
// schedule), the next entry is sealed with a new data key wrapped under that version; entries
// and snapshots sealed before keep their key id; their records are re-wrapped to the new version
// by every hub's KeyRewrap (data-key-records.ts), so they open after the old version is retired.
// Entries with no k (written before encryption was on, or by a hub with it off) are read as is.
// The key records are small (one per hub and rotation) and never expire: a snapshot of a quiet
// cluster may still be sealed with an old key.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../../shared/clock/index.js';
import type { AtRest, WrappedDek } from '../../shared/crypto/index.js';

const NONCE = 12;
const TAG = 16;
/** How often the sealer looks whether the at-rest key has a new version (a stat of the keyring). */
const VERSION_CHECK_MS = 2_000;
/** Random 96-bit nonces: a data key seals far fewer records than 2^32. */
const MAX_RECORDS = 2 ** 28;

export interface SealedField {
  /** The data key id (field k). */
  k: string;
  /** nonce | ciphertext | tag (field d). */
  d: Buffer;
}

interface CurrentKey {
  id: string;
  dek: Buffer;
  wrapped: string;
  /** The at-rest key version that wrapped it (undefined with Vault). */
  version: number | undefined;
  records: number;
  /** The key record is in Redis (HSETNX answered). */
  stored: boolean;
}

export class ReplicationSealer {
  readonly stats = { sealed: 0, opened: 0, keys: 0 };
  private current?: CurrentKey;
  private checkedAt = 0;
  private readonly opened = new Map<string, Buffer>();

  constructor(
    private readonly deps: {
      atRest: AtRest;
      redis: Redis;
      /** The hash of wrapped data keys. */
      dataKeys: string;
      /** Sealing on (redis.encrypt_replication); off, the sealer only opens. */
      seal: boolean;
      clock: Clock;
    },
  ) {}

  get sealing(): boolean {
    return this.deps.seal && this.deps.atRest.enabled;
  }

  /**
   * Seals one entry's payload; `bind` (stream or snapshot key, type, cluster) is authenticated
   * with it, so an entry copied under another cluster does not open. Undefined when sealing is off.
   * The key's record is sent to Redis on the same connection before the entry that first uses it.
   */
  seal(bind: string, data: Uint8Array): SealedField | undefined {
    if (!this.sealing) return undefined;
    const key = this.key();
    if (!key.stored) {
      // HSETNX: a retry never puts back the old wrapping over a record a rotation moved since.
      this.deps.redis.hsetnx(this.deps.dataKeys, key.id, key.wrapped).then(
        () => (key.stored = true),
        () => undefined, // sent again with the next entry
      );
    }
    key.records++;
    this.stats.sealed++;
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', key.dek, nonce);
    cipher.setAAD(aad(bind, key.id));
    return { k: key.id, d: Buffer.concat([nonce, cipher.update(data), cipher.final(), cipher.getAuthTag()]) };
  }

  /** Makes the data keys of these ids ready for open() (one HMGET, then the key provider). */
  async load(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.opened.has(id));
    if (missing.length === 0) return;
    const records = await this.deps.redis.hmget(this.deps.dataKeys, ...missing);
    await Promise.all(
      missing.map(async (id, i) => {
        const record = records[i];
        if (!record) return; // open() says so
        try {
          // A damaged record is like a missing one: its entries are gaps, never a stalled loop.
          this.opened.set(id, await this.deps.atRest.openDataKey(JSON.parse(record) as WrappedDek, id));
        } catch {
          // open() names the key and the version it needs
        }
      }),
    );
  }

  /** The payload of a sealed entry; throws (no secret in the message) when it cannot be opened. */
  open(bind: string, field: SealedField): Buffer {
    const dek = this.opened.get(field.k);
    if (!dek) throw new Error(`sealed with data key ${field.k.slice(0, 8)}, which this hub cannot open (${this.deps.atRest.enabled ? 'its record is missing or the at-rest key version that wrapped it is not in this keyring' : 'this hub has no encryption at rest'})`);
    if (field.d.length < NONCE + TAG) throw new Error('sealed entry is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', dek, field.d.subarray(0, NONCE));
      decipher.setAAD(aad(bind, field.k));
      decipher.setAuthTag(field.d.subarray(field.d.length - TAG));
      const out = Buffer.concat([decipher.update(field.d.subarray(NONCE, field.d.length - TAG)), decipher.final()]);
      this.stats.opened++;
      return out;
    } catch {
      throw new Error(`sealed entry does not authenticate under data key ${field.k.slice(0, 8)} (changed, or moved from another cluster)`);
    }
  }

  /** The next entry is sealed with a new data key. */
  rotate(): void {
    this.current = undefined;
  }

  private key(): CurrentKey {
    const now = this.deps.clock.now();
    if (this.current && now - this.checkedAt >= VERSION_CHECK_MS) {
      this.checkedAt = now;
      if (this.deps.atRest.keyVersion() !== this.current.version) this.current = undefined;
    }
    if (this.current && this.current.records < MAX_RECORDS) return this.current;
    const { dekId, dek, wrapped } = this.deps.atRest.newDataKey('replication stream');
    this.opened.set(dekId, dek);
    this.checkedAt = now;
    this.stats.keys++;
    this.current = { id: dekId, dek, wrapped: JSON.stringify(wrapped), version: this.deps.atRest.keyVersion(), records: 0, stored: false };
    return this.current;
  }
}

function aad(bind: string, keyId: string): Buffer {
  return Buffer.from(`sfleet-replication\0${bind}\0${keyId}`);
}

/** What a stream entry's seal is bound to. */
export const streamBind = (stream: string, type: string, cluster: string): string => `${stream}\0${type}\0${cluster}`;
/** What a cluster snapshot's seal is bound to. */
export const snapshotBind = (snapshotKey: string): string => snapshotKey;
