// Issue 11 item 4: a hub group on a secured etcd and Redis, as production runs them
// (test/harness/secure-services.ts): etcd with client-certificate TLS, auth on and a user whose
// role reaches only the group's prefix; Redis with TLS only, client certificates required, the
// default user off and an ACL user limited to the group's keys. Then redis.encrypt_replication:
// the replicated deltas and snapshots are sealed under the at-rest key (a keyring both hubs
// share), the job data is nowhere in Redis in clear, entries written before encryption still
// apply, and a key rotation under the running group leaves every entry readable (a new hub
// bootstraps through all of them). Wrong credentials fail the start with a clear error that
// names no secret.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { registerSecret } from '../scripts/test/run-dir.js';
import { GroupHub } from './harness/hub-group.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { testLogger } from './harness/run-logs.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { SecureServices } from './harness/secure-services.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const REGION = 'sec';
const PREFIX = '/sec-group/';
let pki: TestPki;
let services: SecureServices;
let dir: string;
let keyring: string;
let agent: RunningAgent | undefined;
const hubs: GroupHub[] = [];
const source = new ScriptedSource('alpha');

/** The hubs read their passwords from the environment: hub.yaml holds only ${...} references. */
function env(): NodeJS.ProcessEnv {
  return { ...process.env, SEC_ETCD_PASSWORD: services.etcdPassword, SEC_REDIS_PASSWORD: services.redisPassword };
}

function hub(id: string, opts: { encrypt: boolean; etcdPassword?: string; redisPassword?: string; client?: typeof pki.hub; readyTimeoutMs?: number }): GroupHub {
  const client = opts.client ?? pki.hub;
  const h = new GroupHub(id, dir, {
    region: REGION,
    pki,
    env: env(),
    etcdEndpoints: [services.etcdEndpoint],
    redisUrl: services.redisUrl,
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
    config: {
      stream: { heartbeat_interval: '1s' },
      etcd: { ...services.etcdSection(client, { password: opts.etcdPassword ?? '${SEC_ETCD_PASSWORD}' }), lease_ttl: '3s' },
      redis: { ...services.redisSection(client, { password: opts.redisPassword ?? '${SEC_REDIS_PASSWORD}' }), stale_after: '2s', compact_interval: '1s', encrypt_replication: opts.encrypt },
      sections: { encryption: { enabled: true, provider: 'file', file: { path: keyring } } },
    },
  });
  hubs.push(h);
  return h;
}

/** The same hub (ports, data) started again with redis.encrypt_replication on. */
async function restartSealing(h: GroupHub): Promise<GroupHub> {
  await h.stop();
  (h.group.config!.redis as Record<string, unknown>).encrypt_replication = true;
  return h.start();
}

function jobNames(h: GroupHub): Promise<string[]> {
  return h
    .client()
    .all<{ name: string }>('/api/v1/jobs', {})
    .then((jobs) => jobs.map((j) => j.name).sort());
}

async function converged(a: GroupHub, b: GroupHub, timeoutMs = 30_000): Promise<void> {
  await waitFor('hubs converged', async () => JSON.stringify(await jobNames(a)) === JSON.stringify(await jobNames(b)), timeoutMs, 200);
}

/** Every value of the region's stream and snapshots, as Redis holds them (redis-cli --raw). */
async function redisDump(): Promise<string> {
  const stream = await services.redisCli(['--raw', 'XRANGE', `sfleet:${REGION}:deltas`, '-', '+']);
  const snapshot = await services.redisCli(['--raw', 'HGETALL', `sfleet:${REGION}:snapshot:alpha`]);
  return `${stream}\n${snapshot}`;
}

function addJobs(prefix: string, from: number, n: number): void {
  for (let i = 0; i < n; i++) source.model.job.push(makeJob('alpha', from + i, { name: `${prefix}-${from + i}` }));
}

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  services = await SecureServices.create('secured', pki, { etcdPrefix: PREFIX, redisKeyPrefix: 'sfleet', region: REGION });
  dir = mkdtempSync(join(tmpdir(), 'secured-'));
  keyring = join(dir, 'keyring.json');
  source.model.job = [];
  addJobs('plainjob', 100, 10);
  source.model.node = [makeNode('alpha', 'n0', { state: 'IDLE' })];
}, 180_000);

