import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtRest } from '../../shared/crypto/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { authConfigSchema } from './config.js';
import { FileLimiterBackend } from './file-limiter-backend.js';
import { CountingLoginLimiter } from './limiter-backend.js';
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

describe('login limiter (a standalone hub\'s data directory)', () => {
  it('a restart does not end a lockout nor forget failures; a counter that no longer counts is dropped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'login-limits-'));
    let now = 5_000_000;
    const open = () => new CountingLoginLimiter(new FileLimiterBackend(dir, AtRest.plaintext(), silentLogger(), () => now), () => now);
    const bob: LimitKey = { ...alice, key: 'user:bob' };
    const before = open();
    for (let i = 0; i < 3; i++) await (await before.take([alice])).fail();
    await (await before.take([bob])).fail();
    await expect(before.take([alice])).rejects.toMatchObject({ httpStatus: 429 });
    // The hub restarts: the lockout holds, bob's one failure still counts.
    const after = open();
    await expect(after.take([alice])).rejects.toMatchObject({ retryAfterSeconds: 300 });
    await (await after.take([bob])).fail();
    await (await after.take([bob])).fail();
    await expect(after.take([bob])).rejects.toMatchObject({ httpStatus: 429 });
    // Once the lockouts are over, a restart starts from a file without them.
    now += 300_001;
    const later = open();
    await (await later.take([{ ...alice, key: 'user:carol' }])).succeed();
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'login-limits.json'), 'utf8')) as object)).toEqual([]);
    await expect(later.take([alice])).resolves.toBeDefined();
  });

  it('an unreadable file does not stop the hub: counting starts from zero, and it is said', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'login-limits-'));
    writeFileSync(join(dir, 'login-limits.json'), '{not json');
    const errors: string[] = [];
    const logger = { ...silentLogger(), error: (_o: unknown, msg: string) => void errors.push(msg) } as unknown as ReturnType<typeof silentLogger>;
    const backend = new FileLimiterBackend(dir, AtRest.plaintext(), logger);
    expect(errors.join()).toMatch(/cannot be read/);
    await expect(backend.transact(['user:alice'], ([s]) => ({ result: s }))).resolves.toBeUndefined();
  });

  it('a burst shares its writes, and every attempt let through is already in the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'login-limits-'));
    const backend = new FileLimiterBackend(dir, AtRest.plaintext(), silentLogger());
    const limiter = new CountingLoginLimiter(backend);
    const many: LimitKey = { ...alice, max: 1000 };
    const onDisk = () => Object.keys((JSON.parse(readFileSync(join(dir, 'login-limits.json'), 'utf8')) as Record<string, { attempts: object }>)['user:alice']?.attempts ?? {}).length;
    let through = 0;
    const seen: number[] = [];
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        await limiter.take([many]);
        through++;
        seen.push(onDisk() - through);
      }),
    );
    // A crash right after any answer would have lost none of the attempts answered so far.
    expect(seen.every((d) => d >= 0)).toBe(true);
    expect(onDisk()).toBe(40);
    expect(backend.writes).toBeLessThan(40);
  });

  it('a file that cannot be written refuses the attempt with a clear 503 (nothing goes on uncounted)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'login-limits-'));
    // The write's temp file is taken by a directory: every write fails (EISDIR), even as root.
    mkdirSync(join(dir, `login-limits.json.tmp-${process.pid}`));
    const limiter = new CountingLoginLimiter(new FileLimiterBackend(dir, AtRest.plaintext(), silentLogger()));
    await expect(limiter.take([alice])).rejects.toMatchObject({ code: 'SF_STORAGE_UNWRITABLE', httpStatus: 503 });
  });
});
