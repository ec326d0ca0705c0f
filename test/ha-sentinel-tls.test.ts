// Clustered hubs on a Sentinel-managed Redis secured as in production (issue 11): a real master,
// replica and three Sentinels from scripts/services/sentinel.sh in TLS mode (tls-port, port 0,
// tls-replication, client certificates of the test CA) with the default user off and an ACL user
// for the hubs; a private etcd; two hub processes with redis: { sentinels, sentinel_name, tls,
// username, password } (the password from the environment). kill -9 of the master: Sentinel
// promotes the replica over TLS and both hubs follow it and converge, fresh.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { silentLogger } from '../shared/logging/index.js';
import { HubProcess } from './harness/ha-hubs.js';
import { makePki, type TestPki } from './harness/pki.js';
import { PrivateEtcd } from './harness/private-etcd.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { SentinelRedis } from './harness/sentinel.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const REGION = 'ha-sentinel-tls';
let etcd: PrivateEtcd;
let sentinel: SentinelRedis;
let pki: TestPki;
let dir: string;
const hubs: HubProcess[] = [];
let agent: RunningAgent | undefined;
const source = new ScriptedSource('alpha');

function hub(id: string): HubProcess {
  const h = new HubProcess({
    id,
    region: REGION,
    dir,
    pki,
    etcdEndpoints: [etcd.endpoint],
    env: { ...process.env, SENTINEL_REDIS_PASSWORD: sentinel.password },
    redis: { ...sentinel.redisSection(pki.hub), password: '${SENTINEL_REDIS_PASSWORD}', stale_after: '2s' },
  });
  hubs.push(h);
  return h;
}

const jobIds = (jobs: unknown[]): number[] => jobs.map((j) => (j as { id: number }).id);

async function alpha(h: HubProcess): Promise<{ epoch: number; seq: number; stale: boolean }> {
  const body = JSON.parse((await h.raw('/api/v1/clusters')).body) as { items: { name: string; epoch: number; seq: number; stale: boolean }[] };
  return body.items.find((c) => c.name === 'alpha')!;
}

async function convergedAndFresh(a: HubProcess, b: HubProcess, timeoutMs = 45_000): Promise<void> {
  await waitFor(
    'hubs converged and fresh',
    async () => {
      const [ja, jb, ca, cb, ra, rb] = await Promise.all([a.jobs(), b.jobs(), alpha(a), alpha(b), a.raw('/api/v1/jobs'), b.raw('/api/v1/jobs')]);
      const fresh = ra.headers['x-sfleet-freshness'] === 'fresh' && rb.headers['x-sfleet-freshness'] === 'fresh' && !cb.stale;
      return JSON.stringify(ja) === JSON.stringify(jb) && ca.epoch === cb.epoch && ca.seq === cb.seq && fresh;
    },
    timeoutMs,
    100,
  );
}

/** A TLS connection to a data node with a certificate of the test CA, as `user` (none: the default user). */
function nodeClient(hostPort: string, user?: { username: string; password: string }): Redis {
  const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(':')), Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))];
  const tls = { ca: readFileSync(pki.ca), cert: readFileSync(pki.hub.cert), key: readFileSync(pki.hub.key) };
  return new Redis({ host, port, tls, ...user, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null }).on('error', () => undefined);
}

/** What a plain TCP client hears from a TLS-only port after sending PING (nothing it can read as PONG). */
function plainPing(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('error', () => resolve(got));
    socket.on('close', () => resolve(got));
    socket.on('connect', () => socket.write('PING\r\n'));
    setTimeout(() => socket.destroy(), 2_000).unref();
  });
}

beforeAll(async () => {
  assertBuilt();
  etcd = await PrivateEtcd.create('ha-sentinel-tls');
  pki = await makePki();
  const server = await pki.issue('hub', 'sentinel-redis');
  sentinel = await SentinelRedis.create('ha-sentinel-tls', { ca: pki.ca, server, user: 'sfleet-group', keys: `sfleet:${REGION}:*` });
  dir = mkdtempSync(join(tmpdir(), 'ha-sentinel-tls-'));
  source.model.job = Array.from({ length: 20 }, (_, i) => makeJob('alpha', 100 + i));
  source.model.node = Array.from({ length: 2 }, (_, i) => makeNode('alpha', `n${i}`, { state: 'MIXED' }));
}, 300_000);

