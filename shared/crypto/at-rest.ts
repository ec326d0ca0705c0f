// Encryption at rest: the one object a store needs to keep its files sealed. Each file gets a
// random 256-bit data key (DEK) wrapped by the configured key provider (file, env or Vault) and
// stored in the file's header; data is sealed with AES-256-GCM under the DEK.
//
//   const data = atRest.readFile(path, 'hub/users');      // plaintext from before: read as is
//   atRest.writeFile(path, 'hub/users', bytes);            // atomic, sealed
//   RecordLog.open(path, { sealing: atRest.sealing('hub/audit') });
//
// Unwrapped DEKs are kept in memory for the process lifetime, keyed by DEK id: a key service is
// called once per data key (preload at start), never per record. Writes stay synchronous: local
// keys wrap at once; with Vault a wrapped spare DEK is prepared ahead.
// AtRest.plaintext() (encryption off) reads and writes plain files and refuses sealed ones with
// a clear error.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logging/index.js';
import { frame, isSealed, readRecords, writeAtomically, type RecordSealing, type SealedFile, writeAtomicallyAsync } from '../record-log/index.js';
import type { EncryptionConfig } from './config.js';
import { encodePrefix, NoncePool, parsePrefix, PREFIX_BYTES, readPrefix, rewriteHeader, sealedFile, type EnvelopeHeader } from './envelope.js';
import { EnvKeyProvider } from './env-key-provider.js';
import { KeyServiceError, KeyUnavailableError, TamperedDataError } from './errors.js';
import { FileKeyProvider } from './file-key-provider.js';
import type { KeyProvider, WrappedDek } from './key-provider.js';
import { VaultTransitProvider } from './vault-transit-provider.js';
import type { TlsPolicy } from '../tls/policy.js';

export interface StoredFileInfo {
  path: string;
  /** Undefined for a plaintext file. */
  header?: EnvelopeHeader;
}

export interface Spare {
  dekId: string;
  dek: Buffer;
  wrapped: WrappedDek;
}

export class AtRest {
  private readonly deks = new Map<string, Buffer>();
  private spare?: Spare;
  private refilling?: Promise<void>;
  private loading = new Map<string, Promise<void>>();
  private readonly nonces = new NoncePool();
  /** Told of every whole-file write that succeeded (the hub's change log for point-in-time recovery). */
  private readonly writeWatchers: ((path: string, purpose: string, data: Uint8Array, sealed: boolean) => void)[] = [];

  private constructor(
    readonly provider: KeyProvider | undefined,
    private readonly deps: { logger?: Logger },
  ) {}

  /** Encryption off: plain files; sealed ones are refused with a clear error. */
  static plaintext(): AtRest {
    return new AtRest(undefined, {});
  }

  /** `createKeyring: false` (the CLI): a missing keyring is an error, not a new key. */
  static async create(config: EncryptionConfig | undefined, deps: { logger?: Logger; env?: NodeJS.ProcessEnv; createKeyring?: boolean; tlsPolicy?: TlsPolicy } = {}): Promise<AtRest> {
    if (!config?.enabled) return AtRest.plaintext();
    const at = new AtRest(createProvider(config, deps.env, { createKeyring: deps.createKeyring, tlsPolicy: deps.tlsPolicy }), deps);
    if (at.provider instanceof FileKeyProvider && at.provider.created) deps.logger?.warn({ keyring: at.provider.path }, 'encryption: created a new keyring; back it up: without it the data cannot be read');
    // Vault: one call now, so a wrong address or token fails the start, not the first write.
    if (!at.provider?.local) await at.refill();
    return at;
  }

  get enabled(): boolean {
    return this.provider !== undefined;
  }

  /** "file key kr-1a2b3c4d" / "vault key transit/sfleet": for logs and messages (no secrets). */
  describe(): string {
    return this.provider ? `${this.provider.kind} key ${this.provider.keyId}` : 'no encryption';
  }

  /** How a RecordLog seals its records for `purpose`; undefined with encryption off. */
  sealing(purpose: string): RecordSealing | undefined {
    if (!this.provider) return undefined;
    return {
      create: (path) => this.create(path, purpose),
      open: (path, data) => this.open(path, purpose, data),
    };
  }

  /** A whole file's content (undefined when absent). A plaintext file is returned as is. */
  readFile(path: string, purpose: string): Buffer | undefined {
    if (!existsSync(path)) return undefined;
    const data = readFileSync(path);
    if (!isSealed(data)) return data;
    const sealed = this.open(path, purpose, data);
    const { records, end } = readRecords(data, PREFIX_BYTES);
    if (records.length !== 1 || end !== data.length) {
      throw new TamperedDataError(`${path}: sealed file is ${end !== data.length && records.length === 0 ? 'truncated' : 'truncated or has bytes appended'} (expected one whole record)`);
    }
    return Buffer.from(sealed.open(records[0], 0));
  }

