// Login sessions: what a user gets after logging in (password + TOTP, LDAP, OIDC or SAML),
// presented afterwards as `Authorization: Bearer sfs_...`. Only a hash of the token is kept.
// This in-memory store serves a standalone hub; a shared (Redis) store serves a hub group.
import { createHash, randomBytes } from 'node:crypto';
import { UnauthenticatedError } from '../../../shared/errors/index.js';
import type { BearerVerifier, Principal } from '../../policy/index.js';

export const SESSION_PREFIX = 'sfs_';

export interface SessionStore {
  /**
   * A new session for `principal`; the token is returned once and never stored. `secret` is kept
   * with it for re-checks (an OIDC refresh token), sealed at rest like the hub's other secrets.
   */
  create(principal: Principal, ttlMs: number, secret?: string): Promise<string>;
  /** The session's principal with its expiry (expiresAt), or undefined when unknown, expired or revoked. */
  get(token: string): Promise<Principal | undefined>;
  /** The secret kept with a live session (undefined: none, or no such session). */
  secret(token: string): Promise<string | undefined>;
  /**
   * Replaces the secret of a live session (a rotated refresh token); nothing when it is gone.
   * With `replaces`, only while the kept secret is still that one: a hub that spent an old
   * refresh token does not overwrite the newer one another hub of the group stored meanwhile.
   */
  setSecret(token: string, secret: string, replaces?: string): Promise<void>;
  revoke(token: string): Promise<void>;
}

export function newSessionToken(): string {
  return SESSION_PREFIX + randomBytes(32).toString('base64url');
}

export function sessionKey(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, { principal: Principal; expires: number; secret?: string }>();
  constructor(private readonly now: () => number = Date.now) {}

  async create(principal: Principal, ttlMs: number, secret?: string): Promise<string> {
    const token = newSessionToken();
    this.sessions.set(sessionKey(token), { principal, expires: this.now() + ttlMs, ...(secret ? { secret } : {}) });
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
    if (s && (replaces === undefined || s.secret === replaces)) s.secret = secret;
  }

  private live(token: string): { principal: Principal; expires: number; secret?: string } | undefined {
    const key = sessionKey(token);
    const s = this.sessions.get(key);
    if (!s) return undefined;
    if (s.expires <= this.now()) {
      this.sessions.delete(key);
      return undefined;
    }
    return s;
  }

  async revoke(token: string): Promise<void> {
    this.sessions.delete(sessionKey(token));
  }
}

/** Bearer `sfs_...` credentials are sessions of this store. */
export class SessionVerifier implements BearerVerifier {
  readonly kind = 'session';
  constructor(private readonly store: SessionStore) {}
  async verify(credential: string): Promise<Principal | undefined> {
    if (!credential.startsWith(SESSION_PREFIX)) return undefined;
    const principal = await this.store.get(credential);
    if (!principal) throw new UnauthenticatedError('session expired, revoked or unknown: log in again');
    return principal;
  }
}
