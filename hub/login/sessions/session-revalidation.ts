// Directory sessions re-check their account (auth.session.revalidate): a session keeps the
// principal of its login, so without this a user removed or disabled in the directory, or moved
// out of a group, would keep their session and its roles until it expires (12 h by default).
// The check is lazy: the first use of a session after each interval looks the account up again
// (open watches use theirs every limits.session_recheck, so they end within interval + recheck).
// A directory that cannot answer keeps the session as it was and is asked again on the next use:
// an outage of the directory must not log everyone out.
import { UnauthenticatedError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { AuthInput, BearerVerifier, Principal } from '../../policy/index.js';
import { sessionKey, type SessionStore } from './session-store.js';

/**
 * Looks a user up again without their password: undefined when the account is gone or disabled
 * (the session ends); throws when the directory or identity provider cannot answer (it stays).
 * `session` is the session's own token (an OIDC session refreshes with the token kept with it);
 * `current` what the session holds now.
 */
export interface AccountLookup {
  lookup(name: string, session: string, current: Principal): Promise<{ name: string; groups: string[]; attributes: Record<string, string> } | undefined>;
}

export interface RevalidationOptions {
  /** auth.session.revalidate, in ms. */
  intervalMs: number;
  /** How long a session lives at most (auth.session.ttl): older checks are forgotten. */
  ttlMs: number;
  now?: () => number;
}

/** Why a re-check ended a session, by the session's login method. */
const ENDED: Partial<Record<Principal['method'], string>> = {
  ldap: 'the directory account no longer exists or is disabled',
  oidc: 'the identity provider no longer accepts this login (account disabled, or its refresh token withdrawn): log in again',
  saml: 'a SAML login lasts at most auth.session.revalidate (the identity provider cannot be asked again): log in again',
  smart_card: 'the smart card\'s certificate is now on the CRL (auth.smart_card.crl_file)',
};

interface Checked {
  at: number;
  principal: Principal;
}

export class RevalidatingSessionVerifier implements BearerVerifier {
  readonly kind = 'session';
  private readonly checked = new Map<string, Checked>();
  private readonly pending = new Map<string, Promise<Principal>>();
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(
    private readonly inner: BearerVerifier,
    private readonly sessions: Pick<SessionStore, 'revoke'>,
    /** By the method the session was opened with ('ldap', 'oidc', 'saml'); other sessions pass as they are. Filled in as the providers start. */
    readonly lookups: Partial<Record<Principal['method'], AccountLookup>>,
    private readonly opts: RevalidationOptions,
    private readonly logger: Logger,
  ) {
    this.now = opts.now ?? Date.now;
  }

  async verify(credential: string, input: AuthInput): Promise<Principal | undefined> {
    const stored = await this.inner.verify(credential, input);
    if (!stored) return undefined;
    const lookup = this.lookups[stored.method];
    if (!lookup) return stored;
    const key = sessionKey(credential);
    const last = this.checked.get(key);
    if (last && this.now() - last.at < this.opts.intervalMs) return last.principal;
    // One look-up per session at a time, however many requests arrive together.
    let running = this.pending.get(key);
    if (!running) {
      running = this.recheck(credential, key, stored, lookup, last).finally(() => this.pending.delete(key));
      this.pending.set(key, running);
    }
    return running;
  }

  private async recheck(credential: string, key: string, stored: Principal, lookup: AccountLookup, last: Checked | undefined): Promise<Principal> {
    this.sweep();
    let found: Awaited<ReturnType<AccountLookup['lookup']>>;
    try {
      found = await lookup.lookup(stored.name, credential, last?.principal ?? stored);
    } catch (err) {
      this.logger.warn({ user: stored.name, method: stored.method, err: (err as Error).message }, 'session re-check: the directory or identity provider cannot answer; the session stays as it was until it can');
      return last?.principal ?? stored;
    }
    if (!found) {
      this.checked.delete(key);
      await this.sessions.revoke(credential);
      this.logger.info({ user: stored.name, method: stored.method }, stored.method === 'oidc' ? 'session re-check: the identity provider refused the refresh; its session has ended' : 'session re-check: the directory account is gone or disabled; its session has ended');
      throw new UnauthenticatedError(`${ENDED[stored.method] ?? ENDED.ldap}: the session has ended`);
    }
    const principal: Principal = { ...stored, groups: [...found.groups], attributes: { ...found.attributes } };
    this.checked.set(key, { at: this.now(), principal });
    return principal;
  }

  /** Forgets checks of sessions that cannot be alive any more (unused for a whole ttl). */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < this.opts.intervalMs) return;
    this.lastSweep = now;
    for (const [key, c] of this.checked) if (now - c.at > this.opts.ttlMs) this.checked.delete(key);
  }
}
