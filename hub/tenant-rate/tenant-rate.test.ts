import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from '../../shared/clock/index.js';
import { parseConfigText } from '../../shared/config/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { buildHttpApi } from '../api/rest/index.js';
import { CommandRouter } from '../commands/index.js';
import { EventLog } from '../events/index.js';
import { FleetState } from '../fleet/index.js';
import { Authenticator, Rbac, TokenStore } from '../policy/index.js';
import { multiTenancyConfigSchema, Tenancy } from '../tenancy/index.js';
import { WatchFeed } from '../watch/index.js';
import { createRedis } from '../replication/index.js';
import { redisConfigSchema } from '../config/index.js';
import { freePort } from '../../test/harness/ports.js';
import { RedisBuckets } from './shared-buckets.js';
import { TenantRateLimiter } from './tenant-rate.js';

const CONFIG = `multi_tenancy:
  enabled: true
  operators: { users: [op] }
  rate_limit: { requests_per_second: 1, burst: 3 }
  tenants:
    alpha: { clusters: [a], users: [ann] }
    beta: { clusters: [b], users: [bob], rate_limit: { requests_per_second: 50, burst: 50 } }
`;

describe('per-tenant API rate limits', () => {
  it("answers a tenant over its bucket 429 with Retry-After; another tenant and operators are not slowed; tokens come back with time", async () => {
    const config = parseConfigText(z.object({ multi_tenancy: multiTenancyConfigSchema }), CONFIG, 'hub.yaml').multi_tenancy;
    const tenancy = new Tenancy(config);
    const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 'tenant-rate-')));
    const [ann, bob, op] = ['ann', 'bob', 'op'].map((n) => tokens.create(n).token);
    const clock = new ManualClock(Date.parse('2026-06-01T12:00:00Z'));
    const limiter = new TenantRateLimiter((t) => tenancy.tenant(t)?.rate_limit ?? config.rate_limit, { clock });
    const registry = new Registry();
    limiter.registerMetrics(registry);
    const state = new FleetState();
    const { app } = await buildHttpApi({
      state,
      commands: new CommandRouter({ timeoutMs: 1000 }),
      watch: new WatchFeed(state),
      events: new EventLog({}, { logger: silentLogger() }),
      authenticator: new Authenticator(tokens),
      rbac: new Rbac(undefined, tenancy),
      logger: silentLogger(),
      readiness: () => ({ ready: true, checks: {} }),
      admitTenant: (t) => limiter.admit(t),
    });
    const get = (token: string) => app.inject({ method: 'GET', url: '/api/v1/clusters', headers: { authorization: `Bearer ${token}` } });
    try {
      for (let i = 0; i < 3; i++) expect((await get(ann)).statusCode).toBe(200);
      const refused = await get(ann);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.json()).toMatchObject({ code: 'SF_TENANT_RATE_LIMITED', retry_after: 1 });
      expect(refused.json().detail).toMatch(/tenant alpha is over its API rate limit/);
      for (let i = 0; i < 10; i++) expect((await get(bob)).statusCode).toBe(200);
      for (let i = 0; i < 10; i++) expect((await get(op)).statusCode).toBe(200);
      clock.advance(1_000);
      expect((await get(ann)).statusCode).toBe(200);
      expect((await get(ann)).statusCode).toBe(429);
      expect(await registry.metrics()).toMatch(/sfleet_tenant_rate_limited_total\{tenant="alpha"\} 2/);
    } finally {
      await app.close();
    }
  });
});

describe('tenant rate limits when the shared store cannot answer', () => {
  it('counts each tenant in a local bucket, still refuses past the burst, and reports sfleet_tenant_rate_shared 0', async () => {
    // Nothing listens on this port: ioredis refuses each command at once (no offline queue).
    const redis = createRedis(redisConfigSchema.parse({ url: `redis://127.0.0.1:${await freePort()}`, connect_timeout: '200ms' }), { name: 'tenant-rate', offlineQueue: false });
    redis.on('error', () => undefined);
    const limiter = new TenantRateLimiter(() => ({ requests_per_second: 1, burst: 2 }), { clock: new ManualClock(0), shared: new RedisBuckets(redis, (t) => `test:tenant-rate:${t}`) });
    const registry = new Registry();
    limiter.registerMetrics(registry);
    try {
      await limiter.admit('alpha');
      await limiter.admit('alpha');
      await expect(limiter.admit('alpha')).rejects.toMatchObject({ code: 'SF_TENANT_RATE_LIMITED' });
      await limiter.admit('beta');
      expect(await registry.metrics()).toMatch(/^sfleet_tenant_rate_shared 0$/m);
    } finally {
      redis.disconnect();
    }
  });
});
