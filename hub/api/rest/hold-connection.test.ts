import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { systemClock } from '../../../shared/clock/index.js';
import { parseConfigText } from '../../../shared/config/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { loadTls } from '../../../shared/tls/index.js';
import { makePki } from '../../../test/harness/pki.js';
import { CommandRouter } from '../../commands/index.js';
import { EventLog } from '../../events/index.js';
import { FleetState } from '../../fleet/index.js';
import { Authenticator, Rbac, TokenStore } from '../../policy/index.js';
import { multiTenancyConfigSchema, Tenancy } from '../../tenancy/index.js';
import { TenantRateLimiter } from '../../tenant-rate/index.js';
import { WatchFeed } from '../../watch/index.js';
import { buildHttpApi } from './index.js';

const CONFIG = `multi_tenancy:
  enabled: true
  tenants:
    alpha: { clusters: [a], users: [ann], rate_limit: { requests_per_second: 1, burst: 1 } }
    bravo: { clusters: [b], users: [bob] }
`;

describe('a caller over its tenant rate limit, on a kept-alive connection', () => {
  it('is told 429 at once, and what it sends on that connection before its Retry-After is read only after it; other tenants are served meanwhile', async () => {
    const config = parseConfigText(z.object({ multi_tenancy: multiTenancyConfigSchema }), CONFIG, 'hub.yaml').multi_tenancy;
    const tenancy = new Tenancy(config);
    const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 'hold-connection-')));
    const [ann, bob] = ['ann', 'bob'].map((n) => tokens.create(n).token);
    const limiter = new TenantRateLimiter((t) => tenancy.tenant(t)?.rate_limit, { clock: systemClock });
    const pki = await makePki('hold.test');
    const state = new FleetState();
    const { app } = await buildHttpApi(
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
      },
      loadTls(pki.hub, 'hub'),
    );
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
});
