// A rolling upgrade of a hub group and its agents from the previous release (built from git,
// test/harness/previous-release.ts) onto this build, and back, while Slurm changes: the chaos
// fleet (3 hubs on a private etcd x3 + Redis, a simulated cluster with an active and a standby
// agent), restarted one process at a time as docs/operator-guide.md says: take the hub out of the
// load balancer, SIGTERM, start the other build, wait for /readyz, put it back. A client behind
// that "load balancer" lists jobs 10 times a second and a watch client follows the fleet; the
// chaos accounting counts lost and duplicated deltas and double-leader actions.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, readBefore, type Summary } from '../scripts/chaos/accounting.js';
import { CLUSTER, Fleet, REGION, type Agent, type Hub } from '../scripts/chaos/fleet.js';
import { Sampler } from '../scripts/chaos/sampler.js';
import { keepForScan } from '../scripts/test/run-dir.js';
import { freePort, HaServices, sleep, waitFor } from './harness/index.js';
import { StandaloneHub } from './harness/standalone-hub.js';
import { previousRelease, PREVIOUS_RELEASE } from './harness/previous-release.js';

/** The hubs a load balancer sends to; a probe client and a watch client behind it. */
class Rotation {
  readonly in = new Set<Hub>();
  private turn = 0;
  pick(): Hub {
    const hubs = [...this.in];
    return hubs[this.turn++ % hubs.length];
  }
}

/** GET /api/v1/jobs 10 times a second through the rotation; every answer must be 200 with the cluster's jobs. */
class Prober {
  requests = 0;
  readonly errors: string[] = [];
  private running = true;
  private loop?: Promise<void>;
  constructor(private readonly rotation: Rotation) {}
  start(): this {
    this.loop = (async () => {
      while (this.running) {
        const hub = this.rotation.pick();
        const t = Date.now();
        this.requests++;
        await hub
          .client()
          .json<{ items: unknown[] }>('GET', `/api/v1/jobs?cluster=${CLUSTER}&limit=20`)
          .then((r) => void (r.items.length === 0 && this.errors.push(`${hub.id}: no jobs listed`)))
          .catch((err: Error) => void this.errors.push(`${hub.id}: ${err.message}`));
        await sleep(Math.max(0, 100 - (Date.now() - t)));
      }
    })();
    return this;
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/**
 * A watch client: lists on start and on `reset`, applies upserts and removals, and resumes with
 * its last event id on another hub, both when its hub goes away and every MOVE_MS on its own
 * (a load balancer spreading long-lived connections). Each resume is counted by the builds
 * involved: ids of the previous release resume only on the hub run that gave them, so a move
 * from or to it gets a reset; between hubs of this build the group's ids must resume.
 */
class Watcher {
  readonly jobs = new Map<string, string>();
  resumes = 0;
  resets = 0;
  /** Resumes from an id this build gave, on a hub of this build; and the resets among them. */
  resumesWithinBuild = 0;
  resetsWithinBuild = 0;
  private lastId?: string;
  /** The id came from a hub of this build. */
  private lastIdOfBuild = false;
  private running = true;
  private loop?: Promise<void>;
  constructor(private readonly rotation: Rotation) {}
  private async relist(hub: Hub): Promise<void> {
    this.jobs.clear();
    for (const j of await hub.client().all<{ id: number; state: string }>('/api/v1/jobs', { cluster: CLUSTER })) this.jobs.set(String(j.id), j.state);
  }
  start(): this {
    this.loop = (async () => {
      while (this.running) {
        const hub = this.rotation.pick();
        const ofBuild = hub.release === undefined;
        const within = !!this.lastId && this.lastIdOfBuild && ofBuild;
        if (this.lastId) this.resumes++;
        if (within) this.resumesWithinBuild++;
        const opened = Date.now();
        await hub
          .client()
          .stream(`/api/v1/watch?cluster=${CLUSTER}&kinds=job`, this.lastId, (e) => {
            if (e.id) {
              this.lastId = e.id;
              this.lastIdOfBuild = ofBuild;
            }
            const data = JSON.parse(e.data || '{}') as { id?: string; object?: { state?: string } | null };
            if (e.event === 'reset') {
              this.resets++;
              if (within) this.resetsWithinBuild++;
              void this.relist(hub).catch(() => undefined);
            } else if (e.event === 'upsert' && data.id && data.object?.state) this.jobs.set(data.id, data.object.state);
            else if (e.event === 'remove' && data.id) this.jobs.delete(data.id);
            // Moves on after an event it has applied: the next hub must go on from there.
            if (Date.now() - opened > MOVE_MS) throw new Error('move');
          })
          .catch(() => undefined);
        if (!this.lastId) await this.relist(this.rotation.pick()).catch(() => undefined);
        await sleep(200);
      }
    })();
    return this;
  }
  async stop(): Promise<void> {
    this.running = false;
  }
}

const MOVE_MS = 1_500;

describe(`rolling upgrade of a hub group from the previous release (${PREVIOUS_RELEASE.slice(0, 12)}) and back`, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sfleet-upgrade-'));
  let services: HaServices;
  let fleet: Fleet;
  let redis: Redis;
  let sampler: Sampler;
  let previous: string;
  let peerHttp: number;
  let peer: StandaloneHub | undefined;

  beforeAll(async () => {
    previous = await previousRelease();
    services = await HaServices.at('upgrade');
    peerHttp = await freePort(); // a peer region's hub, started by the last test

    // Generous: this build starts more than the previous one, on a machine CI may share.
    fleet = new Fleet(dir, services, { release: previous, readyTimeoutMs: 120_000, regions: { peers: [{ name: 'peer', url: `https://127.0.0.1:${peerHttp}`, timeout: '5s' }] } });
    await fleet.start();
    redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 1 }).on('error', () => undefined);
    sampler = new Sampler(fleet.hubs, redis, `sfleet:${REGION}:fence`);
    sampler.start();
  }, 600_000);

