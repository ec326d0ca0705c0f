// A gRPC caller over its tenant's rate limit, as on REST (tenant-rate.test.ts): refused at once
// with RESOURCE_EXHAUSTED, and what it sends on that connection before its Retry-After is taken
// up only after it; another tenant's calls are served meanwhile. A real grpc-js server and clients.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FleetServiceClient, FleetServiceService } from '../../generated/fleet/v1/fleet.js';
import { systemClock } from '../../shared/clock/index.js';
import { parseConfigText } from '../../shared/config/index.js';
import { fleetService } from '../api/grpc/fleet-service.js';
import { CommandRouter } from '../commands/index.js';
import { FleetState } from '../fleet/index.js';
import { Authenticator, Rbac, TokenStore } from '../policy/index.js';
import { multiTenancyConfigSchema, Tenancy } from '../tenancy/index.js';
import { WatchFeed } from '../watch/index.js';
import { PeerHolds } from './peer-holds.js';
import { TenantRateLimiter } from './tenant-rate.js';

const CONFIG = `multi_tenancy:
  enabled: true
  tenants:
    alpha: { clusters: [a], users: [ann], rate_limit: { requests_per_second: 0.2, burst: 1 } }
    bravo: { clusters: [b], users: [bob] }
`;

async function serve(holds: PeerHolds) {
  const config = parseConfigText(z.object({ multi_tenancy: multiTenancyConfigSchema }), CONFIG, 'hub.yaml').multi_tenancy;
  const tenancy = new Tenancy(config);
  const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 'grpc-hold-')));
  const limiter = new TenantRateLimiter((t) => tenancy.tenant(t)?.rate_limit, { clock: systemClock });
  const state = new FleetState();
  const server = new Server();
  server.addService(
    FleetServiceService,
    fleetService({ state, commands: new CommandRouter({ timeoutMs: 1000 }), watch: new WatchFeed(state), authenticator: new Authenticator(tokens), rbac: new Rbac(undefined, tenancy), admitTenant: (t) => limiter.admit(t), holds }),
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const answered: string[] = [];
  // One connection per caller (no shared subchannel), as two separate clients have.
  const client = (who: string) => {
    const token = tokens.create(who).token;
    const c = new FleetServiceClient(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    const list = (): Promise<number> =>
      new Promise((resolve) => {
        const md = new Metadata();
        md.set('authorization', `Bearer ${token}`);
        c.listClusters({}, md, (err: ServiceError | null) => {
          answered.push(`${who} ${err ? status[err.code] : 'OK'}`);
          resolve(err?.code ?? status.OK);
        });
      });
    return { list, close: () => c.close() };
  };
  return { ann: client('ann'), bob: client('bob'), answered, close: () => server.forceShutdown() };
}

describe('a gRPC caller over its tenant rate limit', () => {
  it('is refused at once, and its next call on that connection is taken up only after its Retry-After; another tenant is served meanwhile', async () => {
    const { ann, bob, answered, close } = await serve(new PeerHolds());
    try {
      // bob's connection is open before the race (a new connection's setup is not what is measured).
      expect(await bob.list()).toBe(status.OK);
      // One request per 5 s: a loaded machine cannot let ann's bucket refill between her calls.
      expect(await ann.list()).toBe(status.OK);
      expect(await ann.list()).toBe(status.RESOURCE_EXHAUSTED);
      // ann calls again at once on the same connection; bob calls after her.
      const again = ann.list();
      expect(await bob.list()).toBe(status.OK);
      // Her call waited out her Retry-After (5 s): by then her bucket had a token, so it is served, after bob's.
      expect(await again).toBe(status.OK);
      expect(answered).toEqual(['bob OK', 'ann OK', 'ann RESOURCE_EXHAUSTED', 'bob OK', 'ann OK']);
    } finally {
      ann.close();
      bob.close();
      close();
    }
  }, 30_000);

  it('a trusted source is never held: its next call is refused at once again', async () => {
    const { ann, answered, close } = await serve(new PeerHolds({ exempt: () => true }));
    try {
      expect(await ann.list()).toBe(status.OK);
      expect(await ann.list()).toBe(status.RESOURCE_EXHAUSTED);
      expect(await ann.list()).toBe(status.RESOURCE_EXHAUSTED);
      expect(answered).toEqual(['ann OK', 'ann RESOURCE_EXHAUSTED', 'ann RESOURCE_EXHAUSTED']);
    } finally {
      ann.close();
      close();
    }
  });
});
