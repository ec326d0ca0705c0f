// Region B of the region-cut scenario (netns mode only): its own etcd (3 members in one
// namespace), Redis, one hub and one agent of its own simulated cluster, each in a namespace on
// the chaos bridge. It federates with region A as the README documents: each region's hubs name
// the other in `regions.peers`, and a `scope=global` query asks the peer live (mutual TLS, the
// peer's `timeout`); a region that does not answer is named in `partial`, never shown old.
// Started only when the region scenario runs (scenarios/region.ts), stopped after it.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { issueCertificate } from '../../shared/tls/index.js';
import { startSimulator, type RunningSimulator } from '../../sim/index.js';
import { agentConfig, freePort, GroupHub, HaServices, SfleetProcess, type TestPki } from '../../test/harness/index.js';
import { POLL_MS } from './fleet.js';
import { BRIDGE_ADDRESS, type Netns } from './netns/net.js';
import { log, waitFor } from './progress.js';

export const REGION_B = 'chaos-b';
export const CLUSTER_B = 'storm-b';
/** Region B's namespaces (main.ts adds them with region A's). */
export const REGION_B_NODES = ['hub-b1', 'etcd-b', 'redis-b', 'headb'];
/** A peer that does not answer is left out after this long (regions.peers[].timeout; the default 2 s gave 3.0 s recovery in one run). */
export const PEER_TIMEOUT_MS = 1_000;

/** One item of a scope=global list: its region and cluster. */
export interface GlobalItem {
  region: string;
  cluster: string;
  id: number;
  state: string;
}

export class PeerRegion {
  hub?: GroupHub;
  services?: HaServices;
  sim?: RunningSimulator;
  agent?: SfleetProcess;
  private httpPort = 0;
  private grpcPort = 0;
  private churn?: NodeJS.Timeout;

  constructor(
    readonly dir: string,
    readonly net: Netns,
  ) {}

  /** B's hub URL is fixed before region A's hubs start, so their `regions.peers` can name it. */
  async peerOfA(): Promise<Record<string, unknown>> {
    this.httpPort = await freePort();
    this.grpcPort = await freePort();
    return { peers: [{ name: REGION_B, url: `https://${this.net.get('hub-b1').address}:${this.httpPort}`, timeout: `${PEER_TIMEOUT_MS}ms` }] };
  }

  /** Services, simulator, hub (region A's hub-1 its peer) and agent; resolves once B's hub shows the agent. */
  async start(pki: TestPki, peerUrl: string): Promise<void> {
    const { net } = this;
    const at = (n: string): { host: string; netns: string } => ({ host: net.get(n).address, netns: net.get(n).ns });
    this.services = await HaServices.at(REGION_B, { etcd: [at('etcd-b'), at('etcd-b'), at('etcd-b')], redis: at('redis-b') });
    log(`  region B: etcd x3 and Redis (${this.services.dir})`);
    await this.services.start(120_000);
    // The same fleet CA: B's hub certificate names B's address (federation checks it both ways).
    const own = await issueCertificate(pki.dir, { role: 'hub', name: 'hub-b1', sans: [net.get('hub-b1').address] });
    this.sim = await startSimulator({ listen: `${BRIDGE_ADDRESS}:0`, cluster: CLUSTER_B, nodes: 8, jobs: 20, apiVersion: 'v0.0.41', tickMs: 0, arrivalPerMin: 240, log: () => undefined });
    const hub = new GroupHub('hub-b1', this.dir, {
      region: REGION_B,
      pki: { ...pki, hub: { ca: pki.ca, cert: own.cert, key: own.key } },
      etcdEndpoints: this.services.etcdEndpoints,
      redisUrl: this.services.redisUrl,
      config: {
        log_level: 'info',
        stream: { heartbeat_interval: '500ms', failover_threshold: 3 },
        etcd: { lease_ttl: '3s' },
        redis: { stale_after: '2s', compact_interval: '1s' },
        regions: { peers: [{ name: 'chaos', url: peerUrl, timeout: `${PEER_TIMEOUT_MS}ms` }] },
      },
      runDir: false,
      killAfterMs: 10_000,
      host: net.get('hub-b1').address,
      netns: net.get('hub-b1').ns,
    });
    hub.httpPort = this.httpPort;
    hub.grpcPort = this.grpcPort;
    this.hub = hub;
    await hub.start();
    const home = path.join(this.dir, 'headb');
    mkdirSync(home, { recursive: true });
    const config = agentConfig({
      cluster: CLUSTER_B,
      name: 'headb',
      endpoints: [hub.grpcAddress],
      backoff: ['100ms', '500ms'],
      connectTimeout: '1s',
      tls: await pki.agent(CLUSTER_B, 'headb'),
      slurm: { source: 'rest', endpoints: [this.sim.url], auth: { user: 'root', token: 'sim-token' }, timeout: '2s' },
      pollInterval: `${POLL_MS}ms`,
      spoolDir: path.join(home, 'spool'),
      extra: { log_level: 'info' },
    });
    writeFileSync(path.join(home, 'agent.yaml'), stringify(config));
    this.agent = new SfleetProcess(['agent', '--config', path.join(home, 'agent.yaml')], path.join(home, 'agent.log'), process.env, { runDir: false, killAfterMs: 10_000, netns: net.get('headb').ns }).start();
    await waitFor('region B: headb connected to hub-b1', async () => (await this.regionJobs().catch(() => undefined))?.size === this.slurmJobs().size, 30_000, 200);
    log(`  region B ready: ${hub.httpUrl}, cluster ${CLUSTER_B}`);
  }

