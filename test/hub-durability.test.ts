// The hub's own durability checks against real parts: a Redis that may evict (maxmemory-policy
// not noeviction) is an error in the log, sfleet_redis_eviction_policy_ok 0 and /healthz
// degraded, until Redis is fixed and the hub reconnects; scripts/services starts Redis with
// noeviction. A WAL deleted or truncated under a running hub is noticed within the store's flush
// interval (2 s), counted in sfleet_hub_durable_write_errors_total{store="store"} and rewritten
// from memory: a restarted hub serves every job. Free space of the data directory is a gauge.
import { existsSync, mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HaServices } from './harness/ha-services.js';
import { HubProcess } from './harness/ha-hubs.js';
import { makePki, type TestPki } from './harness/pki.js';
import { testLogger } from './harness/run-logs.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

let services: HaServices;
let pki: TestPki;
let dir: string;
let hub: HubProcess;
let redis: Redis;
let agent: RunningAgent | undefined;
const source = new ScriptedSource('dur');

const healthz = async (): Promise<{ status: string; reasons: string[] }> => JSON.parse((await hub.raw('/healthz')).body) as { status: string; reasons: string[] };

beforeAll(async () => {
  assertBuilt();
  services = await HaServices.create('hub-durability');
  pki = await makePki();
  dir = mkdtempSync(join(tmpdir(), 'hub-durability-'));
  redis = new Redis(services.redisUrl, { lazyConnect: true });
  await redis.connect();
  source.model.job = Array.from({ length: 10 }, (_, i) => makeJob('dur', 100 + i, { state: 'RUNNING' }));
}, 300_000);

afterAll(async () => {
  await agent?.close();
  await hub?.kill();
  redis?.disconnect();
  await services?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hub durability checks', () => {
  it('scripts/services starts Redis with noeviction; a Redis that may evict makes the hub say so loudly until fixed', async () => {
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    hub = await new HubProcess({ id: 'hub-d', region: 'dur', dir, pki, etcdEndpoints: services.etcdEndpoints, redisUrl: services.redisUrl }).start();
    const degraded = await waitFor('healthz degraded', async () => {
      const h = await healthz();
      return h.status === 'degraded' && h;
    }, 20_000, 200);
    expect(degraded.reasons).toEqual([expect.stringMatching(/^redis: maxmemory-policy is allkeys-lru, not noeviction/)]);
    expect((await hub.raw('/healthz')).status).toBe(200);
    expect(await hub.metric('sfleet_redis_eviction_policy_ok')).toBe(0);
    expect(hub.log()).toMatch(/"level":50.*Redis maxmemory-policy is \\"allkeys-lru\\"/);

    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    // The hub reads the policy at each connect: drop its connections and it reconnects.
    await redis.call('CLIENT', 'KILL', 'SKIPME', 'yes');
    await waitFor('healthz ok once Redis is fixed', async () => (await healthz()).status === 'ok', 30_000, 300);
    expect(await hub.metric('sfleet_redis_eviction_policy_ok')).toBe(1);
  });

  for (const how of ['deleted', 'truncated'] as const) {
    it(`a WAL ${how} under the running hub is rewritten from memory within the flush interval`, async () => {
      agent ??= await startTestAgent(
        { cluster: 'dur', name: 'head1', endpoints: [hub.grpcAddress], backoff: ['100ms', '500ms'], tls: await pki.agent('dur', 'agent-dur'), spoolDir: mkdtempSync(join(tmpdir(), 'dur-spool-')) },
        { logger: testLogger('hub-durability'), source },
      );
      await waitFor('jobs at the hub', async () => (await hub.jobs()).length === 10, 20_000, 200);
      // Deltas after the snapshot go to the WAL.
      source.model.job = source.model.job.map((j) => ({ ...j, state: how === 'deleted' ? 'COMPLETING' : 'COMPLETED' }));
      await agent.pipeline.pollOnce();
      const wal = join(hub.dataDir, 'clusters', 'dur', 'wal.log');
      await waitFor('the WAL holds the change', () => existsSync(wal) && statSync(wal).size > 0, 20_000, 100);
      const errorsBefore = (await hub.metric('sfleet_hub_durable_write_errors_total', 'store="store"')) ?? 0;
      if (how === 'deleted') rmSync(wal);
      else truncateSync(wal, 3);
      await waitFor('the store rewrote its files', () => existsSync(wal) && existsSync(join(hub.dataDir, 'clusters', 'dur', 'checkpoint.bin')) && statSync(wal).size === 0, 10_000, 100);
      expect(await hub.metric('sfleet_hub_durable_write_errors_total', 'store="store"')).toBe(errorsBefore + 1);
      expect(hub.log()).toMatch(/rewrote the checkpoint and WAL from memory/);
      expect((await healthz()).status).toBe('ok');
      // What the store holds now is whole: a restarted hub (agent away) serves every job as it was.
      await agent.close();
      agent = undefined;
      await hub.kill('SIGKILL');
      await hub.start();
      const jobs = (await hub.jobs()) as { state: string }[];
      expect(jobs).toHaveLength(10);
      expect(new Set(jobs.map((j) => j.state))).toEqual(new Set([how === 'deleted' ? 'COMPLETING' : 'COMPLETED']));
    });
  }

  it('the free space of the data directory is a gauge', async () => {
    const free = await hub.metric('sfleet_durable_dir_free_bytes', `dir="${hub.dataDir}"`);
    expect(free).toBeGreaterThan(0);
  });
});
