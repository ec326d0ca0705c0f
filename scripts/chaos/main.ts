// `npm run chaos`: kills parts of a small clustered fleet on loopback and checks the invariants
// after each kill. The fleet: 3 hubs (child processes) on a private 3-member etcd and Redis
// (scripts/services/start.sh), one simulated slurmctld (sim/, in this process, ticked here) and
// two agents of its cluster (child processes, active + standby), each behind a TCP proxy per hub.
//
// Per scenario: the fault, then a marker job submitted to Slurm; recovery_ms = the fault until
// every live hub shows the marker (and, for hub and etcd faults, exactly one hub leads). Then
// the killed part restarts, Slurm stops changing, and the accounting runs:
//   lost        deltas the agents spooled that no hub applied (spool epoch/lastSeq vs each hub's
//               cluster epoch/seq) + objects the source holds that a hub lacks or has otherwise
//   duplicated  applied deltas beyond the distinct seqs the ingesting hubs advanced by
//               (sfleet_ingest_deltas_total{outcome="applied"} vs sampled epoch/seq) + objects
//               listed twice
//   double_leader_actions  samples where two hubs lead at once, leader tokens going backwards,
//               and Redis fence values going backwards (a stale token's write accepted)
// Progress goes to stderr; stdout is only the JSON summary. Exit 1 when any invariant fails.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { DeltaSpool } from '../../agent/spool/index.js';
import { HubClient } from '../../cli/client/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { initCa, issueCertificate } from '../../shared/tls/index.js';
import { startSimulator, type RunningSimulator } from '../../sim/index.js';
import { GroupHub } from '../lib/hub-group.js';
import { abort, log, Services, SfleetChild, sleep, TcpProxy, waitFor, type TlsPaths } from '../lib/procs.js';
import { keepForScan } from '../test/run-dir.js';

const REGION = 'chaos';
const CLUSTER = 'storm';
const SCENARIO_MS = 60_000;
const POLL_MS = 300;

interface Summary {
  scenario: string;
  recovery_ms: number | null;
  lost: number;
  duplicated: number;
  double_leader_actions: number;
  error?: string;
}

interface Pki {
  ca: string;
  hub: TlsPaths;
  client: TlsPaths;
  agent(name: string): Promise<TlsPaths>;
}

interface ClusterView {
  name: string;
  agent: string | null;
  epoch: number;
  seq: number;
  connected: boolean;
  /** The hub whose agent of the cluster is active (etcd ownership). */
  owner_hub?: string | null;
}

class Hub extends GroupHub {
  constructor(
    id: string,
    dir: string,
    readonly pki: Pki,
    services: Services,
  ) {
    super(id, dir, {
      region: REGION,
      tls: pki,
      services,
      config: {
        log_level: 'info',
        stream: { heartbeat_interval: '500ms', failover_threshold: 3 },
        etcd: { lease_ttl: '3s' },
        redis: { stale_after: '2s', compact_interval: '1s' },
      },
    });
  }

  client(): HubClient {
    return new HubClient({ hub: `https://127.0.0.1:${this.httpPort}`, ca: this.pki.ca, cert: this.pki.client.cert, key: this.pki.client.key });
  }

  async cluster(): Promise<ClusterView | undefined> {
    const r = await this.client().json<{ items: ClusterView[] }>('GET', '/api/v1/clusters');
    return r.items.find((c) => c.name === CLUSTER);
  }

  /** id -> state of every job of the cluster, and how many ids were listed more than once. */
  async jobs(): Promise<{ jobs: Map<string, string>; repeated: number }> {
    const items = await this.client().all<{ id: number; state: string }>('/api/v1/jobs', { cluster: CLUSTER });
    const jobs = new Map<string, string>();
    let repeated = 0;
    for (const j of items) {
      if (jobs.has(String(j.id))) repeated++;
      jobs.set(String(j.id), j.state);
    }
    return { jobs, repeated };
  }

  /** sfleet_ingest_deltas_total of the outcomes "applied" and "snapshot" (a snapshot is also applied). */
  async applied(): Promise<{ applied: number; snapshots: number }> {
    const text = (await this.get('/metrics')).body;
    const value = (outcome: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`sfleet_ingest_deltas_total{outcome="${outcome}"} `));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    return { applied: value('applied'), snapshots: value('snapshot') };
  }

}