afterAll(async () => {
  await agent?.close();
  for (const h of hubs) await h.kill();
  await services?.stop();
});

describe('a hub group on etcd with TLS client certificates and RBAC, and Redis with TLS and an ACL user', () => {
  let a: GroupHub;
  let b: GroupHub;

  it('two hubs elect a leader, share a token and replicate through them; hub.yaml holds no password', async () => {
    a = await hub('hub-a', { encrypt: false }).start();
    b = await hub('hub-b', { encrypt: false }).start();
    agent = await startTestAgent(
      { cluster: 'alpha', name: 'head1', endpoints: [a.grpcAddress], backoff: ['100ms', '500ms'], tls: await pki.agent('alpha'), spoolDir: mkdtempSync(join(tmpdir(), 'secured-spool-')) },
      { logger: testLogger('secured'), source },
    );
    await waitFor('jobs at hub-a', async () => (await jobNames(a)).length === 10, 30_000, 200);
    await converged(a, b);
    // Election and ownership through the RBAC user: exactly one leader.
    await waitFor('one leader', async () => (await Promise.all([a.leadingToken(), b.leadingToken()])).filter((t) => t !== undefined).length === 1, 20_000, 200);
    // The security store through the RBAC user: a token made on A works on B.
    const cli = (h: GroupHub, args: string[]) => sfleet([...args, '--hub', h.httpUrl, '--ca', pki.ca, '--cert', pki.client.cert, '--key', pki.client.key], { PATH: process.env.PATH, HOME: dir });
    const token = (await cli(a, ['token', 'create', '--name', 'grafana', '--role', 'viewer'])).trim().split('\n').pop()!;
    registerSecret(token, 'API token (secured-services)');
    await waitFor('B accepts the token made on A', async () => (await httpsCall(`${b.httpUrl}/api/v1/clusters`, { ca: pki.ca, headers: { authorization: `Bearer ${token}` }, timeoutMs: 5_000 })).status === 200, 10_000, 100);
    // Before encryption the stream holds the job data in clear: what the next test must not find.
    expect(await redisDump()).toContain('plainjob-100');
    for (const h of [a, b]) {
      const yaml = readFileSync(h.configFile, 'utf8');
      expect(yaml).not.toContain(services.etcdPassword);
      expect(yaml).not.toContain(services.redisPassword);
      // etcd at https://127.0.0.1: no IP address as TLS server name (Node's DEP0123 warning).
      expect(h.log()).not.toContain('DEP0123');
    }
  });

  it('encrypt_replication: entries written before still apply, new job data is nowhere in Redis in clear', async () => {
    // B goes; A keeps publishing in clear meanwhile; B comes back sealing and reads those entries.
    await b.stop();
    addJobs('beforeseal', 200, 5);
    await waitFor('hub-a has the new jobs', async () => (await jobNames(a)).length === 15, 20_000, 200);
    await restartSealing(b);
    await converged(a, b);
    expect((await jobNames(b)).filter((n) => n.startsWith('beforeseal'))).toHaveLength(5);
    // A restarts sealing too (the agent reconnects to it).
    await restartSealing(a);
    addJobs('sealedjob', 300, 5);
    await waitFor('hub-a has the sealed jobs', async () => (await jobNames(a)).length === 20, 30_000, 200);
    await converged(a, b);
    expect((await jobNames(b)).filter((n) => n.startsWith('sealedjob'))).toHaveLength(5);
    // The leader's compaction seals the snapshot too (it names its data key in field k).
    await waitFor('snapshot sealed', async () => (await services.redisCli(['HEXISTS', `sfleet:${REGION}:snapshot:alpha`, 'k'])).trim() === '1', 20_000, 200);
    const dump = await redisDump();
    expect(dump).not.toMatch(/sealedjob/);
    // Every entry A wrote since names its data key; the keys are kept wrapped, never in clear.
    const keys = await services.redisCli(['--raw', 'HGETALL', `sfleet:${REGION}:data-keys`]);
    expect(keys).toMatch(/"key_version":1/);
  });

  it('the at-rest key rotates under the running group: new entries use a new data key, a new hub reads every entry', async () => {
    const before = (await services.redisCli(['HLEN', `sfleet:${REGION}:data-keys`])).trim();
    // B is away while A seals under the first key version, is rotated, and seals under the second.
    await b.stop();
    addJobs('v1job', 350, 5);
    await waitFor('hub-a has the v1 jobs', async () => (await jobNames(a)).filter((n) => n.startsWith('v1job')).length === 5, 30_000, 200);
    // The operator's rotation (a new keyring version both hubs share); A keeps running.
    await sfleet(['keys', 'rotate', '--config', a.configFile], env());
    await new Promise((r) => setTimeout(r, 2_500)); // the sealer looks at the keyring every 2 s
    addJobs('rotatedjob', 400, 5);
    await waitFor('hub-a has the rotated jobs', async () => (await jobNames(a)).filter((n) => n.startsWith('rotatedjob')).length === 5, 30_000, 200);
    // B comes back and reads both from the stream tail: entries of the old key and of the new.
    await b.start();
    await converged(a, b);
    expect((await jobNames(b)).filter((n) => /^(v1job|rotatedjob)/.test(n))).toHaveLength(10);
    const keys = await services.redisCli(['--raw', 'HGETALL', `sfleet:${REGION}:data-keys`]);
    expect(keys).toMatch(/"key_version":2/);
    expect(Number((await services.redisCli(['HLEN', `sfleet:${REGION}:data-keys`])).trim())).toBeGreaterThan(Number(before));
    expect(await redisDump()).not.toMatch(/rotatedjob/);
    // A new hub bootstraps from the (sealed) snapshot and the stream: plain, old-key and new-key entries.
    const c = await hub('hub-c', { encrypt: true }).start();
    await converged(a, c);
    expect(await jobNames(c)).toEqual(await jobNames(a));
  });
});

