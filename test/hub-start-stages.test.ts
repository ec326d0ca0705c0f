// The hub's start stages (hub/start: foundations -> fleet -> region -> gate -> listeners): for
// each stage a start that fails there. `sfleet hub` exits non-zero with an error naming the
// stage, and leaves no listening port, etcd lease or key, Redis connection, lock or temporary
// file behind. In-process starts prove the rollback itself (the test process keeps running, so
// only the close stack can have freed the port and revoked the lease). A private 3-member etcd
// and Redis on free loopback ports (scripts/services/start.sh, as the ha-*.test.ts files).
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hubConfigSchema } from '../hub/config/index.js';
import { HubStartError, startHub } from '../hub/main.js';
import { HaServices } from './harness/ha-services.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort, waitFor } from './harness/ports.js';
import { testLogger } from './harness/run-logs.js';
import { assertBuilt, SfleetProcess } from './harness/sfleet-process.js';

let pki: TestPki;
let services: HaServices;
let etcd: Etcd3;
let redis: Redis;
let root: string;

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  root = mkdtempSync(join(tmpdir(), 'sfleet-stages-'));
  services = await HaServices.create('hub-start-stages');
  etcd = new Etcd3({ hosts: services.etcdEndpoints });
  redis = new Redis(services.redisUrl, { lazyConnect: false });
}, 300_000);

afterAll(async () => {
  etcd?.close();
  redis?.disconnect();
  await services?.stop();
});

interface Case {
  name: string;
  dir: string;
  dataDir: string;
  grpcPort: number;
  httpPort: number;
  /** The hub's etcd key prefix. */
  prefix: string;
}

async function newCase(name: string): Promise<Case> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const grpcPort = await freePort();
  let httpPort = await freePort();
  while (httpPort === grpcPort) httpPort = await freePort();
  return { name, dir, dataDir: join(dir, 'data'), grpcPort, httpPort, prefix: `/stages-${name}/` };
}

function hubConfig(c: Case, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { hub_id: `hub-${c.name}`, region: 'stages', listen: { grpc: `127.0.0.1:${c.grpcPort}`, http: `127.0.0.1:${c.httpPort}` }, tls: pki.hub, data_dir: c.dataDir, ...extra };
}

function clustered(c: Case): Record<string, unknown> {
  return { etcd: { endpoints: services.etcdEndpoints, prefix: c.prefix, lease_ttl: '3s' }, redis: { url: services.redisUrl, key_prefix: `stages-${c.name}` } };
}

/** Runs `sfleet hub` with the config until it exits (it must: the start fails). */
async function runHub(c: Case, config: Record<string, unknown>): Promise<{ code: number | null; stderr: string }> {
  const file = join(c.dir, 'hub.yaml');
  writeFileSync(file, stringify(config));
  const proc = new SfleetProcess(['hub', '--config', file], join(c.dir, 'hub.log')).start();
  const child = proc.child!;
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => void proc.kill(), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  return { code, stderr };
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

/** Every file and directory under dir, relative to it (none when dir does not exist). */
function tree(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((p) => relative(dir, join(dir, p))).sort();
  } catch {
    return [];
  }
}

async function leases(): Promise<string[]> {
  return (await etcd.leaseClient.leaseLeases()).leases.map((l) => String(l.ID));
}

async function hubRedisClients(): Promise<string[]> {
  const list = (await redis.client('LIST')) as string;
  return list
    .split('\n')
    .map((line) => /name=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith('sfleet-'));
}

/** Nothing of the failed start is left: ports free, no etcd key or lease, no Redis connection, no lock or temporary file. */
async function expectNothingLeft(c: Case): Promise<void> {
  expect(await canBind(c.grpcPort), `gRPC port ${c.grpcPort} is free`).toBe(true);
  expect(await canBind(c.httpPort), `HTTP port ${c.httpPort} is free`).toBe(true);
  expect(await etcd.namespace(c.prefix).getAll().keys()).toEqual([]);
  expect(await leases()).toEqual([]);
  await waitFor('the hub’s Redis connections are gone', async () => (await hubRedisClients()).length === 0, 5_000, 50);
  expect(tree(c.dataDir).filter((p) => /\.tmp|(^|[/.])lock$|\.lck$/i.test(p))).toEqual([]);
}

function expectStageError(run: { code: number | null; stderr: string }, stage: string, cause: RegExp): void {
  expect(run.code, run.stderr).toBe(1);
  const line = run.stderr.split('\n').find((l) => l.startsWith('error: '));
  expect(line, run.stderr).toMatch(new RegExp(`^error: hub start failed at stage "${stage}": `));
  expect(line).toMatch(cause);
}