  afterAll(async () => {
    fleet?.stopChurn();
    await sampler?.stop();
    for (const a of fleet?.agents ?? []) {
      await a.proc?.kill('SIGKILL');
      for (const p of a.proxies) await p.close();
    }
    for (const h of fleet?.hubs ?? []) await h.kill();
    await peer?.kill();
    redis?.disconnect();
    await fleet?.sim?.close();
    await services?.stop();
    if (process.env.SFLEET_TEST_LOG_DIR) keepForScan(dir, 'rolling-upgrade'); // the secrets scan reads them
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every process onto `release` (undefined: this build), hubs first, then the standby agent, then the active one. */
  async function roll(release: string | undefined, what: string): Promise<{ summary: Summary; prober: Prober; watcher: Watcher }> {
    const rotation = new Rotation();
    for (const h of fleet.hubs) rotation.in.add(h);
    fleet.setChurn(true);
    await waitFor('steady state', async () => (await fleet.oneLeader()) && (await fleet.tookOver(fleet.active, -1)), 60_000);
    sampler.reset();
    const before = await readBefore(fleet);
    const prober = new Prober(rotation).start();
    const watcher = new Watcher(rotation).start();
    try {
      return await rollWith(release, what, rotation, prober, watcher, before);
    } catch (err) {
      // What the agents said is what a failed step needs (the directory goes with the test).
      const tail = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-15).join('\n') : '(no log)');
      throw new Error(`${(err as Error).message}\n${fleet.agents.map((a) => `--- ${a.name}\n${tail(path.join(dir, a.name, 'agent.log'))}`).join('\n')}`);
    } finally {
      await prober.stop();
      await watcher.stop();
    }
  }

  async function rollWith(release: string | undefined, what: string, rotation: Rotation, prober: Prober, watcher: Watcher, before: Awaited<ReturnType<typeof readBefore>>): Promise<{ summary: Summary; prober: Prober; watcher: Watcher }> {
    await sleep(1_000);
    for (const hub of fleet.hubs) {
      rotation.in.delete(hub);
      await sleep(300); // what the load balancer had sent it finishes
      await hub.stop();
      hub.release = release;
      await hub.start().catch((err: Error) => {
        throw new Error(`${hub.id} did not start on ${what}: ${err.message}\n${hub.log().slice(-4_000)}`);
      });
      await waitFor(`${hub.id} (${what}) has the cluster`, async () => (await hub.cluster())?.connected === true, 30_000);
      rotation.in.add(hub);
      await sleep(1_000);
    }
    const standby = fleet.agents.find((a) => a !== fleet.active)!;
    const restartAgent = async (a: Agent): Promise<void> => {
      await a.proc?.kill('SIGTERM');
      a.release = release;
      a.start();
    };
    await restartAgent(standby);
    await sleep(2_000);
    const active = fleet.active;
    await restartAgent(active);
    // The standby takes over while the active agent restarts (a new epoch), or the active one is
    // back first and resumes its own epoch: either way one of them streams to every hub.
    await sleep(1_000);
    const streaming = async (): Promise<Agent | undefined> => {
      const cs = await Promise.all(fleet.hubs.map((h) => h.cluster()));
      const name = cs[0]?.agent;
      return cs.every((c) => c?.connected && c.agent === name) ? fleet.agents.find((a) => a.name === name && a.alive) : undefined;
    };
    fleet.active = await waitFor('an agent streaming to every hub', streaming, 60_000);
    const marker = String(fleet.engine.submit({ name: `upgrade-marker-${what}` }));
    await waitFor('the marker job on every hub', async () => (await Promise.all(fleet.hubs.map((h) => h.jobs()))).every((j) => j.jobs.has(marker)), 30_000);
    fleet.setChurn(false);
    await waitFor('hubs converged on Slurm', () => fleet.converged(), 30_000, 200);
    await prober.stop();
    await sleep(1_000);
    await watcher.stop();
    const summary: Summary = { scenario: what, recovery_ms: null, lost: 0, duplicated: 0, double_leader_actions: 0 };
    await sampler.sample();
    await account(fleet, sampler, before, summary);
    return { summary, prober, watcher };
  }

