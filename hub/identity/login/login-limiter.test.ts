import { describe, expect, it } from 'vitest';
import { MemoryLoginLimiter } from './login-limiter.js';

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