describe('a hub start that fails in a stage: exits 1 naming the stage, and leaves nothing behind', () => {
  it('foundations: an unreadable TLS key', async () => {
    const c = await newCase('foundations-tls');
    const missing = join(c.dir, 'no-such-hub-key.pem');
    const run = await runHub(c, hubConfig(c, { tls: { ...pki.hub, key: missing } }));
    expectStageError(run, 'foundations', new RegExp(missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    await expectNothingLeft(c);
  });

  it('foundations: a keyring for encryption at rest that cannot be read', async () => {
    const c = await newCase('foundations-keyring');
    const keyring = join(c.dir, 'broken-keyring.json');
    writeFileSync(keyring, '{ not a keyring', { mode: 0o600 });
    const run = await runHub(c, hubConfig(c, { encryption: { enabled: true, provider: 'file', file: { path: keyring } } }));
    expectStageError(run, 'foundations', /broken-keyring\.json/);
    await expectNothingLeft(c);
  });

  it('fleet: a store directory that cannot be made (data_dir/clusters is a file), after the audit log opened', async () => {
    const c = await newCase('fleet');
    mkdirSync(c.dataDir, { recursive: true });
    writeFileSync(join(c.dataDir, 'clusters'), 'not a directory');
    const run = await runHub(c, hubConfig(c, clustered(c)));
    expectStageError(run, 'fleet', /clusters/);
    // The audit log opened (foundations) and was closed again; nothing half-written remains.
    expect(tree(c.dataDir)).toContain('audit');
    await expectNothingLeft(c);
  });

  it('region: a configured etcd that does not answer', async () => {
    const c = await newCase('region-etcd-down');
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const run = await runHub(c, hubConfig(c, { etcd: { endpoints: [nobody], prefix: c.prefix, lease_ttl: '3s', dial_timeout: '1s', call_timeout: '1s' }, redis: { url: services.redisUrl } }));
    expectStageError(run, 'region', new RegExp(`etcd unreachable at ${nobody}`));
    await expectNothingLeft(c);
  });

  it('gate: an LDAP CA file that cannot be read, on a clustered hub (etcd and Redis were open)', async () => {
    const c = await newCase('gate');
    const ldap = { url: 'ldaps://127.0.0.1:1636', ca_file: join(c.dir, 'no-such-ldap-ca.pem'), user_dn_template: 'uid={username},ou=people,dc=example,dc=org' };
    const run = await runHub(c, hubConfig(c, { ...clustered(c), sso: { ldap } }));
    expectStageError(run, 'gate', /no-such-ldap-ca\.pem/);
    await expectNothingLeft(c);
  });

  it('listeners: the gRPC port in use', async () => {
    const c = await newCase('listeners-grpc');
    const squatter = await occupy(c.grpcPort);
    try {
      const run = await runHub(c, hubConfig(c, clustered(c)));
      expectStageError(run, 'listeners', new RegExp(`gRPC 127\\.0\\.0\\.1:${c.grpcPort}`));
      expect(await canBind(c.httpPort)).toBe(true);
    } finally {
      await new Promise((r) => squatter.close(r));
    }
    await expectNothingLeft(c);
  });

  it('listeners: the HTTPS port in use, with etcd and Redis reachable', async () => {
    const c = await newCase('listeners-http');
    const squatter = await occupy(c.httpPort);
    try {
      const run = await runHub(c, hubConfig(c, clustered(c)));
      expectStageError(run, 'listeners', /EADDRINUSE/);
      expect(await canBind(c.grpcPort)).toBe(true);
    } finally {
      await new Promise((r) => squatter.close(r));
    }
    await expectNothingLeft(c);
  });
});

describe('the close stack in the hub process itself', () => {
  it('a running clustered hub holds a lease, its keys and Redis connections; close() gives them all back', async () => {
    const c = await newCase('in-process-running');
    const hub = await startHub(hubConfigSchema.parse(hubConfig(c, clustered(c))), { logger: testLogger('stages-running') });
    try {
      await waitFor('the hub leads with its lease', () => hub.leadership.status().leading, 15_000, 50);
      expect(await leases()).toHaveLength(1);
      expect(await etcd.namespace(c.prefix).getAll().keys()).toEqual(expect.arrayContaining([`members/stages/hub-${c.name}`]));
      expect(await hubRedisClients()).not.toEqual([]);
      expect(await canBind(c.grpcPort)).toBe(false);
    } finally {
      await hub.close();
    }
    await expectNothingLeft(c);
  });

  it('a start failing at the HTTPS listener rolls back in place: the gRPC port is freed, Redis disconnected, nothing in etcd', async () => {
    const c = await newCase('in-process-rollback');
    const squatter = await occupy(c.httpPort);
    try {
      const failed = await startHub(hubConfigSchema.parse(hubConfig(c, clustered(c))), { logger: testLogger('stages-rollback') }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failed).toBeInstanceOf(HubStartError);
      expect((failed as HubStartError).stage).toBe('listeners');
      expect((failed as HubStartError).message).toMatch(/^hub start failed at stage "listeners": .*EADDRINUSE/);
      expect(await canBind(c.grpcPort)).toBe(true);
    } finally {
      await new Promise((r) => squatter.close(r));
    }
    await expectNothingLeft(c);
  });
});
