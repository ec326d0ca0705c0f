// What every hub of a group reads and writes alike: API tokens, certificate revocations (and
// later users, factors, login state). Reads are synchronous, from this hub's copy; writes go to
// the region's shared store. `update` is compare-and-set: two hubs changing one record at once
// leave one of them re-reading (a WebAuthn counter accepted once, not twice).
export type SecurityKind = 'tokens' | 'revocations';

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
  /** Runs after a record of the kind changed, here or on another hub. */
  onChange(kind: SecurityKind, listener: (key: string) => void): void;
  close(): Promise<void>;
}
