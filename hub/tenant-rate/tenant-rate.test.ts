import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock, systemClock } from '../../shared/clock/index.js';
import { parseConfigText } from '../../shared/config/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { loadTls, type TlsMaterial } from '../../shared/tls/index.js';
import { buildHttpApi } from '../api/rest/index.js';
import { CommandRouter } from '../commands/index.js';
import { EventLog } from '../events/index.js';
import { FleetState } from '../fleet/index.js';
import { Authenticator, Rbac, TokenStore } from '../policy/index.js';
import { multiTenancyConfigSchema, Tenancy } from '../tenancy/index.js';
import { WatchFeed } from '../watch/index.js';
import { createRedis } from '../replication/index.js';
import { redisConfigSchema } from '../config/index.js';
import { httpConfigSchema, type HttpConfig } from '../limits/index.js';
import { makePki } from '../../test/harness/pki.js';
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

/** The hub's HTTP API with a tenant rate limiter in front (over TLS when given: a real listener). */
function api(tokens: TokenStore, tenancy: Tenancy, limiter: TenantRateLimiter, tls?: TlsMaterial, http?: HttpConfig): ReturnType<typeof buildHttpApi> {
  const state = new FleetState();
  return buildHttpApi(
    {
      state,
      commands: new CommandRouter({ timeoutMs: 1000 }),
      watch: new WatchFeed(state),
      events: new EventLog({}, { logger: silentLogger() }),
      authenticator: new Authenticator(tokens),
      rbac: new Rbac(undefined, tenancy),
      logger: silentLogger(),
      readiness: () => ({ ready: true, checks: {} }),
      admitTenant: (t) => limiter.admit(t),
      ...(http ? { http } : {}),
    },
    tls,
  );
}

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
    const { app } = await api(tokens, tenancy, limiter);
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

const HOLD_CONFIG = `multi_tenancy:
  enabled: true
  tenants:
    alpha: { clusters: [a], users: [ann], rate_limit: { requests_per_second: 1, burst: 1 } }
    bravo: { clusters: [b], users: [bob] }
`;

describe('a caller over its tenant rate limit, on a kept-alive connection', () => {
  it('is told 429 at once, and what it sends on that connection before its Retry-After is read only after it; other tenants are served meanwhile', async () => {
    const config = parseConfigText(z.object({ multi_tenancy: multiTenancyConfigSchema }), HOLD_CONFIG, 'hub.yaml').multi_tenancy;
    const tenancy = new Tenancy(config);
    const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 'hold-connection-')));
    const [ann, bob] = ['ann', 'bob'].map((n) => tokens.create(n).token);
    const limiter = new TenantRateLimiter((t) => tenancy.tenant(t)?.rate_limit, { clock: systemClock });
    const pki = await makePki('hold.test');
    const { app } = await api(tokens, tenancy, limiter, loadTls(pki.hub, 'hub'));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const ca = readFileSync(pki.ca);
    // One kept-alive connection each, as a real client keeps them.
    const agents = [0, 1].map(() => new https.Agent({ keepAlive: true, maxSockets: 1, ca, minVersion: 'TLSv1.3' }));
    const answered: string[] = [];
    const get = (who: string, token: string, agent: https.Agent): Promise<{ status: number; retryAfter?: string }> =>
      new Promise((resolve, reject) => {
        const req = https.get({ host: '127.0.0.1', port, path: '/api/v1/clusters', agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
          res.resume();
          res.on('end', () => {
            answered.push(`${who} ${res.statusCode}`);
            resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined });
          });
        });
        req.on('error', reject);
      });
    try {
      expect((await get('ann', ann, agents[0])).status).toBe(200);
      // The burst is spent: refused at once, told to come back in a second.
      expect(await get('ann', ann, agents[0])).toEqual({ status: 429, retryAfter: '1' });
      // ann sends again at once on the same connection, ignoring Retry-After; bob asks after her.
      const again = get('ann', ann, agents[0]);
      const other = await get('bob', bob, agents[1]);
      expect(other.status).toBe(200);
      // Her request was read only once her second had passed: by then her bucket had a token again,
      // so it is served instead of refused a second time, and bob's answer came before it.
      expect((await again).status).toBe(200);
      expect(answered).toEqual(['ann 200', 'ann 429', 'bob 200', 'ann 200']);
      // A held connection the client gives up on is let go; the hub serves on.
      expect((await get('ann', ann, agents[0])).status).toBe(429);
      agents[0].destroy();
      expect((await get('bob', bob, agents[1])).status).toBe(200);
    } finally {
      for (const a of agents) a.destroy();
      await app.close();
    }
  });

  it('a trusted proxy\'s connection is never held: it carries other tenants\' requests too', async () => {
    const config = parseConfigText(z.object({ multi_tenancy: multiTenancyConfigSchema }), HOLD_CONFIG, 'hub.yaml').multi_tenancy;
    const tenancy = new Tenancy(config);
    const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 'hold-proxy-')));
    const [ann, bob] = ['ann', 'bob'].map((n) => tokens.create(n).token);
    const limiter = new TenantRateLimiter((t) => tenancy.tenant(t)?.rate_limit, { clock: systemClock });
    const pki = await makePki('hold-proxy.test');
    const { app } = await api(tokens, tenancy, limiter, loadTls(pki.hub, 'hub'), httpConfigSchema.parse({ trusted_proxies: ['127.0.0.1/32'] }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    // The proxy's one pooled upstream connection, carrying ann's and then bob's requests.
    const proxy = new https.Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(pki.ca), minVersion: 'TLSv1.3' });
    const get = (token: string, client: string): Promise<number> =>
      new Promise((resolve, reject) => {
        https.get({ host: '127.0.0.1', port, path: '/api/v1/clusters', agent: proxy, headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': client } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject);
      });
    const sockets: { _paused?: boolean }[] = [];
    app.server.on('secureConnection', (s) => sockets.push(s as { _paused?: boolean }));
    try {
      expect(await get(ann, '10.1.0.5')).toBe(200);
      expect(await get(ann, '10.1.0.5')).toBe(429);
      await new Promise((r) => setImmediate(r));
      // The pooled connection is still read: bob's request on it is not parked behind ann's second.
      expect(sockets.length).toBe(1);
      expect(sockets[0]._paused).not.toBe(true);
      expect(await get(bob, '10.2.0.7')).toBe(200);
    } finally {
      proxy.destroy();
      await app.close();
    }
  });
});
