// State that must be the same on every hub of a region besides the fleet: notification
// dedupe and a small expiring key-value store (hub/login keeps its login sessions and
// WebAuthn challenges there). In Redis when it is configured, in memory for a standalone hub.
import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../../shared/clock/index.js';
import type { ReplicationKeys } from './keys.js';

export interface DedupeStore {
  /** True for the first caller of key within ttlMs (region-wide), false for the others. */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

/** Region-wide key-value store; values are JSON and every entry expires. */
export interface SharedKvStore {
  get<T>(key: string): Promise<T | undefined>;
  /** Stores (or replaces) the value; it expires ttlMs after the last set/touch. */
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  touch(key: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /**
   * Replaces an entry by `change(current)` as one step against every other hub: nothing when the
   * entry is gone (a session revoked meanwhile stays revoked) or `change` answers undefined; the
   * entry keeps its expiry. True when it was replaced.
   */
  modify<T>(key: string, change: (current: T) => T | undefined): Promise<boolean>;
}

export class RedisDedupeStore implements DedupeStore {
  constructor(private readonly redis: Redis, private readonly keys: ReplicationKeys) {}
  async claim(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.dedupe(key), '1', 'PX', ttlMs, 'NX')) === 'OK';
  }
}

export class RedisSharedKvStore implements SharedKvStore {
  constructor(private readonly redis: Redis, private readonly keys: ReplicationKeys) {}
  async get<T>(key: string): Promise<T | undefined> {
    const text = await this.redis.get(this.keys.sharedKv(key));
    return text === null ? undefined : (JSON.parse(text) as T);
  }
  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.sharedKv(key), JSON.stringify(value), 'PX', ttlMs);
  }
  async touch(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.pexpire(this.keys.sharedKv(key), ttlMs)) === 1;
  }
  async delete(key: string): Promise<void> {
    await this.redis.del(this.keys.sharedKv(key));
  }
  // Optimistic: read, change, then write only if the entry is still the text read (a Lua
  // compare-and-set, so no other hub's write or delete falls in between); else read again.
  // WATCH/MULTI would need a connection of its own: this one is shared by concurrent callers.
  async modify<T>(key: string, change: (current: T) => T | undefined): Promise<boolean> {
    const redisKey = this.keys.sharedKv(key);
    for (let attempt = 0; attempt < MODIFY_ATTEMPTS; attempt++) {
      const text = await this.redis.get(redisKey);
      if (text === null) return false;
      const next = change(JSON.parse(text) as T);
      if (next === undefined) return false;
      if (Number(await this.redis.eval(REPLACE_IF_SAME, 1, redisKey, text, JSON.stringify(next))) === 1) return true;
      // Another hub wrote in between: step back a random while, or a hub writing in a tight
      // loop may win every round against this one (seen under load without it).
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(64, 2 ** attempt)));
    }
    throw new Error(`the shared entry kept changing under ${MODIFY_ATTEMPTS} attempts to modify it`);
  }
}

const MODIFY_ATTEMPTS = 16;
/** KEYS[1]: the entry; ARGV[1]: its text as read; ARGV[2]: the new text. The expiry stays (KEEPTTL, Redis 6+). */
const REPLACE_IF_SAME = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1`;

export class MemoryDedupeStore implements DedupeStore {
  private readonly until = new Map<string, number>();
  constructor(private readonly clock: Clock = systemClock) {}
  async claim(key: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    if ((this.until.get(key) ?? 0) > now) return false;
    this.until.set(key, now + ttlMs);
    if (this.until.size > 100_000) for (const [k, t] of this.until) if (t <= now) this.until.delete(k);
    return true;
  }
}

export class MemorySharedKvStore implements SharedKvStore {
  private readonly entries = new Map<string, { value: string; until: number }>();
  constructor(private readonly clock: Clock = systemClock) {}
  async get<T>(key: string): Promise<T | undefined> {
    const e = this.entries.get(key);
    if (!e || e.until <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return JSON.parse(e.value) as T;
  }
  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    const now = this.clock.now();
    for (const [k, e] of this.entries) if (e.until <= now) this.entries.delete(k);
    this.entries.set(key, { value: JSON.stringify(value), until: now + ttlMs });
  }
  async touch(key: string, ttlMs: number): Promise<boolean> {
    const e = this.entries.get(key);
    const now = this.clock.now();
    if (!e || e.until <= now) return false;
    e.until = now + ttlMs;
    return true;
  }
  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }
  async modify<T>(key: string, change: (current: T) => T | undefined): Promise<boolean> {
    const e = this.entries.get(key);
    if (!e || e.until <= this.clock.now()) return false;
    const next = change(JSON.parse(e.value) as T);
    if (next === undefined) return false;
    e.value = JSON.stringify(next);
    return true;
  }
}
