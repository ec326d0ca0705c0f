// State that must be the same on every hub of a region besides the fleet: notification
// dedupe and sessions. In Redis when it is configured, in memory for a standalone hub.
import type { Redis } from 'ioredis';
import type { ReplicationKeys } from './keys.js';

export interface DedupeStore {
  /** True for the first caller of key within ttlMs (region-wide), false for the others. */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

export interface SessionStore {
  get<T>(id: string): Promise<T | undefined>;
  /** Stores (or replaces) the session; it expires ttlMs after the last set/touch. */
  set(id: string, value: unknown, ttlMs: number): Promise<void>;
  touch(id: string, ttlMs: number): Promise<boolean>;
  delete(id: string): Promise<void>;
}

export class RedisDedupeStore implements DedupeStore {
  constructor(private readonly redis: Redis, private readonly keys: ReplicationKeys) {}
  async claim(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.dedupe(key), '1', 'PX', ttlMs, 'NX')) === 'OK';
  }
}

export class RedisSessionStore implements SessionStore {
  constructor(private readonly redis: Redis, private readonly keys: ReplicationKeys) {}
  async get<T>(id: string): Promise<T | undefined> {
    const text = await this.redis.get(this.keys.session(id));
    return text === null ? undefined : (JSON.parse(text) as T);
  }
  async set(id: string, value: unknown, ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.session(id), JSON.stringify(value), 'PX', ttlMs);
  }
  async touch(id: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.pexpire(this.keys.session(id), ttlMs)) === 1;
  }
  async delete(id: string): Promise<void> {
    await this.redis.del(this.keys.session(id));
  }
}

export class MemoryDedupeStore implements DedupeStore {
  private readonly until = new Map<string, number>();
  async claim(key: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if ((this.until.get(key) ?? 0) > now) return false;
    this.until.set(key, now + ttlMs);
    if (this.until.size > 100_000) for (const [k, t] of this.until) if (t <= now) this.until.delete(k);
    return true;
  }
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, { value: string; until: number }>();
  async get<T>(id: string): Promise<T | undefined> {
    const s = this.sessions.get(id);
    if (!s || s.until <= Date.now()) return undefined;
    return JSON.parse(s.value) as T;
  }
  async set(id: string, value: unknown, ttlMs: number): Promise<void> {
    this.sessions.set(id, { value: JSON.stringify(value), until: Date.now() + ttlMs });
  }
  async touch(id: string, ttlMs: number): Promise<boolean> {
    const s = this.sessions.get(id);
    if (!s || s.until <= Date.now()) return false;
    s.until = Date.now() + ttlMs;
    return true;
  }
  async delete(id: string): Promise<void> {
    this.sessions.delete(id);
  }
}