  /** Replaces a whole file atomically, sealed when encryption is on (mode 0600). */
  writeFile(path: string, purpose: string, data: Uint8Array): void {
    if (!this.provider) writeAtomically(path, data);
    else {
      const sealed = this.create(path, purpose);
      writeAtomically(path, Buffer.concat([sealed.prefix, frame([sealed.seal(data, 0)])]));
    }
    this.written(path, purpose, data);
  }

  /** writeFile with the disk work off the main thread (sealing itself is synchronous and cheap). */
  async writeFileAsync(path: string, purpose: string, data: Uint8Array): Promise<void> {
    if (!this.provider) await writeAtomicallyAsync(path, data);
    else {
      const sealed = this.create(path, purpose);
      await writeAtomicallyAsync(path, Buffer.concat([sealed.prefix, frame([sealed.seal(data, 0)])]));
    }
    this.written(path, purpose, data);
  }

  /**
   * Every whole file written through this object from now on, after the write succeeded: the one
   * choke point of the durable stores (hub/backup/pitr's change log).
   */
  onWrite(watcher: (path: string, purpose: string, data: Uint8Array, sealed: boolean) => void): void {
    this.writeWatchers.push(watcher);
  }

  private written(path: string, purpose: string, data: Uint8Array): void {
    for (const w of this.writeWatchers) w(path, purpose, data, this.enabled);
  }

  /**
   * Unwraps the data keys of every sealed file under `root` (a directory or one file) now (one key-service call per data
   * key), so the synchronous reads that follow need no key service. Throws, naming the file and
   * the key, when a key is missing or wrong.
   */
  async preload(root: string): Promise<{ files: number; keys: number }> {
    let files = 0;
    const before = this.deks.size;
    for (const info of listFiles([root])) {
      if (!info.header) continue;
      files++;
      await this.load(info.path, info.header);
    }
    return { files, keys: this.deks.size - before };
  }

  /** Every file under the roots, with its header when sealed (for `sfleet keys status`). */
  files(roots: string[]): StoredFileInfo[] {
    return listFiles(roots);
  }

  /**
   * Creates the new KEK version (where the provider can) and re-wraps the data key of every
   * sealed file under the roots to it, in place (header slot swap). Bulk data is not touched.
   */
  async rotate(roots: string[]): Promise<{ version: number; created: boolean; rewrapped: string[]; current: string[]; failed: { path: string; error: string }[] }> {
    const provider = this.requireProvider();
    const { version, created } = await provider.rotate();
    return { created, ...(await this.rewrapAll(provider, roots, version)) };
  }

  /**
   * Re-wraps the data key of every sealed file under the roots that is below `target` to this
   * hub's newest key version, without creating one: a hub of a group following the version the
   * leader rotated to. Refused (KeyUnavailableError, nothing touched) when this hub's key has no
   * version `target` yet (a keyring copy instead of the group's shared keyring or Vault), so a hub
   * never claims a version it cannot read.
   */
  async rewrapTo(roots: string[], target: number): Promise<{ version: number; rewrapped: string[]; current: string[]; failed: { path: string; error: string }[] }> {
    const provider = this.requireProvider();
    const newest = provider.local ? provider.local.version() : undefined;
    if (newest !== undefined && newest < target) {
      throw new KeyUnavailableError(`${this.describe()} has no version ${target} (its newest is v${newest}): every hub of the group must read the same keyring (a shared file or Vault), not a copy`);
    }
    // Vault: a spare prepared before the rotation would seal the next file under the old version.
    // Replaced only once a new one is wrapped, so writes go on while Vault is out of reach.
    if (this.spare && this.spare.wrapped.key_version < target) await this.refill();
    return this.rewrapAll(provider, roots, newest ?? target, target);
  }

  /** The lowest version of this key among the files under the roots it sealed (undefined: none). */
  oldestVersion(roots: string[]): number | undefined {
    const provider = this.requireProvider();
    let oldest: number | undefined;
    for (const { header: h } of listFiles(roots)) {
      if (h && h.provider === provider.kind && h.key_id === provider.keyId && (oldest === undefined || h.key_version < oldest)) oldest = h.key_version;
    }
    return oldest;
  }

