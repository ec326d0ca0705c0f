// The chaos fleet: 3 hubs (child processes) on a private 3-member etcd and Redis
// (scripts/services/start.sh), one simulated slurmctld (sim/, in this process, ticked here) and
// two agents of its cluster (child processes, active + standby), each behind a TCP proxy per hub
// (loopback mode). In netns mode (options.net) every hub, etcd member, Redis and agent runs in its
// own network namespace; the agents reach the hubs through the delayer's namespace (netns/delayer.ts)
// instead of the proxies, and faults are nftables rules (netns/net.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { DeltaSpool } from '../../agent/spool/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import type { TlsFiles } from '../../shared/tls/index.js';
import { startSimulator, type RunningSimulator } from '../../sim/index.js';
import { agentConfig, GroupHub, makePki, SfleetProcess, TcpProxy, type HaServices, type TestPki } from '../../test/harness/index.js';
import type { Delayer } from './netns/delayer-process.js';
import { BRIDGE_ADDRESS, type Netns } from './netns/net.js';
import { log, waitFor } from './progress.js';

export const REGION = 'chaos';
export const CLUSTER = 'storm';
export const POLL_MS = 300;

export interface ClusterView {
  name: string;
  agent: string | null;
  epoch: number;
  seq: number;
  connected: boolean;
  /** The hub whose agent of the cluster is active (etcd ownership). */
  owner_hub?: string | null;
}

export interface FleetOptions {
  /** Where hubs and agents start from: the built checkout of an earlier release (default this one). */
  release?: string;
  /** How long a hub's start waits for /readyz (HubChildOptions; default 30 s). */
  readyTimeoutMs?: number;
  /** The hubs' `regions:` section (peer regions of a scope=global query). */
  regions?: Record<string, unknown>;
  /** Jobs at start and arrivals per minute of the simulated cluster (40, 240). */
  jobs?: number;
  arrivalPerMin?: number;
  /** Seconds a finished job stays listed (the simulator's 300 by default). */
  minJobAgeS?: number;
  /** More config for every hub (merged over the fleet's own sections). */
  hubConfig?: Record<string, unknown>;
  /** More config per agent, by name. */
  agentConfig?: (name: string) => Promise<Record<string, unknown>>;
  /** netns mode: the namespaces (hub-N, etcdN, redis, headN, delay already added) and the delayer. */
  net?: Netns;
  delayer?: Delayer;
}

export class Hub extends GroupHub {
  constructor(id: string, dir: string, pki: TestPki, services: HaServices, options: FleetOptions = {}) {
    super(id, dir, {
      region: REGION,
      pki,
      etcdEndpoints: services.etcdEndpoints,
      redisUrl: services.redisUrl,
      config: {
        log_level: 'info',
        stream: { heartbeat_interval: '500ms', failover_threshold: 3 },
        etcd: { lease_ttl: '3s' },
        redis: { stale_after: '2s', compact_interval: '1s' },
        ...(options.regions ? { regions: options.regions } : {}),
        ...(options.hubConfig ? { sections: options.hubConfig } : {}),
      },
      // Chaos keeps its logs and audit records itself (keepForScan); a hung hub must not stall the run.
      runDir: false,
      killAfterMs: 10_000,
      release: options.release,
      readyTimeoutMs: options.readyTimeoutMs,
      ...(options.net ? { host: options.net.get(id).address, netns: options.net.get(id).ns } : {}),
    });
  }

  /** As GroupHub's, but also undefined when the hub is down or does not answer (the sampler asks every hub). */
  override async leadingToken(): Promise<number | undefined> {
    if (!this.alive) return undefined;
    return super.leadingToken().catch(() => undefined);
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
    const text = (await this.raw('/metrics')).body;
    const value = (outcome: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`sfleet_ingest_deltas_total{outcome="${outcome}"} `));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    return { applied: value('applied'), snapshots: value('snapshot') };
  }
}

export class Agent {
  proc?: SfleetProcess;
  readonly spoolDir: string;
  readonly proxies: TcpProxy[] = [];
  constructor(
    readonly name: string,
    readonly dir: string,
    /** The built checkout the next start() runs (default this one): the upgrade test changes it. */
    public release?: string,
    /** netns mode: the agent's namespace, and the hub endpoints it dials (the delayer's). */
    readonly netns?: { ns: string; endpoints: string[] },
  ) {
    this.spoolDir = path.join(dir, name, 'spool');
  }

  get alive(): boolean {
    return !!this.proc?.alive;
  }

  /** `extra`: more agent config (the soak's observe listener). */
  async setup(hubs: Hub[], tls: TlsFiles, slurmUrl: string, extra: Record<string, unknown> = {}): Promise<void> {
    if (!this.netns) for (const h of hubs) this.proxies.push(await new TcpProxy('127.0.0.1', h.grpcPort).start());
    const home = path.join(this.dir, this.name);
    mkdirSync(home, { recursive: true });
    const config = agentConfig({
      cluster: CLUSTER,
      name: this.name,
      endpoints: this.netns?.endpoints ?? this.proxies.map((p) => p.address),
      backoff: ['100ms', '500ms'],
      // A connect started during a cut is given up after 1 s, not the 10 s hello timeout. Not for
      // an earlier release (the upgrade test): its agent refuses a key it does not know.
      ...(this.release === undefined ? { connectTimeout: '1s' } : {}),
      tls,
      slurm: { source: 'rest', endpoints: [slurmUrl], auth: { user: 'root', token: 'sim-token' }, timeout: '2s' },
      pollInterval: `${POLL_MS}ms`,
      spoolDir: this.spoolDir,
      extra: { log_level: 'info', ...extra },
    });
    writeFileSync(path.join(home, 'agent.yaml'), stringify(config));
  }