  setChurn(on: boolean): void {
    clearInterval(this.churn);
    const engine = this.sim!.engine;
    this.churn = on ? setInterval(() => engine.tick(), 250) : undefined;
  }

  slurmJobs(): Map<string, string> {
    const m = new Map<string, string>();
    for (const j of this.sim!.engine.jobs()) m.set(String(j.id), j.state);
    return m;
  }

  /** id -> state of B's cluster on B's own hub (scope=region). */
  async regionJobs(): Promise<Map<string, string>> {
    const items = await this.hub!.client().all<{ id: number; state: string }>('/api/v1/jobs', { cluster: CLUSTER_B, limit: 5000 });
    return new Map(items.map((j) => [String(j.id), j.state]));
  }

  /** Everything stopped, in reverse; a failure is logged, not thrown (clean-up). */
  async stop(): Promise<void> {
    clearInterval(this.churn);
    const { agent, hub, sim, services } = this;
    this.agent = this.hub = this.sim = this.services = undefined;
    await agent?.kill('SIGKILL');
    await hub?.kill();
    await sim?.close();
    await services?.stop((err) => log(`  region B services stop: ${err.message}`));
  }
}

/** Every item of a scope=global jobs list from `hub`, and the regions it names as missing. */
export async function globalJobs(hub: GroupHub): Promise<{ items: GlobalItem[]; partial: string[] }> {
  const partial = new Set<string>();
  const items = await hub.client().all<GlobalItem>('/api/v1/jobs', { scope: 'global', limit: 5000 }, Infinity, (page) => {
    for (const r of (page.partial as string[] | undefined) ?? []) partial.add(r);
  });
  return { items, partial: [...partial] };
}

/** id -> state of `region`'s items in a global list. */
export function ofRegion(items: GlobalItem[], region: string): Map<string, string> {
  return new Map(items.filter((j) => j.region === region).map((j) => [String(j.id), j.state]));
}

/** How many of `want`'s jobs `got` lacks or holds in another state, and how many it has that `want` lacks. */
export function diff(want: Map<string, string>, got: Map<string, string>): { missing: number; extra: number } {
  let missing = 0;
  for (const [id, state] of want) if (got.get(id) !== state) missing++;
  let extra = 0;
  for (const id of got.keys()) if (!want.has(id)) extra++;
  return { missing, extra };
}
