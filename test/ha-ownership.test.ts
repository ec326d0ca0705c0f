// Cluster ownership across hub instances (invariant 2 fleet-wide): the two head nodes of one
// cluster stream to two DIFFERENT hubs of a region; the etcd owner key lets exactly one of them
// be active. Hubs are child processes on a private 3-member etcd and Redis; the agents run in
// this process so the test can read their role, spool and polls.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { testLogger } from './harness/run-logs.js';
import { HaServices } from './harness/ha-services.js';
import { HubProcess } from './harness/ha-hubs.js';
import { makePki, type TestPki } from './harness/pki.js';
import { waitFor } from './harness/wait.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';

const REGION = 'ha-own';
const CLUSTER = 'duo';
let services: HaServices;
let pki: TestPki;
let dir: string;
let a: HubProcess;
let b: HubProcess;
const running = new Set<RunningAgent>();
// Both head nodes read the same Slurm.
const slurm = new ScriptedSource(CLUSTER);
const sources = { head1: new ScriptedSource(CLUSTER), head2: new ScriptedSource(CLUSTER) };
sources.head1.model = slurm.model;
sources.head2.model = slurm.model;

interface ClusterItem {
  name: string;
  agent: string | null;
  connected: boolean;
  epoch: number;
  seq: number;
  owner_hub?: string | null;
}

async function agent(name: 'head1' | 'head2', hub: HubProcess): Promise<RunningAgent> {
  const r = await startTestAgent(
    { cluster: CLUSTER, name, endpoints: [hub.grpcAddress], backoff: ['100ms', '300ms'], tls: await pki.agent(CLUSTER, name), spoolDir: join(dir, `spool-${name}`) },
    { logger: testLogger('ha-ownership'), source: sources[name] },
  );
  running.add(r);
  return r;
}

async function stop(r: RunningAgent): Promise<void> {
  running.delete(r);
  await r.close();
}

async function cluster(h: HubProcess): Promise<ClusterItem | undefined> {
  const r = await h.client().json<{ items: ClusterItem[] }>('GET', '/api/v1/clusters');
  return r.items.find((c) => c.name === CLUSTER);
}

/** Waits until the hub's view of the cluster has these fields (each hub learns them from etcd and Redis). */
async function waitForCluster(h: HubProcess, want: Partial<ClusterItem>): Promise<void> {
  await waitFor(`${h.opts.id} shows ${JSON.stringify(want)}`, async () => {
    const c = await cluster(h);
    return !!c && Object.entries(want).every(([k, v]) => c[k as keyof ClusterItem] === v);
  }, 10_000, 100);
}

/** Hubs of the region whose membership record says they ingest the cluster (an active agent). */
async function ingestingHubs(h: HubProcess): Promise<string[]> {
  const r = await h.client().json<{ items: { hub_id: string; ingesting: string[] }[] }>('GET', '/api/v1/hubs');
  return r.items.filter((m) => m.ingesting.includes(CLUSTER)).map((m) => m.hub_id);
}

async function jobIds(h: HubProcess): Promise<number[]> {
  return (await h.client().all<{ id: number }>('/api/v1/jobs', { cluster: CLUSTER })).map((j) => j.id).sort((x, y) => x - y);
}

function slurmIds(): number[] {
  return slurm.model.job.map((j) => j.id).sort((x, y) => x - y);
}

/** Samples a hub's cluster epoch/seq every 50 ms: per epoch the [lowest, highest] seq seen. */
class SeqSampler {
  readonly seqs = new Map<number, [number, number]>();
  private timer?: NodeJS.Timeout;
  private busy = false;
  constructor(private readonly hub: HubProcess) {}
  start(): this {
    this.timer = setInterval(() => void this.sample(), 50);
    return this;
  }
  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const c = await cluster(this.hub).catch(() => undefined);
      if (!c?.epoch) return;
      const r = this.seqs.get(c.epoch);
      this.seqs.set(c.epoch, r ? [Math.min(r[0], c.seq), Math.max(r[1], c.seq)] : [c.seq, c.seq]);
    } finally {
      this.busy = false;
    }
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** Deltas of the cluster the hub applied: from its own agents plus from the replication stream. */
async function appliedAt(h: HubProcess): Promise<number> {
  return ((await h.metric('sfleet_ingest_deltas_total', 'outcome="applied"')) ?? 0) + ((await h.metric('sfleet_replication_entries_total', 'outcome="applied"')) ?? 0);
}

