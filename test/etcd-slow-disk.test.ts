// A slow etcd disk (issue 11): a private 3-member etcd (scripts/services/start.sh) with each
// member's data directory on faultfs (scripts/faultfs), three clustered hubs and an agent. The
// etcd leader's fsyncs are delayed 500 ms for a while; meanwhile Slurm changes (a burst of jobs)
// and a user acts (a token create, stored in etcd and audited). The hub group keeps its one
// leader throughout (never two, the same fencing token whenever asked), every hub shows the changes, the token works on
// every hub; once the disk is fast again the slow member catches up and the audit log verifies.
// What a user sees is printed (how long the token create took), not asserted. Root only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { FaultMounts } from './harness/fault-mounts.js';
import type { FaultFs } from './harness/faultfs.js';
import { HaServices } from './harness/ha-services.js';
import { HubProcess } from './harness/ha-hubs.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { testLogger } from './harness/run-logs.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const REGION = 'slow-etcd';
const SLOW_MS = 15_000;
let services: HaServices;
let mounts: FaultMounts;
const disks: FaultFs[] = [];
let pki: TestPki;
let dir: string;
let hubs: HubProcess[] = [];
let agent: RunningAgent | undefined;
const source = new ScriptedSource('slowdisk');

/** etcd's own view through each member's gateway: its member id, the leader's id, its raft index. */
async function etcdStatus(endpoint: string): Promise<{ member: string; leader: string; raftIndex: number }> {
  const r = (await (await fetch(`${endpoint}/v3/maintenance/status`, { method: 'POST', body: '{}' })).json()) as { header: { member_id: string }; leader: string; raftIndex: string };
  return { member: r.header.member_id, leader: r.leader, raftIndex: Number(r.raftIndex) };
}

/** The hubs that say they lead (by /readyz), with their fencing tokens. */
async function leaders(): Promise<{ id: string; token: number }[]> {
  const tokens = await Promise.all(hubs.map((h) => h.leadingToken().catch(() => undefined)));
  return hubs.flatMap((h, i) => (tokens[i] === undefined ? [] : [{ id: h.opts.id, token: tokens[i] }]));
}

async function sameJobsEverywhere(count: number): Promise<boolean> {
  const lists = await Promise.all(hubs.map((h) => h.jobs()));
  return lists.every((l) => l.length === count);
}

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  dir = mkdtempSync(join(tmpdir(), 'slow-etcd-'));
  mounts = new FaultMounts(join(dir, 'mnt'));
  services = await HaServices.at('slow-etcd');
  // Each member's --data-dir is $SFLEET_SERVICES_DIR/etcdN/data: faultfs goes there before etcd starts.
  for (const n of [1, 2, 3]) disks.push(await mounts.faultfs(`etcd${n}`, join(services.dir, `etcd${n}`, 'data')));
  await services.start();
  source.model.job = Array.from({ length: 10 }, (_, i) => makeJob('slowdisk', 1 + i));
  const mk = (id: string): HubProcess => new HubProcess({ id, region: REGION, dir, pki, etcdEndpoints: services.etcdEndpoints, redisUrl: services.redisUrl });
  hubs = [mk('hub-1'), mk('hub-2'), mk('hub-3')];
  await hubs[0].start();
  await Promise.all([hubs[1].start(), hubs[2].start()]);
  agent = await startTestAgent(
    { cluster: 'slowdisk', name: 'head1', endpoints: hubs.map((h) => h.grpcAddress), backoff: ['100ms', '500ms'], tls: await pki.agent('slowdisk', 'agent-slowdisk'), spoolDir: mkdtempSync(join(tmpdir(), 'slow-etcd-spool-')) },
    { logger: testLogger('etcd-slow-disk'), source },
  );
}, 300_000);

