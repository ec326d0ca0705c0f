// The login limiter's counters of a hub group in the shared security store (kind "login", one
// record per limit key): etcd's compare-and-set on the records' revisions does what Redis's Lua
// scripts did, so a slot taken on hub A counts on hub B before either checks a password. While
// the store cannot be reached this answers at once with SecurityStoreUnavailableError, and the
// hub counts alone (FallbackLoginLimiter) rather than waiting on every login.
import type { CounterState, LimiterBackend, Transaction } from '../login/limiter-backend.js';
import { SecurityStoreUnavailableError } from './errors.js';
import type { SecurityStore } from './security-store.js';

export class SecurityStoreLimiterBackend implements LimiterBackend {
  /** This hub's own attempts one after another: the retries are then only against other hubs. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly store: SecurityStore,
    private readonly now: () => number = Date.now,
    sweepMs = 60_000,
  ) {
    // Counters that no longer count leave the store (any hub may do it: compare-and-set).
    this.sweeper = setInterval(() => void this.sweep().catch(() => undefined), sweepMs);
    this.sweeper.unref();
  }

  transact<R>(keys: string[], change: (states: (CounterState | undefined)[]) => Transaction<R>): Promise<R> {
    const run = this.queue.then(() => {
      if (!this.store.connected) throw new SecurityStoreUnavailableError('the shared security store (etcd) cannot be reached');
      return this.store.updateAll<CounterState, R>('login', keys, (current) => {
        const { writes, result } = change(current);
        return writes ? { next: writes, result } : { result };
      });
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async remove(keys: string[]): Promise<void> {
    await this.store.updateAll('login', keys, () => ({ next: keys.map(() => undefined), result: undefined }));
  }

  async sweep(): Promise<number> {
    const t = this.now();
    const gone = this.store.entries<CounterState>('login').filter(([, s]) => s.expires <= t);
    for (const [key] of gone) {
      await this.transact([key], ([s]) => (s && s.expires <= t ? { writes: [undefined], result: undefined } : { result: undefined }));
    }
    return gone.length;
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}

/**
 * Failed (or still running) login attempts per source address within `windowMs`, from the
 * limiter's `ip:<address>` counters: what every hub of the group saw, for the login_failures rule.
 */
export function loginFailuresBySource(store: SecurityStore, now: number, windowMs: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, state] of store.entries<CounterState>('login')) {
    if (!key.startsWith('ip:')) continue;
    const n = Object.values(state.attempts ?? {}).filter((at) => now - at <= windowMs).length;
    if (n > 0) out.set(key.slice('ip:'.length), n);
  }
  return out;
}
