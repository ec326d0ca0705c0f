// Clustered hubs, item 2 of issue 3: shared state in Redis. Hubs run as child processes
// against a private Redis and 3-member etcd (scripts/services/start.sh on free ports).
// Measured and printed: catch-up after a follower's kill -9, bootstrap of a new instance,
// recovery after Redis's kill -9.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { Redis } from 'ioredis';
import { RedisDedupeStore, RedisSharedKvStore, replicationKeys } from '../hub/replication/index.js';
import { testLogger } from './harness/run-logs.js';
import { HaServices } from './harness/ha-services.js';
import { HubProcess } from './harness/ha-hubs.js';
import { makePki, type TestPki } from './harness/pki.js';
import { waitFor } from './harness/wait.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';

const REGION = 'ha-repl';
let services: HaServices;
let pki: TestPki;
let dir: string;
const hubs: HubProcess[] = [];
let agent: RunningAgent | undefined;
const source = new ScriptedSource('alpha');
let firstIngestAt = 0;

function hub(id: string): HubProcess {
  const h = new HubProcess({ id, region: REGION, dir, pki, etcdEndpoints: services.etcdEndpoints, redisUrl: services.redisUrl, redis: { stream_retention: '15s' } });
  hubs.push(h);
  return h;
}

async function startAgentOn(endpoints: string[]): Promise<RunningAgent> {
  return startTestAgent(
    { cluster: 'alpha', name: 'head1', endpoints, backoff: ['100ms', '500ms'], tls: await pki.agent('alpha', 'agent-alpha'), spoolDir: mkdtempSync(join(tmpdir(), 'ha-spool-')) },
    { logger: testLogger('ha-replication'), source },
  );
}

function cliEnv(h: HubProcess): NodeJS.ProcessEnv {
  return { ...process.env, SFLEET_HUB: h.httpUrl, SFLEET_CA: pki.ca, SFLEET_CERT: pki.client.cert, SFLEET_KEY: pki.client.key, HOME: dir };
}

/** Waits until every hub lists exactly the jobs of `reference`; returns the ms it took. */
async function converged(reference: HubProcess, others: HubProcess[], timeoutMs = 20_000): Promise<number> {
  const t0 = Date.now();
  await waitFor(
    'hubs converged',
    async () => {
      const want = JSON.stringify(await reference.jobs());
      for (const h of others) if (JSON.stringify(await h.jobs()) !== want) return false;
      return true;
    },
    timeoutMs,
    100,
  );
  return Date.now() - t0;
}

beforeAll(async () => {
  assertBuilt();
  services = await HaServices.create('ha-repl');
  pki = await makePki();
  dir = mkdtempSync(join(tmpdir(), 'ha-repl-'));
  source.model.job = Array.from({ length: 40 }, (_, i) =>
    makeJob('alpha', 100 + i, { user: i % 3 ? 'alice' : 'bob', state: i % 4 ? 'RUNNING' : 'PENDING', nodes: i % 4 ? [`n${i % 5}`] : [], node_list: i % 4 ? `n${i % 5}` : '' }),
  );
  source.model.node = Array.from({ length: 5 }, (_, i) => makeNode('alpha', `n${i}`, { state: 'MIXED' }));
});

afterAll(async () => {
  await agent?.close();
  for (const h of hubs) await h.kill();
  await services?.stop();
});