describe('wrong credentials fail the start with a clear error and no secret', () => {
  it('a wrong etcd password', async () => {
    const h = hub('hub-bad-etcd', { encrypt: false, etcdPassword: 'not-the-password-4711', readyTimeoutMs: 60_000 });
    await expect(h.start()).rejects.toThrow(/exited before it was ready/);
    const log = h.log();
    expect(log).toMatch(/etcd refused this hub .*user sfleet-group.*authentication failed/);
    expect(log).not.toContain('not-the-password-4711');
  });

  it('a client certificate etcd does not take (another CA)', async () => {
    const other = await makePki('other.sfleet');
    const h = hub('hub-bad-cert', { encrypt: false, client: { ...other.hub, ca: pki.ca } });
    await expect(h.start()).rejects.toThrow(/exited before it was ready/);
    expect(h.log()).toMatch(/etcd refused this hub at https:\/\/127\.0\.0\.1:\d+ \(user sfleet-group\): .*(closed the TLS connection|certificate)/);
  });

  it('an etcd server certificate that does not chain to etcd.tls.ca', async () => {
    const other = await makePki('other.sfleet');
    const h = hub('hub-bad-ca', { encrypt: false, client: other.hub });
    await expect(h.start()).rejects.toThrow(/exited before it was ready/);
    expect(h.log()).toMatch(/etcd refused this hub at https:\/\/127\.0\.0\.1:\d+ \(user sfleet-group\): .*(TLS|certificate)/);
    expect(h.log()).not.toContain(services.etcdPassword);
  });

  it('a wrong Redis password', async () => {
    const h = hub('hub-bad-redis', { encrypt: false, redisPassword: 'not-the-password-0815' });
    await expect(h.start()).rejects.toThrow(/exited before it was ready/);
    const log = h.log();
    expect(log).toMatch(/Redis refused this hub \(user sfleet-group, TLS\): WRONGPASS/);
    expect(log).not.toContain('not-the-password-0815');
  });
});
