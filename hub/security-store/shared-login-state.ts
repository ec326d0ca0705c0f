// Browser login state of a hub group in the shared security store, so a login started on one
// hub (behind a load balancer) may finish on another:
// - OIDC: state, nonce and PKCE verifier of a started login (kind "oidc"), taken once region-wide;
// - SAML: the IDs of requests this group issued (InResponseTo) and of assertions already turned
//   into sessions (the replay cache), both kind "saml".
// Keys are SHA-256 of the state or ID: what a browser sends never becomes a key as it is, and the
// state (a secret of the login) is not in key names. Values are sealed like every record.
// While the store cannot be reached each hub falls back to its memory: a login started then
// finishes on the same hub, and an assertion used then is published once the store is back.
import { createHash } from 'node:crypto';
import type { CacheItem, CacheProvider } from '@node-saml/node-saml';
import type { Logger } from '../../shared/logging/index.js';
import { OIDC_LOGIN_TTL_MS, PendingLogins, type LoginStates, type PendingLogin } from '../login/oidc/index.js';
import { UsedAssertions, type ReplayCache } from '../login/saml/index.js';
import { SecurityStoreUnavailableError } from './errors.js';
import type { SecurityKind, SecurityStore } from './security-store.js';

/** Started logins kept in the store at most; past it a login waits in this hub's memory (unauthenticated requests cannot fill etcd). */
const MAX_SHARED_STATES = 10_000;
/** node-saml's requestIdExpirationPeriodMs in startSaml. */
const SAML_REQUEST_TTL_MS = 10 * 60_000;

const keyOf = (prefix: string, id: string) => `${prefix}${createHash('sha256').update(id).digest('hex')}`;

function unavailable(err: unknown): boolean {
  return err instanceof SecurityStoreUnavailableError;
}

interface Expiring {
  expires: number;
}

export class SharedOidcLogins implements LoginStates {
  private readonly local: PendingLogins;

  constructor(
    private readonly store: SecurityStore,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.local = new PendingLogins(now);
  }

  async add(state: string, login: Omit<PendingLogin, 'expires'>): Promise<void> {
    if (this.store.entries('oidc').length >= MAX_SHARED_STATES) return this.local.addNow(state, login);
    try {
      await this.store.put('oidc', keyOf('', state), { ...login, expires: this.now() + OIDC_LOGIN_TTL_MS } satisfies PendingLogin);
    } catch (err) {
      if (!unavailable(err)) throw err;
      this.logger.warn('security store unreachable: this OIDC login can finish on this hub only');
      this.local.addNow(state, login);
    }
  }

  async take(state: string): Promise<PendingLogin | undefined> {
    const here = this.local.takeNow(state);
    if (here) return here;
    let login: PendingLogin | undefined;
    try {
      login = await this.store.take<PendingLogin>('oidc', keyOf('', state));
    } catch (err) {
      if (!unavailable(err)) throw err;
      return undefined; // not known here, and the group cannot be asked: start again
    }
    return login && login.expires > this.now() ? login : undefined;
  }
}

export class SharedSamlReplay implements ReplayCache {
  private readonly local: UsedAssertions;

  constructor(
    private readonly store: SecurityStore,
    private readonly now: () => number = Date.now,
  ) {
    this.local = new UsedAssertions(now);
  }

  async claim(id: string, until: number): Promise<boolean> {
    const key = keyOf('used-', id);
    const now = this.now();
    try {
      return await this.store.updateAll<Expiring, boolean>('saml', [key], ([seen]) => (seen && seen.expires > now ? { result: false } : { next: [{ expires: until }], result: true }));
    } catch (err) {
      if (!unavailable(err)) throw err;
      // This hub's copy and memory decide; the ID reaches the group once the store is back.
      const seen = this.store.get<Expiring>('saml', key);
      if ((seen && seen.expires > now) || !this.local.claim(id, until)) return false;
      await this.store.put('saml', key, { expires: until }, { queue: true });
      return true;
    }
  }
}

/** node-saml's cache of issued request IDs: any hub of the group takes the IdP's answer to a request another hub sent. */
export class SharedSamlRequests implements CacheProvider {
  /** Taken from the store for the response being checked (node-saml reads an ID twice, then removes it). */
  private readonly here = new Map<string, { value: string; expires: number }>();

  constructor(
    private readonly store: SecurityStore,
    private readonly now: () => number = Date.now,
  ) {}

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    const item = { value, createdAt: this.now() };
    const expires = item.createdAt + SAML_REQUEST_TTL_MS;
    try {
      if (this.store.entries('saml').length >= MAX_SHARED_STATES) throw new SecurityStoreUnavailableError('too many SAML requests in flight');
      await this.store.put('saml', keyOf('request-', key), { value, expires });
    } catch (err) {
      if (!unavailable(err)) throw err;
      this.keep(key, value, expires);
    }
    return item;
  }

  async getAsync(key: string): Promise<string | null> {
    const kept = this.here.get(key);
    if (kept) return kept.expires > this.now() ? kept.value : null;
    let found: { value: string; expires: number } | undefined;
    try {
      found = await this.store.take<{ value: string; expires: number }>('saml', keyOf('request-', key));
    } catch (err) {
      if (!unavailable(err)) throw err;
      return null;
    }
    if (!found || found.expires <= this.now()) return null;
    this.keep(key, found.value, found.expires);
    return found.value;
  }

  async removeAsync(key: string | null): Promise<string | null> {
    if (key === null) return null;
    const kept = this.here.get(key);
    this.here.delete(key);
    if (kept) return kept.value;
    try {
      return (await this.store.take<{ value: string }>('saml', keyOf('request-', key)))?.value ?? null;
    } catch (err) {
      if (!unavailable(err)) throw err;
      return null;
    }
  }

  private keep(key: string, value: string, expires: number): void {
    const now = this.now();
    for (const [k, v] of this.here) if (v.expires <= now || this.here.size >= MAX_SHARED_STATES) this.here.delete(k);
    this.here.set(key, { value, expires });
  }
}

/** Removes expired login state and Kerberos authenticators (any hub may: compare-and-set), so what was started and never finished does not stay. */
export function sweepExpiredLoginState(store: SecurityStore, now: () => number = Date.now): { stop(): void; sweep(): Promise<number> } {
  const sweep = async (): Promise<number> => {
    let removed = 0;
    const t = now();
    for (const kind of ['oidc', 'saml', 'kerberos'] as SecurityKind[]) {
      for (const [key, v] of store.entries<Expiring>(kind)) {
        if (!(v.expires <= t)) continue;
        removed += await store.updateAll<Expiring, number>(kind, [key], ([cur]) => (cur && cur.expires <= t ? { next: [undefined], result: 1 } : { result: 0 }));
      }
    }
    return removed;
  };
  const timer = setInterval(() => void sweep().catch(() => undefined), 60_000);
  timer.unref();
  return { stop: () => clearInterval(timer), sweep };
}