  /** The checkout each hub and agent process runs, from its command line. */
  const running = (): string[] =>
    [...fleet.hubs.map((h) => h.proc?.child?.pid), ...fleet.agents.map((a) => a.proc?.child?.pid)].map((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[1].startsWith(`${previous}/`) ? 'previous' : 'this build',
    );

  it('hubs then agents onto this build while Slurm changes: nothing lost or duplicated, one leader, no client error, the watch client ends equal to Slurm', async () => {
    expect(running()).toEqual(Array(5).fill('previous'));
    const { summary, prober, watcher } = await roll(undefined, 'upgrade');
    expect(running()).toEqual(Array(5).fill('this build'));
    console.log(`upgrade: ${prober.requests} probes, ${prober.errors.length} errors; watch resumed ${watcher.resumes} times (${watcher.resumesWithinBuild} between hubs of this build), ${watcher.resets} resets (${watcher.resetsWithinBuild} between hubs of this build)`);
    expect(summary).toEqual({ scenario: 'upgrade', recovery_ms: null, lost: 0, duplicated: 0, double_leader_actions: 0 });
    expect(prober.errors).toEqual([]);
    expect(prober.requests).toBeGreaterThan(100);
    // Between hubs of this build the watch client moved on with Last-Event-ID and never had to list again.
    expect(watcher.resumesWithinBuild).toBeGreaterThanOrEqual(3);
    expect(watcher.resetsWithinBuild).toBe(0);
    expect(watcher.jobs).toEqual(fleet.slurmJobs());
  }, 600_000);

  it('and back onto the previous release: the data directories and the stream this build wrote still serve', async () => {
    const { summary, prober, watcher } = await roll(previous, 'rollback');
    expect(running()).toEqual(Array(5).fill('previous'));
    console.log(`rollback: ${prober.requests} probes, ${prober.errors.length} errors; watch resumed ${watcher.resumes} times, ${watcher.resets} resets`);
    expect(summary).toEqual({ scenario: 'rollback', recovery_ms: null, lost: 0, duplicated: 0, double_leader_actions: 0 });
    expect(prober.errors).toEqual([]);
    expect(watcher.jobs).toEqual(fleet.slurmJobs());
  }, 600_000);

  it('a scope=global query crosses to a peer region one release apart, both ways', async () => {
    // The group is on the previous release now; the peer region's hub runs this build.
    peer = new StandaloneHub(path.join(dir, 'peer'), fleet.pki, { region: 'peer', hub_id: 'peer-1', regions: { peers: [{ name: REGION, url: fleet.hubs[0].httpUrl, timeout: '5s' }] } });
    peer.httpPort = peerHttp;
    peer.grpcPort = await freePort();
    await peer.start();
    type Global = { items: { region?: string; cluster: string }[]; regions: string[]; partial: string[] };
    const fromPeer = (await peer.get('/api/v1/jobs?scope=global&limit=5000', { clientCert: true })).json as Global;
    expect(fromPeer.partial).toEqual([]);
    expect(fromPeer.regions.sort()).toEqual(['peer', REGION].sort());
    expect(new Set(fromPeer.items.map((j) => `${j.region}/${j.cluster}`))).toEqual(new Set([`${REGION}/${CLUSTER}`]));
    expect(fromPeer.items.length).toBe(fleet.slurmJobs().size);
    const fromGroup = await fleet.hubs[1].client().json<Global>('GET', '/api/v1/jobs?scope=global&limit=5000');
    expect(fromGroup.partial).toEqual([]);
    expect(fromGroup.regions.sort()).toEqual(['peer', REGION].sort());
    expect(fromGroup.items.length).toBe(fleet.slurmJobs().size);
  }, 300_000);
});