  /** Files at `version` (or, with `atLeast`, at or above it) stay; the others get `provider.rewrap`. */
  private async rewrapAll(provider: KeyProvider, roots: string[], version: number, atLeast?: number): Promise<{ version: number; rewrapped: string[]; current: string[]; failed: { path: string; error: string }[] }> {
    const rewrapped: string[] = [];
    const current: string[] = [];
    const failed: { path: string; error: string }[] = [];
    for (const info of listFiles(roots)) {
      if (!info.header) continue;
      try {
        const done = { rewrapped: false };
        await rewriteHeader(info.path, async (h) => {
          const ours = h.provider === provider.kind && h.key_id === provider.keyId;
          // Following a group version: a file sealed by another key (a backup with its own) is not this key's to move.
          if (!ours && atLeast !== undefined) return undefined;
          if (ours && (atLeast === undefined ? h.key_version === version : h.key_version >= atLeast)) return undefined;
          const next = await provider.rewrap(h, h.dek_id);
          // Vault's newest may lag a rotation another hub just asked for (its answer is what counts).
          if (atLeast !== undefined && next.key_version < atLeast) throw new KeyUnavailableError(`${this.describe()} re-wrapped to v${next.key_version}, below v${atLeast}`);
          done.rewrapped = true;
          return { ...h, ...next };
        });
        (done.rewrapped ? rewrapped : current).push(info.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed since listed
        failed.push({ path: info.path, error: (err as Error).message });
      }
    }
    return { version, rewrapped, current, failed };
  }

  private requireProvider(): KeyProvider {
    if (!this.provider) throw new KeyUnavailableError('encryption is not enabled in this config');
    return this.provider;
  }

  /**
   * A fresh data key for a store that keeps its own sealed records (the replication stream in
   * Redis): it stores `wrapped` and `dekId` beside its data and seals with `dek`. Synchronous,
   * like the files' keys (with Vault: the spare prepared ahead). `what` names it in errors.
   */
  newDataKey(what: string): Spare {
    const provider = this.requireProvider();
    let spare: Spare;
    if (provider.local) {
      const dekId = randomBytes(16).toString('hex');
      const dek = randomBytes(32);
      spare = { dekId, dek, wrapped: provider.local.wrap(dek, dekId) };
    } else {
      // The spare prepared ahead; the next is prepared now. Until it is ready, files created in
      // the meantime share this data key (each record still has its own random nonce).
      if (!this.spare) throw new KeyServiceError(`${what}: no data key could be prepared with ${this.describe()} (key service unreachable since start)`);
      spare = this.spare;
      void this.refill();
    }
    this.deks.set(spare.dekId, spare.dek);
    return spare;
  }

  /** The data key a store kept in its wrapped form (unwrapped once, then cached by id). */
  async openDataKey(wrapped: WrappedDek, dekId: string): Promise<Buffer> {
    const cached = this.deks.get(dekId);
    if (cached) return cached;
    const dek = await this.requireProvider().unwrap(wrapped, dekId);
    this.deks.set(dekId, dek);
    return dek;
  }

  /** The version of this key that wrapped a stored data key; undefined when another key wrapped it. */
  dataKeyVersion(wrapped: WrappedDek): number | undefined {
    const provider = this.requireProvider();
    return wrapped.provider === provider.kind && wrapped.key_id === provider.keyId ? wrapped.key_version : undefined;
  }

  /**
   * A data key a store keeps wrapped (the replication records in Redis), re-wrapped to this key's
   * newest version when it is below `target`, like rewrapTo does for files; undefined when it is
   * at `target` or above, or wrapped by another key (not this key's to move). Refused when this
   * key has no version `target` yet.
   */
  async rewrapDataKey(wrapped: WrappedDek, dekId: string, target: number): Promise<WrappedDek | undefined> {
    const provider = this.requireProvider();
    const version = this.dataKeyVersion(wrapped);
    if (version === undefined || version >= target) return undefined;
    const newest = provider.local ? provider.local.version() : undefined;
    if (newest !== undefined && newest < target) throw new KeyUnavailableError(`${this.describe()} has no version ${target} (its newest is v${newest})`);
    const next = await provider.rewrap(wrapped, dekId);
    if (next.key_version < target) throw new KeyUnavailableError(`${this.describe()} re-wrapped to v${next.key_version}, below v${target}`);
    return next;
  }

  /** The newest version of a local key-encryption key; undefined with a key service (Vault) or encryption off. */
  keyVersion(): number | undefined {
    return this.provider?.local?.version();
  }

  private create(path: string, purpose: string): SealedFile {
    const { dekId, dek, wrapped } = this.newDataKey(path);
    const header: EnvelopeHeader = { v: 1, alg: 'AES-256-GCM', purpose, dek_id: dekId, ...wrapped };
    const prefix = encodePrefix(header);
    return sealedFile(path, header, dek, prefix, this.nonces);
  }

  private open(path: string, purpose: string, data: Buffer): SealedFile {
    if (!this.provider) {
      let key = '';
      try {
        const h = parsePrefix(path, data).header;
        key = ` with ${h.provider} key ${h.key_id} v${h.key_version}`;
      } catch {
        // The plain message is enough.
      }
      throw new KeyUnavailableError(`${path} is encrypted${key}: enable encryption with that key in the config to read it`);
    }
    const { header } = parsePrefix(path, data);
    if (header.purpose !== purpose) throw new TamperedDataError(`${path}: sealed as "${header.purpose}", expected "${purpose}" (a file moved from elsewhere?)`);
    return sealedFile(path, header, this.dekFor(path, header), data.subarray(0, PREFIX_BYTES), this.nonces);
  }

  private dekFor(path: string, header: EnvelopeHeader): Buffer {
    const cached = this.deks.get(header.dek_id);
    if (cached) return cached;
    const provider = this.requireProvider();
    if (provider.local) {
      try {
        const dek = provider.local.unwrap(header, header.dek_id);
        this.deks.set(header.dek_id, dek);
        return dek;
      } catch (err) {
        throw withPath(path, err);
      }
    }
    // Written by another process after our preload (e.g. `sfleet token create`): load it in
    // the background; the caller retries.
    void this.load(path, header).catch((err: Error) => this.deps.logger?.warn({ file: path, err: err.message }, 'encryption: could not unwrap a data key'));
    throw new KeyUnavailableError(`${path}: data key ${header.dek_id.slice(0, 8)} (${header.provider} key ${header.key_id} v${header.key_version}) is being loaded; try again`);
  }

  private load(path: string, header: EnvelopeHeader): Promise<void> {
    if (this.deks.has(header.dek_id)) return Promise.resolve();
    let running = this.loading.get(header.dek_id);
    if (!running) {
      const provider = this.requireProvider();
      running = provider
        .unwrap(header, header.dek_id)
        .then((dek) => {
          this.deks.set(header.dek_id, dek);
        })
        .catch((err: unknown) => {
          throw withPath(path, err);
        })
        .finally(() => this.loading.delete(header.dek_id));
      this.loading.set(header.dek_id, running);
    }
    return running;
  }

  private refill(): Promise<void> {
    if (this.refilling) return this.refilling;
    const provider = this.requireProvider();
    const dekId = randomBytes(16).toString('hex');
    const dek = randomBytes(32);
    this.refilling = provider
      .wrap(dek, dekId)
      .then((wrapped) => {
        this.spare = { dekId, dek, wrapped };
      })
      .catch((err: Error) => {
        // At start this fails the start (create awaits it); later the previous spare stays in use.
        if (this.spare) this.deps.logger?.warn({ err: err.message }, 'encryption: could not prepare the next data key; reusing the current one');
        else throw err;
      })
      .finally(() => {
        this.refilling = undefined;
      });
    return this.refilling;
  }
}

export function createProvider(config: EncryptionConfig, env: NodeJS.ProcessEnv = process.env, opts: { createKeyring?: boolean; tlsPolicy?: TlsPolicy } = {}): KeyProvider {
  switch (config.provider) {
    case 'file':
      return new FileKeyProvider(config.file!.path, { create: opts.createKeyring });
    case 'env':
      return new EnvKeyProvider(config.env!.var, env);
    case 'vault':
      return new VaultTransitProvider(config.vault!, env, opts.tlsPolicy);
  }
}

/** The same error kind, with the file named first. */
function withPath(path: string, err: unknown): Error {
  const message = `${path}: ${(err as Error).message}`;
  if (err instanceof KeyServiceError) return new KeyServiceError(message, err.status);
  if (err instanceof TamperedDataError) return new TamperedDataError(message);
  if (err instanceof KeyUnavailableError) return new KeyUnavailableError(message);
  return new KeyUnavailableError(message);
}

function listFiles(roots: string[]): StoredFileInfo[] {
  const out: StoredFileInfo[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 8 || !existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, depth + 1);
      else if (entry.isFile() && !entry.name.includes('.tmp-')) {
        try {
          out.push({ path, header: readPrefix(path)?.header });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile
          throw err;
        }
      }
    }
  };
  for (const root of roots) {
    if (existsSync(root) && statSync(root).isFile()) out.push({ path: root, header: readPrefix(root)?.header });
    else walk(root, 0);
  }
  return out;
}

/**
 * Moves a file that failed authentication (or holds a record that cannot be read) out of the
 * way (`<name>.<why>-<ms>`), kept for inspection, so the process starts without it instead of
 * failing on every start.
 */
export function setAside(path: string, why: 'tampered' | 'malformed' = 'tampered'): string {
  const to = `${path}.${why}-${Date.now()}`;
  renameSync(path, to);
  return to;
}
