// The hub group's token buckets, one per tenant, in Redis: an atomic Lua script refills and takes
// in one step, so concurrent requests through several hubs draw on one budget. The script reads
// Redis's own clock (TIME), so the hubs' clocks need not agree.
import type { Redis } from 'ioredis';
import type { RateLimit } from './bucket.js';

/** Takes one token from a tenant's group-wide bucket: 0, or the milliseconds until one is there. Rejects when the store cannot answer. */
export interface SharedBuckets {
  take(tenant: string, limit: RateLimit): Promise<number>;
}

const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate * 1000 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
`;

/** A rate check must not hold a request up for Redis's whole command timeout: past this the hub counts alone. */
const TAKE_TIMEOUT_MS = 250;

export class RedisBuckets implements SharedBuckets {
  constructor(
    private readonly redis: Redis,
    /** The Redis key of a tenant's bucket (hub/replication keys: the region's prefix). */
    private readonly keyOf: (tenant: string) => string,
  ) {}

  async take(tenant: string, limit: RateLimit): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${TAKE_TIMEOUT_MS} ms`)), TAKE_TIMEOUT_MS);
    });
    try {
      const wait = await Promise.race([this.redis.eval(TAKE, 1, this.keyOf(tenant), String(limit.requests_per_second), String(limit.burst)), late]);
      return Number(wait);
    } finally {
      clearTimeout(timer);
    }
  }
}