beforeAll(async () => {
  assertBuilt();
  services = await HaServices.create('ha-own');
  pki = await makePki();
  dir = mkdtempSync(join(tmpdir(), 'ha-own-'));
  slurm.model.job = Array.from({ length: 20 }, (_, i) => makeJob(CLUSTER, 100 + i));
  a = await new HubProcess({ id: 'hub-a', region: REGION, dir, pki, etcdEndpoints: services.etcdEndpoints, redisUrl: services.redisUrl }).start();
  b = await new HubProcess({ id: 'hub-b', region: REGION, dir, pki, etcdEndpoints: services.etcdEndpoints, redisUrl: services.redisUrl }).start();
});

afterAll(async () => {
  for (const r of running) await r.close();
  await a?.kill();
  await b?.kill();
  await services?.stop();
});

describe('one active agent per cluster across the hubs of a region', () => {
  let head1: RunningAgent;
  let head2: RunningAgent;

  it('two agents of one cluster on two different hubs: exactly one is active fleet-wide', async () => {
    head1 = await agent('head1', a);
    await waitFor('head1 active at hub-a', async () => head1.stream.role === 'active' && (await jobIds(a)).length === 20, 20_000, 100);
    head2 = await agent('head2', b);
    await waitFor('head2 standby at hub-b', () => head2.stream.role === 'standby', 10_000, 50);
    const polls = sources.head2.polls;
    // Changes keep flowing through head1 only, and both hubs see them.
    slurm.model.job.push(makeJob(CLUSTER, 200));
    await waitFor('job 200 at hub-b', async () => (await jobIds(b)).includes(200), 10_000, 100);
    await new Promise((r) => setTimeout(r, 1_500)); // several ownership polls
    expect(head1.stream.role).toBe('active');
    expect(head2.stream.role).toBe('standby');
    expect(head2.stream.stats.deltasSent).toBe(0);
    expect(sources.head2.polls).toBe(polls);
    expect(await ingestingHubs(b)).toEqual(['hub-a']);
    for (const h of [a, b]) await waitForCluster(h, { agent: 'head1', connected: true, owner_hub: 'hub-a' });
  });

  it('the owner hub releases the cluster when its agent leaves: the other hub promotes its standby; every hub names the new agent', async () => {
    const t0 = Date.now();
    await stop(head1);
    await waitFor('head2 active at hub-b', () => head2.stream.role === 'active', 10_000, 20);
    console.log(`[ha] clean agent stop at hub-a: hub-b promoted its standby ${Date.now() - t0} ms later`);
    slurm.model.job.push(makeJob(CLUSTER, 201));
    slurm.model.job = slurm.model.job.filter((j) => j.id !== 100);
    for (const h of [a, b]) {
      await waitFor(`${h.opts.id} equals Slurm`, async () => JSON.stringify(await jobIds(h)) === JSON.stringify(slurmIds()), 10_000, 100);
      // hub-a only follows the cluster now: the agent name and owner come from the region.
      await waitForCluster(h, { agent: 'head2', connected: true, owner_hub: 'hub-b' });
    }
    // head1 comes back at hub-a: hub-b owns the cluster, so it stands by.
    head1 = await agent('head1', a);
    await waitFor('head1 standby at hub-a', () => head1.stream.role === 'standby', 10_000, 50);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(head2.stream.role).toBe('active');
    expect(await ingestingHubs(a)).toEqual(['hub-b']);
  });

  it('kill -9 of the owning hub: the other hub promotes its standby after the lease TTL, converges to Slurm, no delta lost or applied twice', async () => {
    const sampler = new SeqSampler(a).start();
    await sampler.sample();
    const before = (await cluster(a))!;
    const appliedBefore = await appliedAt(a);
    const killedAt = Date.now();
    await b.kill('SIGKILL');
    slurm.model.job.push(makeJob(CLUSTER, 300, { name: 'after-kill' }));
    await waitFor('head1 active at hub-a', () => head1.stream.role === 'active', 15_000, 20);
    const promotedMs = Date.now() - killedAt;
    await waitFor('hub-a equals Slurm', async () => JSON.stringify(await jobIds(a)) === JSON.stringify(slurmIds()), 15_000, 100);
    console.log(`[ha] kill -9 of the owning hub (lease TTL 3 s): hub-a promoted its standby after ${promotedMs} ms, equal to Slurm after ${Date.now() - killedAt} ms`);
    await waitForCluster(a, { agent: 'head1', connected: true, owner_hub: 'hub-a' });
    // Quiesce, then account by seq: what head1 spooled is what hub-a holds...
    slurm.model.job.push(makeJob(CLUSTER, 301));
    await waitFor('job 301 at hub-a', async () => (await jobIds(a)).includes(301), 10_000, 100);
    await waitFor('head1 fully acked', () => head1.spool.unacked().length === 0, 10_000, 50);
    await sampler.sample();
    sampler.stop();
    const after = (await cluster(a))!;
    expect({ epoch: after.epoch, seq: after.seq }).toEqual({ epoch: head1.spool.epoch, seq: head1.spool.lastSeq });
    expect(await jobIds(a)).toEqual(slurmIds());
    // ...and every delta hub-a applied since before the kill advanced its seq: none twice.
    let distinct = 0;
    for (const [epoch, [, hi]] of sampler.seqs) distinct += epoch === before.epoch ? hi - before.seq : hi; // a new epoch starts at seq 1
    expect((await appliedAt(a)) - appliedBefore).toBe(distinct);
    expect(await a.metric('sfleet_ingest_deltas_total', 'outcome="gap"')).toBe(0);
  });

  it('an agent failover inside one hub, and the last agent leaving: every hub of the region names the right agent and connection state', async () => {
    await b.start(); // back, as a follower of the cluster
    await stop(head2);
    head2 = await agent('head2', a);
    await waitFor('head2 standby at hub-a', () => head2.stream.role === 'standby', 10_000, 50);
    await waitFor('hub-b names head1', async () => (await cluster(b))?.agent === 'head1', 15_000, 100);
    await stop(head1);
    await waitFor('head2 active at hub-a', () => head2.stream.role === 'active', 10_000, 20);
    slurm.model.job.push(makeJob(CLUSTER, 400));
    for (const h of [a, b]) {
      await waitForCluster(h, { agent: 'head2', connected: true, owner_hub: 'hub-a' });
      await waitFor(`${h.opts.id} equals Slurm`, async () => JSON.stringify(await jobIds(h)) === JSON.stringify(slurmIds()), 10_000, 100);
    }
    await stop(head2);
    for (const h of [a, b]) {
      await waitForCluster(h, { agent: 'head2', connected: false, owner_hub: null });
    }
    await waitFor('no hub ingests the cluster', async () => (await ingestingHubs(b)).length === 0, 10_000, 100);
  });

  it('etcd down: the working active agent keeps writing, the agent of a new cluster is made active unconfirmed; both are claimed when etcd is back', async () => {
    head1 = await agent('head1', a);
    await waitForCluster(b, { agent: 'head1', connected: true, owner_hub: 'hub-a' });
    for (const m of ['etcd1', 'etcd2', 'etcd3'] as const) await services.kill(m);
    try {
      await waitFor('hub-a sees etcd down', async () => (await a.readyz()).checks.etcd?.startsWith('unreachable'), 15_000, 100);
      await new Promise((r) => setTimeout(r, 3_500)); // past the lease TTL
      slurm.model.job.push(makeJob(CLUSTER, 500, { name: 'during-etcd-outage' }));
      await waitFor('job 500 at both hubs', async () => (await jobIds(a)).includes(500) && (await jobIds(b)).includes(500), 10_000, 100);
      expect(head1.stream.role).toBe('active');
      // A cluster no hub has seen connects to hub-b meanwhile: it is not left without a writer.
      const solo = new ScriptedSource('solo');
      solo.model.job = [makeJob('solo', 1)];
      const soloAgent = await startTestAgent(
        { cluster: 'solo', name: 'solo-head', endpoints: [b.grpcAddress], backoff: ['100ms', '300ms'], tls: await pki.agent('solo', 'solo-head'), spoolDir: join(dir, 'spool-solo') },
        { logger: testLogger('ha-ownership'), source: solo },
      );
      running.add(soloAgent);
      await waitFor('solo active at hub-b', async () => soloAgent.stream.role === 'active' && (await b.client().all('/api/v1/jobs', { cluster: 'solo' })).length === 1, 15_000, 100);
    } finally {
      await services.start();
    }
    // etcd is back: each hub claims what its agents write, on its new lease.
    await waitFor('hub-a reaches etcd', async () => (await a.readyz()).checks.etcd === 'ok', 30_000, 100);
    for (const h of [a, b]) {
      await waitForCluster(h, { agent: 'head1', connected: true, owner_hub: 'hub-a' });
      await waitFor(`${h.opts.id} names hub-b the owner of solo`, async () => {
        const r = await h.client().json<{ items: ClusterItem[] }>('GET', '/api/v1/clusters');
        return r.items.find((c) => c.name === 'solo')?.owner_hub === 'hub-b';
      }, 15_000, 100);
    }
    expect(head1.stream.role).toBe('active');
    expect(JSON.stringify(await jobIds(b))).toBe(JSON.stringify(slurmIds()));
  });
});