afterAll(async () => {
  await agent?.close();
  for (const h of hubs) await h.kill();
  await services?.stop();
  await mounts?.cleanup();
  // stop.sh --purge cannot remove the mount points while they are mounted.
  if (services) rmSync(services.dir, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a slow etcd disk', () => {
  it('fsync of the etcd leader delayed 500 ms: the hub group keeps its one leader, changes and a token reach every hub', async () => {
    await waitFor('10 jobs on every hub', () => sameJobsEverywhere(10), 60_000, 200);
    const start = await waitFor('one hub leader', async () => {
      const l = await leaders();
      return l.length === 1 && l[0];
    }, 30_000, 100);
    const statuses = await Promise.all(services.etcdEndpoints.map(etcdStatus));
    const etcdLeader = statuses.findIndex((s) => s.member === s.leader);
    expect(etcdLeader).toBeGreaterThanOrEqual(0);

    disks[etcdLeader].set([{ op: 'fsync', delayMs: 500 }]);
    const t0 = Date.now();
    // Slurm changes and a user acts while the disk is slow.
    for (let i = 0; i < 5; i++) source.model.job.push(makeJob('slowdisk', 100 + i));
    let createMs = -1;
    const created = httpsCall(`${hubs[1].httpUrl}/api/v1/tokens`, { method: 'POST', body: { name: 'slow-disk', roles: ['viewer'] }, ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 60_000 }).finally(() => (createMs = Date.now() - t0));
    const seen: string[] = [];
    let unanswered = 0;
    let etcdLeaderChanges = 0;
    let lastEtcdLeader = statuses[etcdLeader].leader;
    while (Date.now() - t0 < SLOW_MS) {
      // A probe that times out on this busy machine says nothing; two leaders would be a fault.
      const l = await leaders();
      expect(l.length, 'never two hub leaders').toBeLessThanOrEqual(1);
      if (l.length === 1) seen.push(`${l[0].id}#${l[0].token}`);
      else unanswered++;
      const now = (await etcdStatus(services.etcdEndpoints[(etcdLeader + 1) % 3]).catch(() => undefined))?.leader;
      if (now && now !== lastEtcdLeader) {
        etcdLeaderChanges++;
        lastEtcdLeader = now;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    // The same hub, with the same fencing token, led whenever asked: no election happened.
    expect(new Set(seen)).toEqual(new Set([`${start.id}#${start.token}`]));
    expect((await leaders()).map((x) => `${x.id}#${x.token}`)).toEqual([`${start.id}#${start.token}`]);
    await waitFor('15 jobs on every hub during the slow disk', () => sameJobsEverywhere(15), 30_000, 200);
    const answer = await created;
    expect(answer.status).toBe(201);
    const secret = (JSON.parse(answer.body) as { token: string }).token;
    expect(disks[etcdLeader].log()).toMatch(/faultfs: fsync \/\S+: delayed 500 ms/);
    // The token made on hub-2 works on every hub.
    for (const h of hubs) {
      await waitFor(`the token accepted by ${h.opts.id}`, async () => (await httpsCall(`${h.httpUrl}/api/v1/clusters`, { headers: { authorization: `Bearer ${secret}` }, ca: pki.ca, timeoutMs: 10_000 })).status === 200, 10_000, 200);
    }

    disks[etcdLeader].clear();
    await waitFor('every etcd member at the same raft index', async () => {
      const all = await Promise.all(services.etcdEndpoints.map(etcdStatus));
      return all.every((s) => s.raftIndex === all[0].raftIndex && s.leader === all[0].leader);
    }, 30_000, 200);
    console.log(`[etcd-slow-disk] ${SLOW_MS / 1000} s of 500 ms fsyncs on the etcd leader: hub leader kept (${seen.length} samples, ${unanswered} without an answer), etcd leader changes ${etcdLeaderChanges}, token create answered after ${createMs} ms`);
    for (const h of hubs) expect(await sfleet(['audit', 'verify', '--dir', h.auditDir!], process.env)).toMatch(/^OK: /);
  });
});
