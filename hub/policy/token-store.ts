// Bearer tokens for the API: "sft_<id>_<secret>". Only a SHA-256 of the secret is stored
// (data_dir/tokens.json, mode 0600, sealed when encryption is on); the token itself is shown
// once, at creation. The file is read again when it changes (`sfleet token create --data-dir`
// beside a running hub); deleted or cut under the hub (unreadable), it is not taken as "no
// tokens": the tokens in memory keep working and maintain() writes the file again from them.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadRequestError } from '../../shared/errors/index.js';
import { AtRest, KeyUnavailableError } from '../../shared/crypto/index.js';
import { durableWrite, LostFileError, type WriteFaults } from '../../shared/durability/index.js';

export interface StoredToken {
  id: string;
  name: string;
  hash: string;
  created_at: string;
  expires_at?: string;
  /** RBAC roles granted to the token itself (a service account bound to roles). */
  roles?: string[];
  /** User attributes for RBAC row filters (`${user.project}`...). */
  attributes?: Record<string, string>;
  /** Who created it through the API (absent: `sfleet token create --data-dir`). */
  created_by?: string;
  /** The tenant the token belongs to (set once tenants exist; a caller sees and revokes only its tenant's). */
  tenant?: string;
}

export type TokenView = Omit<StoredToken, 'hash'>;

/** Where the hub's API tokens live: data_dir/tokens.json (standalone) or the group's shared security store. */
export interface TokenRegistry {
  identify(token: string): TokenIdentity | undefined;
  create(name: string, ttlMs: number | undefined, own: TokenGrant): Promise<{ token: string; record: StoredToken }>;
  list(): TokenView[];
  revoke(nameOrId: string, by?: string): Promise<TokenView[]>;
}

export interface TokenGrant {
  roles?: string[];
  attributes?: Record<string, string>;
  created_by?: string;
  tenant?: string;
}

/** What a valid token stands for. */
export interface TokenIdentity {
  name: string;
  roles?: string[];
  attributes?: Record<string, string>;
  /** When the token expires (ms since the epoch), if it does: its open watches end then. */
  expiresAt?: number;
}

const TOKEN_RE = /^sft_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;

const TOKENS_PURPOSE = 'hub/tokens';

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A new token record and its secret (shown once); the record keeps only the secret's SHA-256. */
export function newToken(name: string, ttlMs: number | undefined, own: TokenGrant): { token: string; record: StoredToken } {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name)) throw new BadRequestError(`invalid token name "${name.slice(0, 64)}"`);
  for (const role of own.roles ?? []) if (!/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(role)) throw new BadRequestError(`invalid role name "${role.slice(0, 64)}"`);
  for (const key of Object.keys(own.attributes ?? {})) if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(key)) throw new BadRequestError(`invalid attribute name "${key.slice(0, 64)}"`);
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const now = new Date();
  const record: StoredToken = {
    id,
    name,
    hash: hashSecret(secret),
    created_at: now.toISOString(),
    ...(ttlMs ? { expires_at: new Date(now.getTime() + ttlMs).toISOString() } : {}),
    ...(own.roles?.length ? { roles: own.roles } : {}),
    ...(own.attributes && Object.keys(own.attributes).length ? { attributes: own.attributes } : {}),
    ...(own.created_by ? { created_by: own.created_by } : {}),
    ...(own.tenant ? { tenant: own.tenant } : {}),
  };
  return { token: `sft_${id}_${secret}`, record };
}

/** The identity of `token` when it matches `find`'s record by id, its secret's hash and its expiry. Constant-time on the secret. */
export function identifyToken(token: string, find: (id: string) => StoredToken | undefined): TokenIdentity | undefined {
  const m = TOKEN_RE.exec(token);
  if (!m) return undefined;
  const record = find(m[1]);
  if (!record?.hash) return undefined;
  const given = Buffer.from(hashSecret(m[2]), 'hex');
  const stored = Buffer.from(record.hash, 'hex');
  if (given.length !== stored.length || !timingSafeEqual(given, stored)) return undefined;
  const expiresAt = record.expires_at ? Date.parse(record.expires_at) : undefined;
  if (expiresAt !== undefined && expiresAt < Date.now()) return undefined;
  return {
    name: record.name,
    ...(record.roles ? { roles: record.roles } : {}),
    ...(record.attributes ? { attributes: record.attributes } : {}),
    ...(expiresAt !== undefined && Number.isFinite(expiresAt) ? { expiresAt } : {}),
  };
}

export class TokenStore {
  private tokens: StoredToken[] = [];
  private loadedMtime = -1;
  private checkedAt = 0;
  /** The file was loaded or written: its loss is a fault, not an empty token list. */
  private known = false;
  /** How the file was found lost (deleted, or cut: unreadable) since the last rewrite. */
  private lost?: 'deleted' | 'truncated';
  readonly path: string;