class Agent {
  proc?: SfleetChild;
  readonly spoolDir: string;
  readonly proxies: TcpProxy[] = [];
  constructor(
    readonly name: string,
    readonly dir: string,
  ) {
    this.spoolDir = path.join(dir, name, 'spool');
  }

  get alive(): boolean {
    return !!this.proc?.alive;
  }

  async setup(hubs: Hub[], tls: TlsPaths, slurmUrl: string): Promise<void> {
    for (const h of hubs) this.proxies.push(await new TcpProxy(h.grpcPort).start());
    const home = path.join(this.dir, this.name);
    mkdirSync(home, { recursive: true });
    const config = {
      cluster: CLUSTER,
      name: this.name,
      hub: { endpoints: this.proxies.map((p) => p.address), initial_backoff: '100ms', max_backoff: '500ms' },
      tls,
      slurm: { source: 'rest', endpoints: [slurmUrl], auth: { user: 'root', token: 'sim-token' }, timeout: '2s' },
      poll_interval: `${POLL_MS}ms`,
      spool_dir: this.spoolDir,
      log_level: 'info',
    };
    writeFileSync(path.join(home, 'agent.yaml'), stringify(config));
  }

  start(): void {
    for (const p of this.proxies) p.restore();
    this.proc = new SfleetChild(['agent', '--config', path.join(this.dir, this.name, 'agent.yaml')], path.join(this.dir, this.name, 'agent.log')).start();
  }

  /** epoch, lastSeq and the jobs of the spool; only while the agent is not running. */
  spool(): { epoch: number; lastSeq: number; jobs: Map<string, string> } {
    const s = DeltaSpool.open(this.spoolDir, { cluster: CLUSTER, maxBytes: 256 << 20 }, { logger: silentLogger() });
    try {
      const jobs = new Map<string, string>();
      for (const [k, j] of s.objects.job) jobs.set(k, j.state);
      return { epoch: s.epoch, lastSeq: s.lastSeq, jobs };
    } finally {
      s.close();
    }
  }
}

/** Samples every hub every 50 ms: leaders and their tokens, the Redis fence, cluster epoch/seq. */
class Sampler {
  doubleLeader = 0;
  private maxToken = 0;
  private maxFence = 0;
  /** Per hub: epoch -> [lowest, highest] seq seen. */
  readonly seqs = new Map<string, Map<number, [number, number]>>();
  private timer?: NodeJS.Timeout;
  private busy = false;
  readonly notes: string[] = [];

  constructor(
    private readonly hubs: Hub[],
    private readonly redis: Redis,
    private readonly fenceKey: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), 50);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await sleep(10);
  }

  reset(): void {
    this.doubleLeader = 0;
    this.seqs.clear();
    this.notes.length = 0;
  }

  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const live = this.hubs.filter((h) => h.alive);
      const [tokens, clusters] = await Promise.all([
        Promise.all(live.map((h) => h.leadingToken().catch(() => undefined))),
        Promise.all(live.map((h) => h.cluster().catch(() => undefined))),
      ]);
      const leading = live.map((h, i) => ({ id: h.id, token: tokens[i] })).filter((x) => x.token !== undefined) as { id: string; token: number }[];
      if (new Set(leading.map((l) => l.token)).size > 1) {
        this.doubleLeader++;
        this.notes.push(`two leaders at once: ${leading.map((l) => `${l.id}/${l.token}`).join(', ')}`);
      }
      for (const l of leading) {
        if (l.token < this.maxToken) {
          this.doubleLeader++;
          this.notes.push(`${l.id} leads with token ${l.token} after token ${this.maxToken} was seen`);
        }
        this.maxToken = Math.max(this.maxToken, l.token);
      }
      const fence = await this.redis.get(this.fenceKey).catch(() => null);
      if (fence !== null) {
        const f = Number(fence);
        if (f < this.maxFence) {
          this.doubleLeader++;
          this.notes.push(`Redis fence went back from ${this.maxFence} to ${f}`);
        }
        this.maxFence = Math.max(this.maxFence, f);
      }
      live.forEach((h, i) => {
        const c = clusters[i];
        if (!c || !c.epoch) return;
        const m = this.seqs.get(h.id) ?? new Map<number, [number, number]>();
        this.seqs.set(h.id, m);
        const r = m.get(c.epoch);
        m.set(c.epoch, r ? [Math.min(r[0], c.seq), Math.max(r[1], c.seq)] : [c.seq, c.seq]);
      });
    } finally {
      this.busy = false;
    }
  }
}

