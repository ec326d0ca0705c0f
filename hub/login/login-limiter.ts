// Login rate limiting without a race: an attempt takes a slot on each of its keys BEFORE the
// password is checked (before any hash or LDAP bind), so 40 concurrent attempts count as 40, not
// as the failures that happened to finish first. A key holds at most `max` attempts that did not
// succeed (in flight or failed) within `window`; when its failures reach `max` it is locked for
// `lockout`. A success gives its slot back and forgets the earlier failures of its keys.
// Where the counters live (hub/login/logins.ts): in a hub group, the group's shared security
// store (etcd: every hub counts the same attempts, a quorum keeps them); a hub with Redis and
// no etcd, Redis; while the shared counters cannot be reached each hub counts alone
// (FallbackLoginLimiter). A standalone hub, and the fallback, keep theirs in the data
// directory, so a restart does not end a lockout.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logging/index.js';
import { TooManyAttemptsError } from './errors.js';
import { CountingLoginLimiter, MemoryLimiterBackend, type LimitKey, type LoginLimiter, type LoginSlot } from './limiter-backend.js';

export type { LimitKey, LoginLimiter, LoginSlot } from './limiter-backend.js';

/** Counts in this hub's memory only (tests). */
export class MemoryLoginLimiter extends CountingLoginLimiter {
  constructor(now: () => number = Date.now) {
    super(new MemoryLimiterBackend(now), now);
  }
}

// KEYS: per limit key, its attempts zset and its lock key. ARGV: now, id, then max and window per key.
// Answers the wait in ms (0: the slot was taken on every key).
const TAKE = `
local now = tonumber(ARGV[1]); local id = ARGV[2]
local n = #KEYS / 2; local wait = 0
for i = 1, n do
  local z = KEYS[2*i-1]; local lock = KEYS[2*i]; local max = tonumber(ARGV[1+2*i]); local window = tonumber(ARGV[2+2*i])
  local ttl = redis.call('PTTL', lock)
  if ttl > 0 then wait = math.max(wait, ttl) else
    redis.call('ZREMRANGEBYSCORE', z, 0, now - window)
    if redis.call('ZCARD', z) >= max then
      local oldest = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
      wait = math.max(wait, tonumber(oldest[2]) + window - now, 1)
    end
  end
end
if wait > 0 then return wait end
for i = 1, n do
  redis.call('ZADD', KEYS[2*i-1], now, id); redis.call('PEXPIRE', KEYS[2*i-1], tonumber(ARGV[2+2*i]))
end
return 0
`;

// ARGV: then per key max and lockout. Locks each key whose attempts reached its max.
const FAIL = `
for i = 1, #KEYS / 2 do
  local z = KEYS[2*i-1]; local lock = KEYS[2*i]
  if redis.call('ZCARD', z) >= tonumber(ARGV[2*i-1]) then redis.call('SET', lock, '1', 'PX', tonumber(ARGV[2*i])) end
end
return 0
`;

// ARGV: id, taken-at. Removes the slot and the failures before it.
const SUCCEED = `
for i = 1, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[1]); redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, tonumber(ARGV[2]) - 1)
end
return 0
`;

export class RedisLoginLimiter implements LoginLimiter {
  constructor(
    private readonly redis: Redis,
    /** "<key_prefix>:<region>:login:" */
    private readonly prefix: string,
  ) {}

  async take(keys: LimitKey[]): Promise<LoginSlot> {
    const now = Date.now();
    const id = `${now}-${randomBytes(6).toString('hex')}`;
    const redisKeys = keys.flatMap((k) => [`${this.prefix}att:${k.key}`, `${this.prefix}lock:${k.key}`]);
    const wait = Number(await this.redis.eval(TAKE, redisKeys.length, ...redisKeys, now, id, ...keys.flatMap((k) => [k.max, k.window])));
    if (wait > 0) throw new TooManyAttemptsError(wait);
    return {
      fail: async () => {
        await this.redis.eval(FAIL, redisKeys.length, ...redisKeys, ...keys.flatMap((k) => [k.max, k.lockout]));
      },
      succeed: async () => {
        const zsets = keys.map((k) => `${this.prefix}att:${k.key}`);
        await this.redis.eval(SUCCEED, zsets.length, ...zsets, id, now);
      },
    };
  }

  async unlock(keys: string[]): Promise<void> {
    if (keys.length) await this.redis.del(...keys.flatMap((k) => [`${this.prefix}att:${k}`, `${this.prefix}lock:${k}`]));
  }
}

/**
 * The shared limiter while it answers; this hub's own counts while it does not (each hub then
 * allows its own `max` per key: with N hubs an attacker gets at most N times the limit).
 */
export class FallbackLoginLimiter implements LoginLimiter {
  private down = false;
  constructor(
    private readonly shared: LoginLimiter,
    private readonly local: LoginLimiter,
    private readonly logger: Logger,
  ) {}

  async take(keys: LimitKey[]): Promise<LoginSlot> {
    let slot: LoginSlot;
    try {
      slot = await this.shared.take(keys);
    } catch (err) {
      if (err instanceof TooManyAttemptsError) throw err;
      if (!this.down) this.logger.warn({ err: (err as Error).message.slice(0, 160) }, 'login limiter: the shared counters (security store or Redis) cannot be reached; this hub counts failed logins alone until they can');
      this.down = true;
      return this.local.take(keys);
    }
    if (this.down) this.logger.info('login limiter: the shared counters answer again');
    this.down = false;
    // A shared slot whose outcome cannot be recorded is recorded here: the count is not lost.
    return {
      fail: () => slot.fail().catch(async () => (await this.local.take(keys).catch(() => undefined))?.fail()),
      succeed: () => slot.succeed().catch(() => undefined),
    };
  }

  async unlock(keys: string[]): Promise<void> {
    await this.local.unlock(keys);
    await this.shared.unlock(keys);
  }
}
