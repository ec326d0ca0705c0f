import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { MemoryLoginLimiter, RedisLoginLimiter } from './login-limiter.js';

describe('login limiter (memory)', () => {
  it('locks a key after max failures within the window, for the lockout time; old failures slide out', async () => {
    let now = 1_000_000;
    const limiter = new MemoryLoginLimiter({ max_failures_per_user: 3, max_failures_per_ip: 10, window: 60_000, lockout: 300_000 }, () => now);
    const fail = () => limiter.fail([{ key: 'user:alice', max: 3 }]);
    await fail();
    await fail();
    expect(await limiter.lockedFor(['user:alice'])).toBe(0);
    // The first two slide out of the window: two more do not lock.
    now += 61_000;
    await fail();
    await fail();
    expect(await limiter.lockedFor(['user:alice'])).toBe(0);
    await fail();
    expect(await limiter.lockedFor(['user:alice', 'ip:1.2.3.4'])).toBe(300_000);
    expect(await limiter.lockedFor(['user:bob'])).toBe(0);
    now += 299_000;
    expect(await limiter.lockedFor(['user:alice'])).toBe(1_000);
    now += 1_000;
    expect(await limiter.lockedFor(['user:alice'])).toBe(0);
  });

  it('a success resets the user count', async () => {
    const limiter = new MemoryLoginLimiter({ max_failures_per_user: 2, max_failures_per_ip: 10, window: 60_000, lockout: 60_000 });
    await limiter.fail([{ key: 'user:a', max: 2 }]);
    await limiter.reset('user:a');
    await limiter.fail([{ key: 'user:a', max: 2 }]);
    expect(await limiter.lockedFor(['user:a'])).toBe(0);
  });
});

describe('login limiter (Redis) when Redis is unreachable', () => {
  it('fails closed with a 503 that says the shared counters are unreachable', async () => {
    const { createRedis } = await import('../replication/index.js');
    const { redisConfigSchema } = await import('../config/index.js');
    const redis = createRedis(redisConfigSchema.parse({ url: `redis://127.0.0.1:${await closedPort()}`, connect_timeout: '200ms', command_timeout: '200ms' }), { name: 'login', offlineQueue: false });
    redis.on('error', () => undefined);
    const limiter = new RedisLoginLimiter(redis, 'sfleet:r:login:', { max_failures_per_user: 3, max_failures_per_ip: 10, window: 60_000, lockout: 60_000 });
    try {
      await expect(limiter.lockedFor(['user:alice'])).rejects.toMatchObject({ httpStatus: 503, message: expect.stringMatching(/shared login counters \(Redis\) cannot be reached/) });
      await expect(limiter.fail([{ key: 'user:alice', max: 3 }])).rejects.toMatchObject({ httpStatus: 503 });
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