async function makePki(dir: string): Promise<Pki> {
  await initCa(dir, { trustDomain: 'chaos.sfleet' });
  const ca = path.join(dir, 'ca.pem');
  const issue = async (role: 'agent' | 'hub' | 'client', name: string, cluster?: string): Promise<TlsPaths> => {
    const out = await issueCertificate(dir, { role, name, cluster });
    return { ca, cert: out.cert, key: out.key };
  };
  return { ca, hub: await issue('hub', 'hub'), client: await issue('client', 'chaos'), agent: (name) => issue('agent', name, CLUSTER) };
}

async function main(): Promise<number> {
  const started = Date.now();
  const dir = mkdtempSync(path.join(tmpdir(), 'sfleet-chaos-'));
  const services = await Services.create();
  const hubs: Hub[] = [];
  const agents: Agent[] = [];
  let sim: RunningSimulator | undefined;
  let redis: Redis | undefined;
  let sampler: Sampler | undefined;
  let churn: NodeJS.Timeout | undefined;
  const results: Summary[] = [];
  const cleanup = async (): Promise<void> => {
    clearInterval(churn);
    await sampler?.stop();
    for (const a of agents) {
      await a.proc?.kill('SIGKILL');
      for (const p of a.proxies) await p.close();
    }
    for (const h of hubs) await h.kill();
    redis?.disconnect();
    await sim?.close();
    await services.stop();
    if (process.env.SFLEET_TEST_LOG_DIR) keepForScan(dir, 'chaos'); // npm test scans them for secrets
    if (process.env.CHAOS_KEEP) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    log(`starting etcd x3 and Redis (${services.dir})`);
    await services.start();
    const pki = await makePki(path.join(dir, 'pki'));
    sim = await startSimulator({ listen: '127.0.0.1:0', cluster: CLUSTER, nodes: 16, jobs: 40, apiVersion: 'v0.0.41', tickMs: 0, arrivalPerMin: 240, log: () => undefined });
    const engine = sim.engine;
    const setChurn = (on: boolean): void => {
      clearInterval(churn);
      churn = on ? setInterval(() => engine.tick(), 250) : undefined;
    };
    for (const id of ['hub-1', 'hub-2', 'hub-3']) hubs.push(new Hub(id, dir, pki, services));
    await hubs[0].start(); // first: it leads
    await Promise.all([hubs[1].start(), hubs[2].start()]);
    log(`hubs ready: ${hubs.map((h) => `${h.id} https://127.0.0.1:${h.httpPort}`).join(', ')}`);
    for (const name of ['head1', 'head2']) {
      const a = new Agent(name, dir);
      await a.setup(hubs, await pki.agent(name), sim.url);
      agents.push(a);
    }
    agents[0].start();
    await waitFor('head1 active', async () => (await hubs[0].cluster())?.agent === 'head1', 30_000);
    agents[1].start();
    redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false }).on('error', () => undefined);
    sampler = new Sampler(hubs, redis, `sfleet:${REGION}:fence`);
    sampler.start();

    const slurmJobs = (): Map<string, string> => {
      const m = new Map<string, string>();
      for (const j of engine.jobs()) m.set(String(j.id), j.state);
      return m;
    };
    const oneLeader = async (): Promise<boolean> => {
      const live = hubs.filter((h) => h.alive);
      const tokens = (await Promise.all(live.map((h) => h.leadingToken().catch(() => undefined)))).filter((t) => t !== undefined);
      return tokens.length === 1;
    };
    // The active agent: head1 at first, then whichever the accounting of the last scenario
    // restarted first and saw the hubs follow.
    let active = agents[0];
    /** Every live hub names `a` as the cluster's agent, connected, in a new epoch. */
    const tookOver = async (a: Agent, oldEpoch: number): Promise<boolean> => {
      const cs = await Promise.all(hubs.filter((h) => h.alive).map((h) => h.cluster()));
      return cs.every((c) => c?.agent === a.name && c.connected && c.epoch !== oldEpoch);
    };
    /** Every live hub lists exactly the jobs of Slurm (ids) and agrees with the others (states). */
    const converged = async (): Promise<boolean> => {
      const want = [...slurmJobs().keys()].sort().join(',');
      const lists = await Promise.all(hubs.filter((h) => h.alive).map((h) => h.jobs()));
      const first = JSON.stringify([...lists[0].jobs].sort());
      return lists.every((l) => [...l.jobs.keys()].sort().join(',') === want && JSON.stringify([...l.jobs].sort()) === first);
    };

    /** The applied counters and the cluster's epoch/seq from one moment: read until the seq holds still around them. */
    const stableRead = async (h: Hub): Promise<{ cluster: ClusterView | undefined; applied: { applied: number; snapshots: number } }> => {
      for (let i = 0; ; i++) {
        const cluster = await h.cluster();
        const applied = await h.applied();
        const again = await h.cluster();
        if (i >= 20 || (cluster?.epoch === again?.epoch && cluster?.seq === again?.seq)) return { cluster, applied };
      }
    };

    type Fault = { kill: () => Promise<void>; recovered: () => Promise<boolean>; restore: () => Promise<void> };
    const scenarios: [string, () => Promise<Fault>][] = [
      [
        'kill -9 leader hub',
        async () => {
          let victim: Hub | undefined;
          for (const h of hubs) if ((await h.leadingToken().catch(() => undefined)) !== undefined) victim = h;
          if (!victim) throw new Error('no hub leads before the fault');
          const v = victim;
          log(`  leader is ${v.id}`);
          return { kill: () => v.kill(), recovered: oneLeader, restore: () => v.start() };
        },
      ],
      [
        'kill -9 follower hub',
        async () => {
          const tokens = await Promise.all(hubs.map((h) => h.leadingToken().catch(() => undefined)));
          const v = hubs.find((_, i) => tokens[i] === undefined)!;
          log(`  follower is ${v.id}`);
          return { kill: () => v.kill(), recovered: oneLeader, restore: () => v.start() };
        },
      ],
      [
        'kill -9 etcd raft leader',
        async () => {
          const m = await services.etcdLeader();
          if (!m) throw new Error('no etcd raft leader before the fault');
          log(`  raft leader is ${m}`);
          return {
            kill: () => services.kill(m),
            recovered: async () => (await services.etcdLeader()) !== undefined && (await oneLeader()),
            restore: () => services.start(),
          };
        },
      ],
      [
        'kill -9 redis',
        async () => ({
          kill: async () => {
            await services.kill('redis');
            await sleep(2_000); // an outage, not a blip
            await services.start();
          },
          recovered: async () => {
            for (const h of hubs.filter((x) => x.alive)) if ((await h.get(`/api/v1/jobs?cluster=${CLUSTER}&limit=1`)).headers['x-sfleet-freshness'] !== 'fresh') return false;
            return true;
          },
          restore: async () => undefined,
        }),
      ],
      [
        'kill -9 active agent',
        async () => {
          const a = active;
          const other = agents.find((x) => x !== a)!;
          const epoch = (await hubs.find((h) => h.alive)!.cluster())!.epoch;
          log(`  active agent is ${a.name}`);
          return {
            kill: () => a.proc!.kill('SIGKILL'),
            recovered: () => tookOver(other, epoch),
            restore: async () => a.start(),
          };
        },
      ],
      [
        'network cut agent-hub (blackhole)',
        async () => {
          const a = active;
          const other = agents.find((x) => x !== a)!;
          const epoch = (await hubs.find((h) => h.alive)!.cluster())!.epoch;
          log(`  cutting ${a.name} off its hubs`);
          return {
            kill: async () => {
              for (const p of a.proxies) p.blackhole();
            },
            recovered: () => tookOver(other, epoch),
            restore: async () => {
              for (const p of a.proxies) p.restore();
            },
          };
        },
      ],
      [
        'kill -9 owning hub (agents on two hubs)',
        async () => {
          // The standby is moved off the owning hub first (its link there blackholed), so the two
          // agents of the cluster stream to two hubs: only the owner's may be active.
          const ownerId = (await hubs.find((h) => h.alive)!.cluster())?.owner_hub;
          const owner = hubs.find((h) => h.id === ownerId && h.alive);
          if (!owner) throw new Error(`no live hub owns the cluster before the fault (owner_hub ${ownerId})`);
          const i = hubs.indexOf(owner);
          const standby = agents.find((x) => x !== active)!;
          standby.proxies[i].blackhole();
          await waitFor(`${standby.name} on another hub`, () => standby.proxies.some((p, j) => j !== i && p.connections > 0), 20_000);
          await sleep(1_000);
          const views = await Promise.all(hubs.filter((h) => h.alive).map((h) => h.cluster()));
          if (!views.every((c) => c?.owner_hub === owner.id && c.agent === active.name)) throw new Error(`before the fault not every hub names ${owner.id}/${active.name}: ${JSON.stringify(views)}`);
          log(`  ${active.name} active on ${owner.id} (the owner), ${standby.name} standby on another hub`);
          return {
            kill: () => owner.kill(),
            // Another live hub owns the cluster, every live hub says so, and one leads.
            recovered: async () => {
              const live = hubs.filter((h) => h.alive);
              const cs = await Promise.all(live.map((h) => h.cluster()));
              return cs.every((c) => c?.connected && c.owner_hub && c.owner_hub !== owner.id && c.owner_hub === cs[0]?.owner_hub) && (await oneLeader());
            },
            restore: async () => {
              standby.proxies[i].restore();
              await owner.start();
            },
          };
        },
      ],
    ];

    let seqMarker = 0;
    for (const [name, prepare] of scenarios) {
      const summary: Summary = { scenario: name, recovery_ms: null, lost: 0, duplicated: 0, double_leader_actions: 0 };
      results.push(summary);
      const t0 = Date.now();
      log(`scenario: ${name}`);
      let timer: NodeJS.Timeout | undefined;
      let body: Promise<void> | undefined;
      try {
        body = (async () => {
          // Steady state first: every hub equal to Slurm, one leader, both agents up.
          setChurn(true);
          await waitFor('steady state', async () => (await oneLeader()) && (await tookOver(active, -1)), 20_000);
          await sleep(1_000);
          sampler!.reset();
          const live0 = hubs.filter((h) => h.alive);
          const before = new Map(
            await Promise.all(
              live0.map(async (h) => {
                const r = await stableRead(h);
                return [h.id, { pid: h.proc?.child?.pid, ...r }] as const;
              }),
            ),
          );
          const fault = await prepare();
          const killedAt = Date.now();
          await fault.kill();
          const marker = engine.submit({ name: `chaos-marker-${++seqMarker}` });
          const markerId = String(marker);
          await waitFor(
            'recovery (marker job on every live hub)',
            async () => {
              for (const h of hubs.filter((x) => x.alive)) if (!(await h.jobs()).jobs.has(markerId)) return false;
              return fault.recovered();
            },
            40_000,
            50,
          );
          summary.recovery_ms = Date.now() - killedAt;
          log(`  recovered in ${summary.recovery_ms} ms`);
          await fault.restore();
          // Quiesce: Slurm stops changing, every hub converges on it.
          setChurn(false);
          await waitFor('hubs converged on Slurm', converged, 20_000, 200);
          await sleep(2 * POLL_MS);
          await sampler!.sample();
          // Accounting: both agents stop cleanly and their spools are read; the one whose epoch
          // the hubs hold restarts alone and resends what the hubs have not acked, then the other.
          for (const a of agents) await a.proc?.kill('SIGTERM');
          const spools = agents.map((a) => ({ agent: a, ...a.spool() }));
          const hubEpoch = (await hubs.find((h) => h.alive)!.cluster())?.epoch;
          const current = spools.find((sp) => sp.epoch === hubEpoch);
          if (!current) throw new Error(`the hubs hold epoch ${hubEpoch}, no agent's spool does (${spools.map((sp) => `${sp.agent.name}:${sp.epoch}`).join(', ')})`);
          active = current.agent;
          active.start();
          await waitFor(`${active.name} active again`, () => tookOver(active, -1), 20_000);
          const live = hubs.filter((h) => h.alive);
          await waitFor(
            `every hub at ${active.name}'s epoch ${current.epoch} seq ${current.lastSeq}`,
            async () => (await Promise.all(live.map((h) => h.cluster()))).every((c) => c?.epoch === current.epoch && c.seq >= current.lastSeq),
            15_000,
            100,
          ).catch((err: Error) => log(`  ${err.message}`));
          agents.find((x) => x !== active)!.start();
          await sampler!.sample();
          const views = await Promise.all(live.map(async (h) => ({ hub: h, jobs: await h.jobs(), ...(await stableRead(h)) })));
          const slurm = slurmJobs();
          for (const v of views) {
            const c = v.cluster;
            if (!c || c.epoch !== current.epoch) {
              summary.lost = Math.max(summary.lost, current.lastSeq);
              summary.error = `${v.hub.id} holds epoch ${c?.epoch}, not ${active.name}'s ${current.epoch}`;
              continue;
            }
            let missing = Math.max(0, current.lastSeq - c.seq);
            for (const id of slurm.keys()) if (!v.jobs.jobs.has(id)) missing++;
            for (const [id, state] of current.jobs) if (v.jobs.jobs.get(id) !== state) missing++;
            summary.lost = Math.max(summary.lost, missing);
            summary.duplicated = Math.max(summary.duplicated, v.jobs.repeated);
            // Applied deltas vs the distinct seqs this hub advanced by (not for a restarted hub).
            const b = before.get(v.hub.id);
            const seen = sampler!.seqs.get(v.hub.id);
            if (!b || !b.cluster || b.pid !== v.hub.proc?.child?.pid || !seen) continue;
            const last = seen.get(c.epoch);
            if (last) last[1] = Math.max(last[1], c.seq);
            else seen.set(c.epoch, [c.seq, c.seq]);
            let distinct = 0;
            for (const [epoch, [, hi]] of seen) distinct += epoch === b.cluster.epoch ? hi - b.cluster.seq : hi; // a new epoch starts at seq 1
            const appliedDelta = v.applied.applied - b.applied.applied;
            // A snapshot (a resync on request) may land on a seq the hub already holds: it
            // replaces the state instead of adding to it, so it is no duplicated delta.
            const snapshots = v.applied.snapshots - b.applied.snapshots;
            if (appliedDelta > distinct) log(`  ${v.hub.id}: ${appliedDelta} deltas applied (${snapshots} snapshots), ${distinct} distinct seqs seen in ${seen.size} epoch(s)`);
            if (appliedDelta - snapshots > distinct) summary.duplicated = Math.max(summary.duplicated, appliedDelta - snapshots - distinct);
          }
          summary.double_leader_actions = sampler!.doubleLeader;
          for (const n of sampler!.notes.slice(0, 5)) log(`  ${n}`);
          log(
            `  spools: ${spools.map((sp) => `${sp.agent.name} epoch ${sp.epoch} seq ${sp.lastSeq}`).join('; ')}; hubs: ${views
              .map((v) => `${v.hub.id} ${v.cluster?.epoch}/${v.cluster?.seq} agent ${v.cluster?.agent}`)
              .join('; ')}`,
          );
        })();
        await Promise.race([
          body,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`scenario did not finish within ${SCENARIO_MS / 1000} s`)), SCENARIO_MS);
          }),
        ]);
      } catch (err) {
        summary.error = (err as Error).message;
        log(`  FAILED: ${summary.error}`);
        // Stop what is left of the scenario before repairing the fleet under it.
        abort.aborted = true;
        await body?.catch(() => undefined);
        abort.aborted = false;
        // Bring everything back for the next scenario.
        setChurn(false);
        await services.start().catch((e: Error) => log(`  services restart: ${e.message}`));
        for (const h of hubs) if (!h.alive) await h.start().catch((e: Error) => log(`  ${h.id} restart: ${e.message}`));
        for (const a of agents) {
          for (const p of a.proxies) p.restore();
          if (!a.alive) a.start();
        }
        await sleep(3_000);
        const owner = (await hubs[0].cluster().catch(() => undefined))?.agent;
        active = agents.find((a) => a.name === owner) ?? active;
      } finally {
        clearTimeout(timer);
      }
      const ok = !summary.error && summary.lost === 0 && summary.duplicated === 0 && summary.double_leader_actions === 0;
      log(`  ${ok ? 'ok' : 'FAIL'}: ${JSON.stringify(summary)} (${Date.now() - t0} ms)`);
    }
    log(`all scenarios done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    log(`setup failed: ${(err as Error).stack ?? String(err)}`);
    results.push({ scenario: 'setup', recovery_ms: null, lost: 0, duplicated: 0, double_leader_actions: 0, error: (err as Error).message });
  } finally {
    log('cleaning up');
    await cleanup();
  }
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return results.every((s) => !s.error && s.lost === 0 && s.duplicated === 0 && s.double_leader_actions === 0) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