  start(): void {
    for (const p of this.proxies) p.restore();
    const home = path.join(this.dir, this.name);
    this.proc = new SfleetProcess(['agent', '--config', path.join(home, 'agent.yaml')], path.join(home, 'agent.log'), process.env, {
      runDir: false,
      killAfterMs: 10_000,
      release: this.release,
      ...(this.netns ? { netns: this.netns.ns } : {}),
    }).start();
  }

  /** epoch, lastSeq and the jobs of the spool; only while the agent is not running. */
  spool(): { epoch: number; lastSeq: number; jobs: Map<string, string> } {
    const s = DeltaSpool.open(this.spoolDir, { cluster: CLUSTER, maxBytes: 256 << 20 }, { logger: silentLogger() });
    try {
      const jobs = new Map<string, string>();
      for (const [k, j] of s.objects.job) jobs.set(String(k), j.state);
      return { epoch: s.epoch, lastSeq: s.lastSeq, jobs };
    } finally {
      s.close();
    }
  }
}

/** What the soak changes; chaos takes the defaults. */

/** The running fleet and the questions the scenarios and the accounting ask of it. */
export class Fleet {
  readonly hubs: Hub[] = [];
  readonly agents: Agent[] = [];
  sim?: RunningSimulator;
  /** The fleet CA and its certificates; made by start(). */
  pki!: TestPki;
  private churn?: NodeJS.Timeout;
  // The active agent: head1 at first, then whichever the accounting of the last scenario
  // restarted first and saw the hubs follow.
  active!: Agent;

  constructor(
    readonly dir: string,
    readonly services: HaServices,
    readonly options: FleetOptions = {},
  ) {}

  /** etcd + Redis, the simulator, the hubs (hub-1 first: it leads) and the agents (head1 active). */
  async start(): Promise<void> {
    const { dir, services, hubs, agents } = this;
    await services.start(120_000);
    const { net } = this.options;
    const hubIds = ['hub-1', 'hub-2', 'hub-3'];
    // In netns mode the hubs are called at their namespaces' addresses, and the agents dial the
    // delayer's (it relays TLS untouched): the certificate names them all.
    const hubSans = net ? [...hubIds, 'delay'].map((id) => net.get(id).address) : undefined;
    const pki = await makePki('chaos.sfleet', { dir: path.join(dir, 'pki'), clientName: 'chaos', registerSecrets: false, ...(hubSans ? { hubSans } : {}) });
    this.pki = pki;
    const { jobs = 40, arrivalPerMin = 240, minJobAgeS, agentConfig: more } = this.options;
    const sim = await startSimulator({ listen: `${net ? BRIDGE_ADDRESS : '127.0.0.1'}:0`, cluster: CLUSTER, nodes: 16, jobs, apiVersion: 'v0.0.41', tickMs: 0, arrivalPerMin, ...(minJobAgeS ? { engine: { minJobAgeS } } : {}), log: () => undefined });
    this.sim = sim;
    for (const id of hubIds) hubs.push(new Hub(id, dir, pki, services, this.options));
    await hubs[0].start(); // first: it leads
    await Promise.all([hubs[1].start(), hubs[2].start()]);
    log(`hubs ready: ${hubs.map((h) => `${h.id} ${h.httpUrl}`).join(', ')}`);
    const { delayer } = this.options;
    if (delayer) await delayer.start(hubs.map((h) => ({ host: h.host, port: h.grpcPort })));
    for (const name of ['head1', 'head2']) {
      const a = new Agent(name, dir, this.options.release, net && delayer ? { ns: net.get(name).ns, endpoints: delayer.endpoints } : undefined);
      await a.setup(hubs, await pki.agent(CLUSTER, name), sim.url, (await more?.(name)) ?? {});
      agents.push(a);
    }
    agents[0].start();
    await waitFor('head1 active', async () => (await hubs[0].cluster())?.agent === 'head1', 30_000);
    agents[1].start();
    this.active = agents[0];
  }

  get engine(): RunningSimulator['engine'] {
    return this.sim!.engine;
  }

  setChurn(on: boolean): void {
    clearInterval(this.churn);
    const engine = this.engine;
    this.churn = on ? setInterval(() => engine.tick(), 250) : undefined;
  }

  stopChurn(): void {
    clearInterval(this.churn);
  }

  liveHubs(): Hub[] {
    return this.hubs.filter((h) => h.alive);
  }

  slurmJobs(): Map<string, string> {
    const m = new Map<string, string>();
    for (const j of this.engine.jobs()) m.set(String(j.id), j.state);
    return m;
  }

  async oneLeader(): Promise<boolean> {
    const live = this.liveHubs();
    const tokens = (await Promise.all(live.map((h) => h.leadingToken().catch(() => undefined)))).filter((t) => t !== undefined);
    return tokens.length === 1;
  }

  /** Every live hub names `a` as the cluster's agent, connected, in a new epoch. */
  async tookOver(a: Agent, oldEpoch: number): Promise<boolean> {
    const cs = await Promise.all(this.liveHubs().map((h) => h.cluster()));
    return cs.every((c) => c?.agent === a.name && c.connected && c.epoch !== oldEpoch);
  }

  /** Every live hub lists exactly the jobs of Slurm (ids) and agrees with the others (states). */
  async converged(): Promise<boolean> {
    const want = [...this.slurmJobs().keys()].sort().join(',');
    const lists = await Promise.all(this.liveHubs().map((h) => h.jobs()));
    const first = JSON.stringify([...lists[0].jobs].sort());
    return lists.every((l) => [...l.jobs.keys()].sort().join(',') === want && JSON.stringify([...l.jobs].sort()) === first);
  }
}
