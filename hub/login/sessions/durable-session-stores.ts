// Session stores that outlive a hub process: a file (standalone hub: data_dir/sessions.json,
// mode 0600, only SHA-256 hashes of the tokens) and the region's shared store in Redis (a hub
// group: a session opened on one hub works on every other).
import { join } from 'node:path';
import { SessionsUnavailableError } from '../errors.js';
import { AtRest, PREFIX_BYTES } from '../../../shared/crypto/index.js';
import { frame, isSealed, readRecords } from '../../../shared/record-log/index.js';
import { durableWrite, type WriteFaults } from '../../../shared/durability/index.js';
import type { Principal } from '../../policy/index.js';
import type { SharedKvStore } from '../../replication/index.js';
import { newSessionToken, sessionKey, type SessionStore } from './session-store.js';

interface StoredSession {
  principal: Principal;
  expires: number;
  /** An OIDC refresh token: in sessions.json, which is sealed when the hub encrypts at rest. */
  secret?: string;
}

export class FileSessionStore implements SessionStore {
  readonly path: string;
  private readonly sessions = new Map<string, StoredSession>();
  constructor(
    dataDir: string,
    private readonly now: () => number = Date.now,
    /** Sessions name users and their groups: sealed when the hub encrypts its data at rest. */
    private readonly atRest: AtRest = AtRest.plaintext(),
    /** Failed writes of sessions.json: counted, /healthz degraded until one works. */
    private readonly faults?: WriteFaults,
  ) {
    this.path = join(dataDir, 'sessions.json');
    const stored = this.atRest.readFile(this.path, 'hub/sessions');
    if (stored) {
      const parsed = JSON.parse(stored.toString('utf8')) as { sessions?: Record<string, StoredSession> };
      for (const [k, v] of Object.entries(parsed.sessions ?? {})) if (v.expires > this.now()) this.sessions.set(k, v);
    }
  }

  async create(principal: Principal, ttlMs: number, secret?: string): Promise<string> {
    const token = newSessionToken();
    this.sessions.set(sessionKey(token), { principal, expires: this.now() + ttlMs, ...(secret ? { secret } : {}) });
    try {
      this.save();
    } catch (err) {
      // Not durable, so no session: the login answers the error.
      this.sessions.delete(sessionKey(token));
      throw err;
    }
    return token;
  }

  async get(token: string): Promise<Principal | undefined> {
    const s = this.live(token);
    return s && { ...s.principal, expiresAt: s.expires };
  }

  async secret(token: string): Promise<string | undefined> {
    return this.live(token)?.secret;
  }

  async setSecret(token: string, secret: string, replaces?: string): Promise<void> {
    const s = this.live(token);
    if (!s || s.secret === secret || (replaces !== undefined && s.secret !== replaces)) return;
    const before = s.secret;
    s.secret = secret;
    try {
      this.save();
    } catch (err) {
      if (before === undefined) delete s.secret;
      else s.secret = before;
      throw err;
    }
  }

  private live(token: string): StoredSession | undefined {
    const s = this.sessions.get(sessionKey(token));
    if (!s) return undefined;
    if (s.expires <= this.now()) {
      this.sessions.delete(sessionKey(token));
      return undefined;
    }
    return s;
  }

  async revoke(token: string): Promise<void> {
    // Revoked in memory at once (the session ends on this hub); a failed write is retried by maintain().
    if (this.sessions.delete(sessionKey(token))) this.save();
  }

  /** Once per flush interval: a write that failed (a revocation the file still lacks) is made again. */
  maintain(): void {
    if (!this.faults?.degraded().some((f) => f.store === SESSIONS_STORE)) return;
    try {
      this.save();
    } catch {
      // still failing: counted by save()
    }
  }

  private save(): void {
    const now = this.now();
    for (const [k, s] of this.sessions) if (s.expires <= now) this.sessions.delete(k);
    durableWrite(this.faults, SESSIONS_STORE, () => this.atRest.writeFile(this.path, 'hub/sessions', Buffer.from(JSON.stringify({ sessions: Object.fromEntries(this.sessions) }))));
  }
}

/** sessions.json's name in WriteFaults and the metrics. */
export const SESSIONS_STORE = 'sessions';

interface SharedSession {
  principal: Principal;
  expires?: number;
  /** base64 of the sealed secret (the secret itself when the hub does not encrypt at rest). */
  secret?: string;
}

const SECRET_PURPOSE = 'hub/session-secret';

export class SharedSessionStore implements SessionStore {
  constructor(
    private readonly kv: SharedKvStore,
    /** Seals the secrets kept with sessions (refresh tokens) like the data directory's files. */
    private readonly atRest: AtRest = AtRest.plaintext(),
    private readonly now: () => number = Date.now,
  ) {}
  async create(principal: Principal, ttlMs: number, secret?: string): Promise<string> {
    const token = newSessionToken();
    const key = sessionKey(token);
    const value: SharedSession = { principal, expires: this.now() + ttlMs, ...(secret ? { secret: this.seal(key, secret) } : {}) };
    await shared(() => this.kv.set(key, value, ttlMs));
    return token;
  }
  async get(token: string): Promise<Principal | undefined> {
    const s = await shared(() => this.kv.get<SharedSession>(sessionKey(token)));
    return s && (s.expires === undefined ? s.principal : { ...s.principal, expiresAt: s.expires });
  }
  async secret(token: string): Promise<string | undefined> {
    const key = sessionKey(token);
    const s = await shared(() => this.kv.get<SharedSession>(key));
    return s?.secret ? this.open(key, s.secret) : undefined;
  }
  // One step in Redis (SharedKvStore.modify): a read then a write let a session revoked on
  // another hub in between come back, and two hubs' rotations overwrite each other.
  async setSecret(token: string, secret: string, replaces?: string): Promise<void> {
    const key = sessionKey(token);
    const sealed = this.seal(key, secret);
    await shared(() =>
      this.kv.modify<SharedSession>(key, (s) => {
        if ((s.expires ?? 0) <= this.now()) return undefined;
        if (replaces !== undefined && (s.secret === undefined ? undefined : this.open(key, s.secret)) !== replaces) return undefined;
        return { ...s, secret: sealed };
      }),
    );
  }
  private seal(key: string, secret: string): string {
    const sealing = this.atRest.sealing(SECRET_PURPOSE);
    if (!sealing) return secret;
    const file = sealing.create(`redis:session:${key}`);
    return Buffer.concat([file.prefix, frame([file.seal(Buffer.from(secret), 0)])]).toString('base64');
  }
  private open(key: string, stored: string): string {
    const sealing = this.atRest.sealing(SECRET_PURPOSE);
    if (!sealing) return stored;
    const blob = Buffer.from(stored, 'base64');
    if (!isSealed(blob)) return stored; // kept before the hub encrypted at rest
    const file = sealing.open(`redis:session:${key}`, blob);
    const { records } = readRecords(blob, PREFIX_BYTES);
    return Buffer.from(file.open(records[0], 0)).toString('utf8');
  }
  async revoke(token: string): Promise<void> {
    await shared(() => this.kv.delete(sessionKey(token)));
  }
}

async function shared<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new SessionsUnavailableError(`sessions are unavailable: the shared session store (Redis) cannot be reached (${(err as Error).message.slice(0, 120)})`);
  }
}