  constructor(
    dataDir: string,
    private readonly atRest: AtRest = AtRest.plaintext(),
    /** Failed writes of tokens.json: counted, /healthz degraded until one works. */
    private readonly faults?: WriteFaults,
  ) {
    this.path = join(dataDir, 'tokens.json');
  }

  /** Reloads the file when it changed (checked at most once a second). */
  private refresh(force = false): void {
    const now = Date.now();
    if (!force && now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    if (!existsSync(this.path)) {
      if (this.known) {
        this.lost = 'deleted';
        return;
      }
      this.tokens = [];
      this.loadedMtime = -1;
      return;
    }
    const mtime = statSync(this.path).mtimeMs;
    if (mtime === this.loadedMtime) return;
    let parsed: { tokens?: StoredToken[] };
    try {
      parsed = JSON.parse(this.atRest.readFile(this.path, TOKENS_PURPOSE)?.toString('utf8') ?? '{}') as { tokens?: StoredToken[] };
    } catch (err) {
      // Vault: a data key written by another process is loaded in the background; keep the
      // tokens known until the next check.
      if (!force && err instanceof KeyUnavailableError) return;
      // Cut under the hub (or half written by hand): the tokens known stay, maintain() rewrites it.
      if (this.known && !(err instanceof KeyUnavailableError)) {
        this.lost = 'truncated';
        return;
      }
      throw err;
    }
    this.tokens = parsed.tokens ?? [];
    this.loadedMtime = mtime;
    this.known = true;
    this.lost = undefined;
  }

  create(name: string, ttlMs?: number, own: TokenGrant = {}): { token: string; record: StoredToken } {
    const made = newToken(name, ttlMs, own);
    this.refresh(true);
    this.tokens.push(made.record);
    this.save();
    return made;
  }

  revoke(nameOrId: string): boolean {
    this.refresh(true);
    const before = this.tokens.length;
    this.tokens = this.tokens.filter((t) => t.id !== nameOrId && t.name !== nameOrId);
    if (this.tokens.length === before) return false;
    this.save();
    return true;
  }

  /** Whole records, hashes included (never for an answer: for a hub group's import). */
  records(): StoredToken[] {
    this.refresh(true);
    return this.tokens.map((t) => ({ ...t }));
  }

  list(): Omit<StoredToken, 'hash'>[] {
    this.refresh(true);
    return this.tokens.map(({ hash: _hash, ...rest }) => rest);
  }

  /** The token's name when it is valid, else undefined. Constant-time on the secret. */
  verify(token: string): string | undefined {
    return this.identify(token)?.name;
  }

  /** The token's name, roles and attributes when it is valid, else undefined. */
  identify(token: string): TokenIdentity | undefined {
    return identifyToken(token, (id) => {
      this.refresh();
      return this.tokens.find((t) => t.id === id);
    });
  }

  private save(): void {
    try {
      durableWrite(this.faults, TOKENS_STORE, () => this.atRest.writeFile(this.path, TOKENS_PURPOSE, Buffer.from(JSON.stringify({ tokens: this.tokens }, null, 2))));
    } catch (err) {
      // Not written, so not done: the next read takes the file again, without the change.
      this.loadedMtime = -1;
      this.checkedAt = 0;
      throw err;
    }
    // The file now holds what is in memory: the next check need not read back our own write
    // (re-parsing the whole file on every create made each one cost more than the last). A stat
    // that fails here only costs that re-read.
    this.known = true;
    this.lost = undefined;
    try {
      this.loadedMtime = statSync(this.path).mtimeMs;
    } catch {
      this.loadedMtime = -1;
    }
  }

  /**
   * Once per flush interval: a file deleted or cut under the hub is written again from memory
   * (counted as a fault); after a failed write, the file is written again to learn whether the disk works.
   */
  maintain(): void {
    try {
      this.refresh(true);
    } catch {
      // unreadable before it was ever read: as at start, the operator's to fix
      return;
    }
    if (this.lost) this.faults?.failed(TOKENS_STORE, new LostFileError(this.path, this.lost));
    else if (!this.faults?.degraded().some((f) => f.store === TOKENS_STORE)) return;
    try {
      this.save();
    } catch {
      // still failing: counted by save()
    }
  }
}

/** tokens.json's name in WriteFaults and the metrics. */
export const TOKENS_STORE = 'tokens';

/** The standalone hub's registry: tokens.json through the TokenStore. */
export class FileTokenRegistry implements TokenRegistry {
  constructor(readonly store: TokenStore) {}
  identify(token: string): TokenIdentity | undefined {
    return this.store.identify(token);
  }
  async create(name: string, ttlMs: number | undefined, own: TokenGrant): Promise<{ token: string; record: StoredToken }> {
    return this.store.create(name, ttlMs, own);
  }
  list(): TokenView[] {
    return this.store.list();
  }
  async revoke(nameOrId: string): Promise<TokenView[]> {
    const gone = this.store.list().filter((t) => t.id === nameOrId || t.name === nameOrId);
    if (gone.length > 0) this.store.revoke(nameOrId);
    return gone;
  }
}
