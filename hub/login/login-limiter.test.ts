import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { silentLogger } from '../../shared/logging/index.js';
import { authConfigSchema } from './config.js';
import { FallbackLoginLimiter, MemoryLoginLimiter, RedisLoginLimiter, type LimitKey } from './login-limiter.js';
import { LoginLimits } from './login-limits.js';

const alice: LimitKey = { key: 'user:alice', max: 3, window: 60_000, lockout: 300_000 };

describe('login limiter (memory)', () => {
  it('a slot is taken before the check: 3 attempts in flight fill the key, the 4th is refused before it runs', async () => {
    const limiter = new MemoryLoginLimiter();
    const slots = await Promise.all([1, 2, 3].map(() => limiter.take([alice])));
    await expect(limiter.take([alice])).rejects.toMatchObject({ code: 'SF_AUTH_LOCKED_OUT', httpStatus: 429 });
    // One of them succeeds: its slot comes back.
    await slots[0].succeed();
    const fourth = await limiter.take([alice]);
    await Promise.all([slots[1].fail(), slots[2].fail(), fourth.fail()]);
    await expect(limiter.take([alice])).rejects.toMatchObject({ retryAfterSeconds: 300 });
  });

  it('failures slide out of the window; a lockout ends after its time; an unlock ends it at once', async () => {
    let now = 1_000_000;
    const limiter = new MemoryLoginLimiter(() => now);
    const fail = async () => (await limiter.take([alice])).fail();
    await fail();
    await fail();
    now += 61_000;
    await fail();
    await fail();
    await fail();
    await expect(limiter.take([alice])).rejects.toMatchObject({ retryAfterSeconds: 300 });
    await expect(limiter.take([{ ...alice, key: 'user:bob' }])).resolves.toBeDefined();
    now += 300_001;
    await expect(limiter.take([alice])).resolves.toBeDefined();
    for (let i = 0; i < 3; i++) await fail().catch(() => undefined);
    await expect(limiter.take([alice])).rejects.toMatchObject({ httpStatus: 429 });
    await limiter.unlock(['user:alice']);
    await expect(limiter.take([alice])).resolves.toBeDefined();
  });

  it('a refused key takes nothing on the other keys of the attempt', async () => {
    const limiter = new MemoryLoginLimiter();
    const ip: LimitKey = { key: 'ip:10.0.0.1', max: 2, window: 60_000, lockout: 60_000 };
    await (await limiter.take([alice])).fail();
    await (await limiter.take([alice])).fail();
    await (await limiter.take([alice])).fail();
    for (let i = 0; i < 5; i++) await expect(limiter.take([alice, ip])).rejects.toMatchObject({ httpStatus: 429 });
    await expect(limiter.take([ip])).resolves.toBeDefined();
  });
});

describe('login limits (keys)', () => {
  const limits = new LoginLimits(authConfigSchema.parse({ rate_limit: { trusted_sources: ['10.1.0.0/16', '2001:db8::1'] } }).rate_limit);
  it('a trusted source counts against the user only; another against (source, user) and the source too', () => {
    expect(limits.keys('Alice', '10.1.2.3').map((k) => k.key)).toEqual(['user:alice']);
    expect(limits.keys('alice', '::ffff:10.1.2.3').map((k) => k.key)).toEqual(['user:alice']);
    expect(limits.keys('alice', '2001:db8::1').map((k) => k.key)).toEqual(['user:alice']);
    const keys = limits.keys('alice', '192.0.2.7');
    expect(keys.map((k) => k.key)).toEqual(['user:alice', 'src:192.0.2.7|alice', 'ip:192.0.2.7']);
    // The per-source backoff comes before the user's lockout.
    expect(keys[1].max).toBeLessThan(keys[0].max);
    expect(keys[1].lockout).toBeLessThan(keys[0].lockout);
  });
  it('refuses a malformed CIDR in config', () => {
    for (const bad of ['10.0.0.0/33', 'example.org', '10.0.0.0/8/1', '10.0.0.0/x']) {
      expect(() => authConfigSchema.parse({ rate_limit: { trusted_sources: [bad] } }), bad).toThrow(/CIDR/);
    }
  });
});

describe('login limiter (Redis) when Redis is unreachable', () => {
  it('each hub counts alone: the local limiter takes over and still locks', async () => {
    const { createRedis } = await import('../replication/index.js');
    const { redisConfigSchema } = await import('../config/index.js');
    const redis = createRedis(redisConfigSchema.parse({ url: `redis://127.0.0.1:${await closedPort()}`, connect_timeout: '200ms', command_timeout: '200ms' }), { name: 'login', offlineQueue: false });
    redis.on('error', () => undefined);
    const limiter = new FallbackLoginLimiter(new RedisLoginLimiter(redis, 'sfleet:r:login:'), new MemoryLoginLimiter(), silentLogger());
    try {
      for (let i = 0; i < 3; i++) await (await limiter.take([alice])).fail();
      await expect(limiter.take([alice])).rejects.toMatchObject({ httpStatus: 429 });
    } finally {
      redis.disconnect();
    }
  });
});

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