describe('shared state in Redis', () => {
  let a: HubProcess;
  let b: HubProcess;

  it('two hub instances answer the same jobs query identically after ingest through only one of them', async () => {
    a = await hub('hub-a').start();
    b = await hub('hub-b').start();
    firstIngestAt = Date.now();
    agent = await startAgentOn([a.grpcAddress]); // only hub-a ever sees the agent
    await waitFor('jobs at hub-a', async () => (await a.jobs()).length === 40, 20_000, 100);
    const ms = await converged(a, [b]);
    console.log(`[ha] hub-b had hub-a's 40 jobs ${ms} ms after hub-a did`);
    expect(await b.jobs()).toEqual(await a.jobs());
    for (const q of ['--user bob', '--state RUNNING --node n3', '--cluster alpha --state PENDING']) {
      const args = ['jobs', ...q.split(' '), '-o', 'json'];
      const [fromA, fromB] = await Promise.all([sfleet(args, cliEnv(a)), sfleet(args, cliEnv(b))]);
      expect(fromB).toBe(fromA);
      expect(JSON.parse(fromA).length).toBeGreaterThan(0);
    }
    // hub-b vouches for what it serves: fresh, and the cluster shows as connected (through hub-a).
    const res = await b.raw('/api/v1/jobs?user=bob');
    expect(res.headers['x-sfleet-freshness']).toBe('fresh');
    const clusters = JSON.parse((await b.raw('/api/v1/clusters')).body) as { items: { name: string; connected: boolean; stale: boolean }[] };
    expect(clusters.items).toEqual([expect.objectContaining({ name: 'alpha', connected: true, stale: false })]);
    // Changes flow too, removals included.
    source.model.job = source.model.job.filter((j) => j.id !== 100);
    source.model.job.push(makeJob('alpha', 200, { user: 'carol' }));
    await waitFor('change at hub-b', async () => (await b.client().all<{ id: number }>('/api/v1/jobs', { user: 'carol' })).length === 1, 10_000, 100);
    expect(await b.jobs()).toEqual(await a.jobs());
  });

  it('a follower killed with -9 catches up from the stream tail after its restart', async () => {
    await b.kill('SIGKILL');
    for (let i = 0; i < 10; i++) source.model.job.push(makeJob('alpha', 300 + i));
    source.model.job = source.model.job.filter((j) => j.id !== 101);
    await waitFor('changes at hub-a', async () => (await a.jobs()).length === source.model.job.length, 10_000, 100);
    const t0 = Date.now();
    await b.start();
    const ms = await converged(a, [b]);
    console.log(`[ha] follower kill -9: restarted and converged in ${Date.now() - t0} ms (${ms} ms after ready)`);
    expect(await b.metric('sfleet_replication_entries_total', 'outcome="bootstrap"')).toBe(0);
  });

  it('a new instance bootstraps from a snapshot plus the stream tail', async () => {
    const redis = new Redis(services.redisUrl).on('error', () => undefined);
    try {
      // The leader's compaction has snapshotted alpha and trimmed the stream past the first
      // ingest (stream_retention 15s): the first 40 jobs are in the snapshot only.
      await waitFor('snapshot in Redis', async () => (await redis.hget(`sfleet:${REGION}:snapshot:alpha`, 'id')) !== null, 15_000, 200);
      await waitFor('stream trimmed', async () => Number((await redis.get(`sfleet:${REGION}:trimmed`))?.split('-')[0] ?? 0) > firstIngestAt + 1_000, 40_000, 200);
    } finally {
      redis.disconnect();
    }
    source.model.job.push(makeJob('alpha', 400, { name: 'after-snapshot' }));
    await waitFor('job 400 at hub-a', async () => (await a.jobs()).some((j) => (j as { id: number }).id === 400), 10_000, 100);
    const t0 = Date.now();
    const c = await hub('hub-c').start();
    await converged(a, [c]);
    console.log(`[ha] new instance: bootstrapped and converged ${Date.now() - t0} ms after its start`);
    expect(await c.metric('sfleet_replication_entries_total', 'outcome="bootstrap"')).toBe(1);
    expect(await c.jobs()).toEqual(await a.jobs());
  });

  it('kill -9 of Redis: other hubs report the cluster stale, never fresh; all converge after Redis is back', async () => {
    await services.kill('redis');
    try {
      await redisOutage();
    } finally {
      await services.start(); // a no-op when the test restarted it already
    }
  });

  async function redisOutage(): Promise<void> {
    const killedAt = Date.now();
    source.model.job.push(makeJob('alpha', 500, { name: 'during-outage' }));
    // hub-a ingests alpha itself and keeps applying: alpha is not stale there; only "*"
    // (clusters other hubs may ingest meanwhile) is.
    await waitFor('job 500 at hub-a', async () => (await a.jobs()).some((j) => (j as { id: number }).id === 500), 10_000, 100);
    await waitFor('hub-a reports "*" stale', async () => (await a.raw('/api/v1/jobs')).headers['x-sfleet-stale-clusters'] === '*', 10_000, 100);
    // hub-b cannot know: it says so on the answer, in the cluster list, in /readyz and in metrics.
    await waitFor('hub-b reports alpha stale', async () => (await b.raw('/api/v1/jobs')).headers['x-sfleet-freshness'] === 'stale', 10_000, 100);
    console.log(`[ha] Redis kill -9: hub-b reported staleness ${Date.now() - killedAt} ms after`);
    const res = await b.raw('/api/v1/jobs');
    expect(res.status).toBe(200);
    // alpha, and "*": clusters it has never heard of could exist meanwhile.
    expect(String(res.headers['x-sfleet-stale-clusters']).split(',')).toEqual(['*', 'alpha']);
    const clusters = JSON.parse((await b.raw('/api/v1/clusters')).body) as { items: { name: string; stale: boolean; stale_reason: string }[] };
    expect(clusters.items[0]).toMatchObject({ name: 'alpha', stale: true });
    expect(clusters.items[0].stale_reason).toMatch(/replication stream unreadable/);
    const ready = await b.readyz();
    expect(ready.status).toBe('ready'); // it keeps serving...
    expect(ready.checks.replication).toMatch(/^stale: .*alpha \(replication stream unreadable/); // ...and says what is stale
    expect(ready.checks.redis).toMatch(/^down/);
    expect(await b.metric('sfleet_replication_stale', 'cluster="alpha"')).toBe(1);

    const t0 = Date.now();
    await services.start(); // restarts Redis (its append-only file has the stream)
    const restartMs = Date.now() - t0;
    await converged(a, [b, hubs[2]], 20_000);
    await waitFor('hub-b fresh again', async () => (await b.raw('/api/v1/jobs')).headers['x-sfleet-freshness'] === 'fresh', 10_000, 100);
    console.log(`[ha] Redis kill -9: Redis restarted in ${restartMs} ms; all hubs converged and fresh ${Date.now() - t0} ms after the restart began`);
    expect(await b.jobs()).toEqual(await a.jobs());
    expect((await a.raw('/api/v1/jobs')).headers['x-sfleet-freshness']).toBe('fresh');
  }

  it('notification dedupe and the shared key-value store are region-wide: what one hub claims or stores, another sees', async () => {
    const keys = replicationKeys('sfleet', REGION);
    const [r1, r2] = [new Redis(services.redisUrl).on('error', () => undefined), new Redis(services.redisUrl).on('error', () => undefined)];
    try {
      const [d1, d2] = [new RedisDedupeStore(r1, keys), new RedisDedupeStore(r2, keys)];
      const claims = await Promise.all([d1.claim('page:alpha:failover:1', 5_000), d2.claim('page:alpha:failover:1', 5_000)]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      const [s1, s2] = [new RedisSharedKvStore(r1, keys), new RedisSharedKvStore(r2, keys)];
      await s1.set('sess-1', { user: 'alice' }, 5_000);
      expect(await s2.get('sess-1')).toEqual({ user: 'alice' });
      await s2.delete('sess-1');
      expect(await s1.get('sess-1')).toBeUndefined();
    } finally {
      r1.disconnect();
      r2.disconnect();
    }
  });
});
