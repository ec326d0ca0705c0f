// Per-tenant API rate limits in a hub group (private etcd and Redis): a tenant's budget is one
// budget whichever hub its requests reach (REST, watch opens and gRPC calls alike), another
// tenant's requests are not refused, and with Redis gone each hub counts alone and says so.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetServiceClient } from '../generated/fleet/v1/fleet.js';
import { grpcClientCredentials } from '../shared/tls/index.js';
import { HaServices } from './harness/ha-services.js';
import { LoginHub, type RawAnswer } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { registerSecret } from './harness/run-logs.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

let pki: TestPki;
let services: HaServices;
let a: LoginHub;
let b: LoginHub;
const tokens: Record<string, string> = {};

// alpha's bucket refills one token in 1000 s: within the test, its budget is the burst of 6.
const multi_tenancy = {
  enabled: true,
  operators: { users: ['op'] },
  rate_limit: { requests_per_second: 0.001, burst: 6 },
  tenants: {
    alpha: { clusters: ['alpha-*'], users: ['ann'] },
    beta: { clusters: ['beta-*'], users: ['bob'], rate_limit: { requests_per_second: 100, burst: 100 } },
  },
};

beforeAll(async () => {
  assertBuilt();
  [pki, services] = await Promise.all([makePki(), HaServices.create('tenant-rate')]);
  const dir = mkdtempSync(join(tmpdir(), `tenant-rate-${process.pid}-`));
  const extra = { etcd: { endpoints: services.etcdEndpoints, lease_ttl: '3s' }, redis: { url: services.redisUrl }, multi_tenancy };
  a = new LoginHub(join(dir, 'hub-a'), pki, extra);
  b = new LoginHub(join(dir, 'hub-b'), pki, extra);
  // The same tokens.json in both data directories: each token works at either hub.
  mkdirSync(a.dataDir, { recursive: true });
  for (const name of ['ann', 'bob', 'op']) {
    tokens[name] = (await sfleet(['token', 'create', '--name', name, '--data-dir', a.dataDir], { PATH: process.env.PATH, HOME: dir })).trim().split('\n').pop()!;
    registerSecret(tokens[name], `API token ${name} (tenant-rate-clustered)`);
  }
  mkdirSync(b.dataDir, { recursive: true });
  copyFileSync(join(a.dataDir, 'tokens.json'), join(b.dataDir, 'tokens.json'));
  await Promise.all([a.start(), b.start()]);
}, 300_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await services?.stop();
});

const get = (hub: LoginHub, path: string, who: string): Promise<RawAnswer> => hub.request('GET', path, { headers: { authorization: `Bearer ${tokens[who]}` } });

function listClustersGrpc(hub: LoginHub, who: string): Promise<ServiceError | null> {
  const client = new FleetServiceClient(hub.grpcAddress, grpcClientCredentials({ ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) }));
  const md = new Metadata();
  md.set('authorization', `Bearer ${tokens[who]}`);
  return new Promise((resolve) =>
    client.listClusters({}, md, (err) => {
      client.close();
      resolve(err);
    }),
  );
}

describe('per-tenant API rate limits shared by a hub group in Redis', () => {
  it("a tenant's burst is one budget across both hubs and all paths; another tenant is not refused; without Redis each hub counts alone and says so", async () => {
    // 3 REST reads at A, a watch open and a gRPC call at B, a REST read at A: the 6 of alpha's budget.
    for (let i = 0; i < 3; i++) expect((await get(a, '/api/v1/clusters', 'ann')).status).toBe(200);
    const watch = await b.request('GET', '/api/v1/watch?kinds=job', { headers: { authorization: `Bearer ${tokens.ann}` }, timeoutMs: 1_000 }).catch((err: Error) => err);
    // The watch was admitted: it streams until the request times out instead of answering at once.
    expect(watch).toBeInstanceOf(Error);
    expect(await listClustersGrpc(b, 'ann')).toBeNull();
    expect((await get(a, '/api/v1/clusters', 'ann')).status).toBe(200);
    // The budget is spent, at either hub and on every path.
    const refused = await get(b, '/api/v1/jobs', 'ann');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(1);
    expect(refused.json()).toMatchObject({ code: 'SF_TENANT_RATE_LIMITED' });
    expect((await get(a, '/api/v1/clusters', 'ann')).status).toBe(429);
    expect((await b.request('GET', '/api/v1/watch?kinds=job', { headers: { authorization: `Bearer ${tokens.ann}` } })).status).toBe(429);
    expect((await listClustersGrpc(a, 'ann'))?.code).toBe(status.RESOURCE_EXHAUSTED);
    // Tenant beta, at both hubs, is not refused; neither is an operator.
    for (let i = 0; i < 10; i++) expect((await get(i % 2 ? a : b, '/api/v1/clusters', 'bob')).status).toBe(200);
    for (const hub of [a, b]) expect((await get(hub, '/api/v1/clusters', 'op')).status).toBe(200);
    for (const hub of [a, b]) expect((await get(hub, '/metrics', 'op')).body).toMatch(/^sfleet_tenant_rate_shared 1$/m);

    // Redis gone: each hub counts alone, with a bucket of its own (ann gets its burst again at A), and says so.
    await services.kill('redis');
    for (let i = 0; i < 6; i++) expect((await get(a, '/api/v1/clusters', 'ann')).status).toBe(200);
    expect((await get(a, '/api/v1/clusters', 'ann')).status).toBe(429);
    expect((await get(a, '/metrics', 'op')).body).toMatch(/^sfleet_tenant_rate_shared 0$/m);
    expect(a.log()).toContain('Redis cannot be reached; this hub counts each tenant alone until it can');
    expect(a.log().match(/this hub counts each tenant alone/g)).toHaveLength(1);

    // Redis back: the next request counts in the group's store again.
    await services.start();
    await waitFor('hub A sharing again', async () => {
      await get(a, '/api/v1/clusters', 'bob');
      return /^sfleet_tenant_rate_shared 1$/m.test((await get(a, '/metrics', 'op')).body);
    }, 30_000);
    expect(a.log()).toContain('Redis answers again; the hub group shares one budget per tenant');
  });
});