afterAll(async () => {
  await agent?.close();
  for (const h of hubs) await h.kill();
  await sentinel?.stop();
  await etcd?.stop();
});

describe('hubs on Sentinels and Redis with TLS and an ACL user', () => {
  let a: HubProcess;
  let b: HubProcess;

  it('the nodes and Sentinels speak TLS only, the default user is off, the ACL user is limited to the region', async () => {
    const master = await sentinel.master();
    for (const port of [...sentinel.redisPorts, ...sentinel.sentinelPorts]) expect(await plainPing(port)).not.toContain('PONG');
    const anonymous = nodeClient(master);
    const group = nodeClient(master, { username: 'sfleet-group', password: sentinel.password });
    try {
      // Without a user the node answers the client's first command (HELLO) with NOAUTH.
      const refused = new Promise<string>((resolve) => anonymous.on('error', (e: Error) => resolve(e.message)));
      await anonymous.connect().then(() => anonymous.ping()).catch(() => undefined);
      expect(await refused).toMatch(/^NOAUTH/);
      await group.connect();
      expect(await group.set(`sfleet:${REGION}:probe`, '1')).toBe('OK');
      await expect(group.set('other:key', '1')).rejects.toThrow(/NOPERM/);
    } finally {
      anonymous.disconnect();
      group.disconnect();
    }
  });

  it('hubs find the master through the TLS Sentinels: ingest through one, the other answers identically and fresh', async () => {
    a = await hub('tls-hub-a').start();
    b = await hub('tls-hub-b').start();
    agent = await startTestAgent(
      { cluster: 'alpha', name: 'head1', endpoints: [a.grpcAddress], backoff: ['100ms', '500ms'], tls: await pki.agent('alpha', 'agent-alpha'), spoolDir: mkdtempSync(join(tmpdir(), 'ha-sentinel-tls-spool-')) },
      { logger: silentLogger(), source },
    );
    await waitFor('jobs at hub-a', async () => (await a.jobs()).length === 20, 30_000, 100);
    await convergedAndFresh(a, b);
    expect((await b.readyz()).checks.redis).toBe('ok');
  }, 180_000);

  it('kill -9 of the master: Sentinel promotes the replica over TLS, both hubs follow it and converge', async () => {
    const oldMaster = await sentinel.killMaster();
    source.model.job.push(makeJob('alpha', 500, { name: 'during-failover' }));
    await waitFor('job 500 at hub-a', async () => jobIds(await a.jobs()).includes(500), 15_000, 50);
    const newMaster = await waitFor('Sentinel promoted the replica', async () => {
      const m = await sentinel.master().catch(() => '');
      return m && m !== oldMaster ? m : false;
    }, 60_000, 100);
    await convergedAndFresh(a, b);
    expect(jobIds(await b.jobs())).toContain(500);
    expect((await a.readyz()).checks.redis).toBe('ok');
    expect((await b.readyz()).checks.redis).toBe('ok');
    // The hubs write to the promoted node now (over TLS, as the ACL user).
    source.model.job.push(makeJob('alpha', 600, { name: 'after-failover' }));
    await waitFor('job 600 at hub-b', async () => jobIds(await b.jobs()).includes(600), 20_000, 100);
    const promoted = nodeClient(newMaster, { username: 'sfleet-group', password: sentinel.password });
    try {
      await promoted.connect();
      expect((await promoted.call('ROLE')) as unknown[]).toContain('master');
      expect(await promoted.xlen(`sfleet:${REGION}:deltas`)).toBeGreaterThan(0);
    } finally {
      promoted.disconnect();
    }
    await convergedAndFresh(a, b);
  }, 180_000);
});
