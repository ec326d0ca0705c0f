// Login rate limiting and lockout: failed logins are counted per user name and per source
// address in a sliding window; at the limit the key is locked out for `lockout`. A locked key
// is refused before any password is checked (429 with Retry-After). In Redis when the hub has a
// redis section, so every hub of the group counts the same failures.
import type { Redis } from 'ioredis';
import type { AuthConfig } from './config.js';
import { DirectoryUnavailableError } from './errors.js';

export type LimitConfig = AuthConfig['rate_limit'];

export interface LoginLimiter {
  /** Milliseconds until the first of these keys is unlocked; 0 when none is locked. */
  lockedFor(keys: string[]): Promise<number>;
  /** Counts a failure against each key; locks the keys that reach their limit. */
  fail(keys: { key: string; max: number }[]): Promise<void>;
  /** Forgets the failures of a key (a successful login of that user). */
  reset(key: string): Promise<void>;
}

export function limiterKeys(user: string, ip: string | undefined): { user: string; ip?: string } {
  return { user: `user:${user.toLowerCase()}`, ...(ip ? { ip: `ip:${ip}` } : {}) };
}

export class MemoryLoginLimiter implements LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly locks = new Map<string, number>();
  constructor(
    private readonly config: LimitConfig,
    private readonly now: () => number = Date.now,
  ) {}

  async lockedFor(keys: string[]): Promise<number> {
    const now = this.now();
    let ms = 0;
    for (const k of keys) ms = Math.max(ms, (this.locks.get(k) ?? 0) - now);
    return ms;
  }

  async fail(keys: { key: string; max: number }[]): Promise<void> {
    const now = this.now();
    for (const { key, max } of keys) {
      const recent = (this.failures.get(key) ?? []).filter((t) => t > now - this.config.window);
      recent.push(now);
      this.failures.set(key, recent);
      if (recent.length >= max) {
        this.locks.set(key, now + this.config.lockout);
        this.failures.delete(key);
      }
    }
    if (this.failures.size > 100_000) for (const [k, ts] of this.failures) if (ts[ts.length - 1] <= now - this.config.window) this.failures.delete(k);
  }

  async reset(key: string): Promise<void> {
    this.failures.delete(key);
  }
}

export class RedisLoginLimiter implements LoginLimiter {
  constructor(
    private readonly redis: Redis,
    /** "<key_prefix>:<region>:login:" */
    private readonly prefix: string,
    private readonly config: LimitConfig,
  ) {}

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // Fail closed: without the shared counters a lockout could be dodged by changing hubs.
      throw new DirectoryUnavailableError(`login is unavailable: the shared login counters (Redis) cannot be reached (${(err as Error).message.slice(0, 120)})`);
    }
  }

  async lockedFor(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const ttls = await this.call(() => Promise.all(keys.map((k) => this.redis.pttl(`${this.prefix}lock:${k}`))));
    return Math.max(0, ...ttls);
  }

  async fail(keys: { key: string; max: number }[]): Promise<void> {
    const now = Date.now();
    for (const { key, max } of keys) {
      const zkey = `${this.prefix}fail:${key}`;
      const res = await this.call(() =>
        this.redis
          .multi()
          .zremrangebyscore(zkey, 0, now - this.config.window)
          .zadd(zkey, now, `${now}-${Math.random().toString(36).slice(2)}`)
          .zcard(zkey)
          .pexpire(zkey, this.config.window)
          .exec(),
      );
      const count = Number(res?.[2]?.[1] ?? 0);
      if (count >= max) await this.call(() => this.redis.multi().set(`${this.prefix}lock:${key}`, '1', 'PX', this.config.lockout).del(zkey).exec());
    }
  }

  async reset(key: string): Promise<void> {
    await this.call(() => this.redis.del(`${this.prefix}fail:${key}`));
  }
}
