// What every hub of a group reads and writes alike: API tokens, certificate revocations, local
// users with their TOTP secrets and WebAuthn credentials, OIDC login state, the SAML replay cache
// the Kerberos replay cache, the alerting ack-link key and the GDPR-pseudonymised users. Reads are synchronous, from this hub's copy; writes go to
// the region's shared store. `update` is compare-and-set: two hubs changing one record at once
// leave one of them re-reading (a WebAuthn counter accepted once, not twice); `updateAll` does
// the same for several records in one transaction (the login limiter's counters).
export type SecurityKind = 'tokens' | 'revocations' | 'login' | 'users' | 'oidc' | 'saml' | 'kerberos' | 'alerting' | 'pseudonyms';

export interface SecurityStore {
  /** True when the copy follows the shared store; false while it cannot be reached (the last copy answers). */
  readonly connected: boolean;
  /** Writes made while the shared store was unreachable and not yet written there. */
  readonly pending: number;
  get<T>(kind: SecurityKind, key: string): T | undefined;
  entries<T>(kind: SecurityKind): [string, T][];
  /**
   * Writes a record. `queue`: while the shared store is unreachable the write is kept (durably,
   * on this hub) and made once it is back; without it such a write fails.
   */
  put(kind: SecurityKind, key: string, value: unknown, opts?: { queue?: boolean }): Promise<void>;
  /** Compare-and-set on the record's version: `change` sees the current value and returns the new one (undefined: leave it). */
  update<T>(kind: SecurityKind, key: string, change: (current: T | undefined) => T | undefined): Promise<T | undefined>;
  /**
   * Compare-and-set on several records at once: `change` sees their current values and returns
   * the new ones (undefined in `next`: the record is removed; no `next`: nothing is written) and
   * a result; all are written or none, and `change` runs again if another hub wrote one of them meanwhile.
   */
  updateAll<T, R>(kind: SecurityKind, keys: string[], change: (current: (T | undefined)[]) => { next?: (T | undefined)[]; result: R }): Promise<R>;
  /** Removes the record and answers what it held, read from the shared store itself: of two hubs taking one record, one gets it. */
  take<T>(kind: SecurityKind, key: string): Promise<T | undefined>;
  /** Runs after a record of the kind changed, here or on another hub. */
  onChange(kind: SecurityKind, listener: (key: string) => void): void;
  close(): Promise<void>;
}
