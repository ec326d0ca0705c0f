// The login limiter's counting, over a store of counters that can change several keys at once
// (compare-and-set): this hub's memory, its data directory (standalone: a restart does not end
// a lockout), or the hub group's shared security store (etcd, hub/security-store). The rule is
// the one described in login-limiter.ts: a slot is taken on every key of an attempt before the
// password is checked.
import { randomBytes } from 'node:crypto';
import { TooManyAttemptsError } from './errors.js';

export interface LimitKey {
  key: string;
  /** Attempts that did not succeed, within `window`, that the key holds. */
  max: number;
  window: number;
  lockout: number;
}

/** One attempt's hold on its keys: exactly one of fail/succeed is called once the password was checked. */
export interface LoginSlot {
  fail(): Promise<void>;
  succeed(): Promise<void>;
}

export interface LoginLimiter {
  /** A slot on every key, or TooManyAttemptsError (nothing taken) when one of them is locked or full. */
  take(keys: LimitKey[]): Promise<LoginSlot>;
  /** Ends the lockouts and forgets the failures of these keys (an admin's unlock). */
  unlock(keys: string[]): Promise<void>;
}

/** One key's counters as a backend stores them. */
export interface CounterState {
  /** Attempt id -> when it was taken (in flight or failed). */
  attempts: Record<string, number>;
  lockedUntil: number;
  /** When nothing of it counts any more (a backend may drop it then). */
  expires: number;
}

export interface Transaction<R> {
  /** New states, one per key (undefined: the key is removed); absent: nothing is written. */
  writes?: (CounterState | undefined)[];
  result: R;
}

export interface LimiterBackend {
  /**
   * Reads the states of `keys`, runs `change` on them and writes what it returns for all keys
   * at once, or for none when another writer changed one of them meanwhile: then `change` runs
   * again on the new states (it must not have effects of its own). Throws when the backend
   * cannot be reached.
   */
  transact<R>(keys: string[], change: (states: (CounterState | undefined)[]) => Transaction<R>): Promise<R>;
  remove(keys: string[]): Promise<void>;
}

export class CountingLoginLimiter implements LoginLimiter {
  constructor(
    private readonly backend: LimiterBackend,
    private readonly now: () => number = Date.now,
  ) {}

  async take(keys: LimitKey[]): Promise<LoginSlot> {
    const takenAt = this.now();
    const id = randomBytes(8).toString('hex');
    const names = keys.map((k) => k.key);
    const wait = await this.backend.transact(names, (states) => {
      let wait = 0;
      const fresh = keys.map((k, i) => live(states[i], k, takenAt));
      keys.forEach((k, i) => {
        const s = fresh[i];
        const times = Object.values(s.attempts);
        if (s.lockedUntil > takenAt) wait = Math.max(wait, s.lockedUntil - takenAt);
        else if (times.length >= k.max) wait = Math.max(wait, Math.min(...times) + k.window - takenAt, 1);
      });
      if (wait > 0) return { result: wait };
      return { writes: keys.map((k, i) => withExpiry({ ...fresh[i], attempts: { ...fresh[i].attempts, [id]: takenAt } }, k)), result: 0 };
    });
    if (wait > 0) throw new TooManyAttemptsError(wait);
    return {
      fail: () =>
        this.backend.transact(names, (states) => {
          const t = this.now();
          return {
            writes: keys.map((k, i) => {
              const s = live(states[i], k, t);
              if (Object.keys(s.attempts).length >= k.max) s.lockedUntil = Math.max(s.lockedUntil, t + k.lockout);
              return withExpiry(s, k);
            }),
            result: undefined,
          };
        }),
      succeed: () =>
        this.backend.transact(names, (states) => {
          const t = this.now();
          return {
            writes: keys.map((k, i) => {
              const s = live(states[i], k, t);
              // Its own slot and the failures before it; attempts still in flight keep theirs.
              s.attempts = Object.fromEntries(Object.entries(s.attempts).filter(([other, at]) => other !== id && at >= takenAt));
              return Object.keys(s.attempts).length === 0 && s.lockedUntil <= t ? undefined : withExpiry(s, k);
            }),
            result: undefined,
          };
        }),
    };
  }

  unlock(keys: string[]): Promise<void> {
    return this.backend.remove(keys);
  }
}

/** The state without the attempts that left the window (a copy: `change` must not alter what it was given). */
function live(state: CounterState | undefined, k: LimitKey, now: number): CounterState {
  const attempts: Record<string, number> = {};
  for (const [id, at] of Object.entries(state?.attempts ?? {})) if (at > now - k.window) attempts[id] = at;
  return { attempts, lockedUntil: state?.lockedUntil ?? 0, expires: state?.expires ?? 0 };
}

function withExpiry(s: CounterState, k: LimitKey): CounterState {
  const times = Object.values(s.attempts);
  s.expires = Math.max(s.lockedUntil, times.length ? Math.max(...times) + k.window : 0);
  return s;
}

/** This hub's memory (tests, and the base of the file backend). */
export class MemoryLimiterBackend implements LimiterBackend {
  protected readonly states = new Map<string, CounterState>();
  constructor(protected readonly now: () => number = Date.now) {}

  async transact<R>(keys: string[], change: (states: (CounterState | undefined)[]) => Transaction<R>): Promise<R> {
    // Synchronous from read to write: nothing else runs in between (the wait for the disk comes after).
    const { writes, result } = change(keys.map((k) => this.states.get(k)));
    if (writes) {
      keys.forEach((k, i) => (writes[i] ? this.states.set(k, writes[i]) : this.states.delete(k)));
      await this.changed();
    }
    return result;
  }

  async remove(keys: string[]): Promise<void> {
    for (const k of keys) this.states.delete(k);
    await this.changed();
  }

  /**
   * Called after each change, whose caller waits for what it returns (a subclass: the change on
   * disk). Here: drops what no longer counts once there are many keys (a flood of user names).
   */
  protected changed(): void | Promise<void> {
    if (this.states.size < 10_000) return;
    const now = this.now();
    for (const [k, s] of this.states) if (s.expires <= now) this.states.delete(k);
  }
}
