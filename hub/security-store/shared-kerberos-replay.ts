// The Kerberos replay cache of a hub group in the shared security store (kind "kerberos"): an
// authenticator accepted by one hub is refused by every other hub of the group for as long as it
// is inside the clock skew, so a token captured on its way to hub A cannot open a session on hub
// B. Keys are SHA-256 of the authenticator's identity (service, client, ctime, cusec): principal
// names are not in key names. The claim is compare-and-set in etcd: of two hubs given the same
// authenticator at once, one accepts it.
// While the store cannot be reached each hub keeps its own cache (the one of a standalone hub):
// a replay to the same hub is refused, one to another hub is not; what was accepted meanwhile
// is published once the store is back.
import { createHash } from 'node:crypto';
import type { Logger } from '../../shared/logging/index.js';
import { ReplayCache, type AuthenticatorReplay, type ReplayClaim } from '../login/kerberos/index.js';
import { SecurityStoreUnavailableError } from './errors.js';
import type { SecurityStore } from './security-store.js';

/** Authenticators kept in the store at most: past it new logins are refused, as a full local cache refuses them. */
const MAX_SHARED = 20_000;

interface Expiring {
  expires: number;
}

export class SharedKerberosReplay implements AuthenticatorReplay {
  private readonly local = new ReplayCache();

  /** The store was unreachable at the last claim (logged once per outage). */
  private localOnly = false;

  constructor(
    private readonly store: SecurityStore,
    private readonly logger: Logger,
  ) {}

  async claim(id: string, until: number, now: number): Promise<ReplayClaim> {
    const key = createHash('sha256').update(id).digest('hex');
    if (this.store.connected) {
      try {
        const claimed = await this.store.updateAll<Expiring, ReplayClaim>('kerberos', [key], ([seen]) => {
          if (seen && seen.expires > now) return { result: 'replayed' };
          if (!seen && this.store.entries('kerberos').length >= MAX_SHARED) return { result: 'full' };
          return { next: [{ expires: until }], result: 'added' };
        });
        if (this.localOnly) this.logger.info('security store reachable again: Kerberos authenticators are checked across the hub group');
        this.localOnly = false;
        return claimed;
      } catch (err) {
        if (!(err instanceof SecurityStoreUnavailableError)) throw err;
      }
    }
    // This hub's copy and memory decide; the authenticator reaches the group once the store is back.
    const seen = this.store.get<Expiring>('kerberos', key);
    if (seen && seen.expires > now) return 'replayed';
    const claimed = this.local.claim(key, until, now);
    if (claimed !== 'added') return claimed;
    // Once per outage, not once per login.
    if (!this.localOnly) this.logger.warn('security store unreachable: Kerberos authenticators are checked against this hub\'s replay cache only until it is back');
    this.localOnly = true;
    await this.store.put('kerberos', key, { expires: until }, { queue: true });
    return 'added';
  }
}
