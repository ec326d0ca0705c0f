// The `file` provider: a keyring file with versioned 32-byte keys, readable by its owner only.
//   {"key_id":"kr-1a2b3c4d","keys":[{"version":1,"key":"<base64>","created_at":"..."}]}
// Created with one key on first use; `sfleet keys rotate` appends a version. Old versions stay,
// so data wrapped under them stays readable. Reloaded when the file changes (a rotation run by
// the CLI while the hub or agent runs: new files get the new version).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeAtomically } from '../record-log/index.js';
import { KeyConfigError } from './errors.js';
import { decodeKey, LocalKeyProvider } from './key-provider.js';

interface KeyringFile {
  key_id: string;
  keys: { version: number; key: string; created_at: string }[];
}

export class FileKeyProvider extends LocalKeyProvider {
  readonly kind = 'file' as const;
  keyId = '';
  private keys = new Map<number, Buffer>();
  private loadedMtime = -1;

  constructor(
    readonly path: string,
    opts: { create?: boolean } = {},
  ) {
    super();
    if (!existsSync(path)) {
      if (opts.create === false) throw new KeyConfigError(`keyring ${path} does not exist (the hub or agent creates it on its first start with encryption on)`);
      const ring: KeyringFile = { key_id: `kr-${randomBytes(4).toString('hex')}`, keys: [{ version: 1, key: randomBytes(32).toString('base64'), created_at: new Date().toISOString() }] };
      writeAtomically(path, Buffer.from(JSON.stringify(ring, null, 2) + '\n'));
      this.created = true;
    }
    this.load();
  }

  /** True when this process created the keyring. */
  readonly created: boolean = false;

  protected versions(): Map<number, Buffer> {
    this.reloadIfChanged();
    return this.keys;
  }

  protected override reload(): void {
    this.load();
  }

  private reloadIfChanged(): void {
    try {
      if (statSync(this.path).mtimeMs !== this.loadedMtime) this.load();
    } catch {
      // Keep the keys in memory: a keyring removed while running must not stop the writes.
    }
  }

  private load(): void {
    const st = statSync(this.path);
    if ((st.mode & 0o077) !== 0) {
      throw new KeyConfigError(`keyring ${this.path} is readable or writable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
    }
    let ring: KeyringFile;
    try {
      ring = JSON.parse(readFileSync(this.path, 'utf8')) as KeyringFile;
    } catch {
      throw new KeyConfigError(`keyring ${this.path} is not valid JSON`);
    }
    if (typeof ring?.key_id !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(ring.key_id) || !Array.isArray(ring.keys) || ring.keys.length === 0) {
      throw new KeyConfigError(`keyring ${this.path} needs "key_id" and a non-empty "keys" list`);
    }
    const keys = new Map<number, Buffer>();
    for (const [i, k] of ring.keys.entries()) {
      if (!Number.isInteger(k?.version) || k.version < 1 || keys.has(k.version)) throw new KeyConfigError(`keyring ${this.path}: keys[${i}].version must be a unique integer >= 1`);
      keys.set(k.version, decodeKey(String(k.key ?? ''), `keyring ${this.path}: keys[${i}] (v${k.version})`));
    }
    this.keyId = ring.key_id;
    this.keys = keys;
    this.loadedMtime = st.mtimeMs;
  }

  async rotate(): Promise<{ version: number; created: boolean }> {
    this.load();
    const ring = JSON.parse(readFileSync(this.path, 'utf8')) as KeyringFile;
    const version = this.newest() + 1;
    ring.keys.push({ version, key: randomBytes(32).toString('base64'), created_at: new Date().toISOString() });
    writeAtomically(this.path, Buffer.from(JSON.stringify(ring, null, 2) + '\n'));
    this.load();
    return { version, created: true };
  }
}
