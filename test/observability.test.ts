// Issue 15 end to end: a real Prometheus (Debian package) scrapes a hub with a client
// certificate and two agents' observe listeners; promtool finds the hub's and an agent's
// exposition clean; a real Pushgateway receives an agent's push and loses the group when the
// agent stops cleanly; the hub serves each agent's heartbeat report; `observability:` keys act
// (enabled: false turns /metrics off, endpoint moves it, push_gateway pushes the hub's series);
// every panel of the Grafana dashboards in deploy/grafana returns a series from that Prometheus.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { FleetServiceClient } from '../generated/fleet/v1/fleet.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { grpcClientCredentials } from '../shared/tls/index.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePorts } from './harness/ports.js';
import { panelQueries, readDashboards, variableQueries } from '../scripts/grafana/dashboards.js';
import { Prometheus, prometheusBins, promtoolCheck, Pushgateway, type PrometheusBins } from './harness/prometheus.js';
import { testLogger } from './harness/run-logs.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { sfleet } from './harness/sfleet-process.js';
import { agentConfig, startTestAgent } from './harness/test-agent.js';
import { stringify } from 'yaml';
import { waitFor } from './harness/wait.js';

const logger = testLogger('observability');
/** diag statistics as a quiet 22.05 reports them (the real-Slurm path is test/controller-diag-real-slurm.test.ts). */
const DIAG = {
  schedule_cycle_last_us: 15, schedule_cycle_mean_us: 1923, schedule_cycle_max_us: 30387, schedule_cycles: 16, backfill_cycle_last_us: 800, backfill_cycle_mean_us: 700,
  backfill_cycle_max_us: 900, backfill_cycles: 2, backfilled_jobs: 1, jobs_submitted: 2, jobs_started: 1, jobs_completed: 0, jobs_canceled: 0, jobs_failed: 0,
  rpcs_by_type: [{ name: 'REQUEST_PING', count: 4, total_time_us: 1526 }, { name: 'REQUEST_SUBMIT_BATCH_JOB', count: 2, total_time_us: 4000 }],
  rpcs_by_user: [{ name: 'root', count: 27, total_time_us: 30521 }, { name: 'alice', count: 2, total_time_us: 4000 }],
};
let bins: PrometheusBins;
let pki: TestPki;
let hub: RunningHub;
let pushgateway: Pushgateway;
let prometheus: Prometheus | undefined;
const agents: RunningAgent[] = [];
let agentPorts: number[];

async function hubGet(path: string, clientCert = true): Promise<{ status: number; body: string }> {
  return httpsCall(`${hub.httpUrl}${path}`, { ca: pki.ca, ...(clientCert ? { cert: pki.client.cert, key: pki.client.key } : {}), timeoutMs: 10_000 });
}

beforeAll(async () => {
  bins = await prometheusBins();
  pki = await makePki();
  pushgateway = await Pushgateway.start(bins);
  hub = await startHub(
    hubConfigSchema.parse({
      listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' },
      tls: pki.hub,
      data_dir: mkdtempSync(join(tmpdir(), 'hub-')),
      stream: { heartbeat_interval: '1s', failover_threshold: 5 },
      // the brief's section, with the endpoint moved
      observability: { metrics: { prometheus: { enabled: true, endpoint: '/prom/metrics', push_gateway: pushgateway.url, push_interval: '500ms' } } },
    }),
    { logger },
  );
  agentPorts = await freePorts(2);
  for (const [i, cluster] of ['obs-a', 'obs-b'].entries()) {
    const source = new ScriptedSource(cluster);
    source.model.job = [makeJob(cluster, 1, { partition: 'batch', account: 'physics', state: 'RUNNING' }), makeJob(cluster, 2, { partition: 'batch', account: 'chem', state: 'PENDING', state_reason: 'Priority' })];
    source.model.node = [makeNode(cluster, 'n1', { partitions: ['batch'], cpus: 8, alloc_cpus: 2, gres: 'gpu:2' }), makeNode(cluster, 'n2', { partitions: ['batch'], flags: ['DRAIN'], cpus: 8 })];
    source.model.controller = [{ cluster, hostname: `ctl-${cluster}`, responding: true, mode: 'primary', latency_ms: 3, api_version: 'v0.0.38', slurm_version: '22.05.8', server_thread_count: 3, agent_queue_size: 0, diag: DIAG }];
    const observe = { listen: `127.0.0.1:${agentPorts[i]}`, ...(i === 0 ? { push_gateway: { url: pushgateway.url, interval: '500ms' } } : {}) };
    agents.push(await startTestAgent({ cluster, name: `head-${cluster}`, endpoints: [hub.grpcAddress], tls: await pki.agent(cluster, `head-${cluster}`), extra: { observe } }, { logger, source }));
  }
  await waitFor('both clusters at the hub', () => hub.state.job('obs-a', '2') && hub.state.job('obs-b', '2'), 20_000);
}, 900_000);

afterAll(async () => {
  await prometheus?.stop();
  for (const a of agents) await a.close();
  await hub?.close();
  await pushgateway?.stop();
});

describe('observability', () => {
  it("the hub's metrics are where observability.metrics.prometheus.endpoint says, behind the gate, and promtool finds them clean", async () => {
    expect((await hubGet('/metrics')).status).toBe(404);
    expect((await hubGet('/prom/metrics', false)).status).toBe(401);
    // the heartbeat report of each agent reaches the hub's per-agent series
    await waitFor('agent reports at the hub', async () => /^sfleet_agent_polls_total\{cluster="obs-b",agent="head-obs-b"\} [1-9]/m.test((await hubGet('/prom/metrics')).body), 15_000);
    const text = (await hubGet('/prom/metrics')).body;
    expect(text).toMatch(/^sfleet_jobs\{cluster="obs-a",partition="batch",state="PENDING"\} 1$/m);
    expect(text).toMatch(/^sfleet_account_jobs\{cluster="obs-a",account="chem",state="PENDING"\} 1$/m);
    expect(text).toMatch(/^sfleet_node_flags\{cluster="obs-a",partition="batch",flag="DRAIN"\} 1$/m);
    expect(text).toMatch(/^sfleet_cluster_cpus\{cluster="obs-a",state="unavailable"\} 8$/m);
    expect(text).toMatch(/^sfleet_agent_spool_deltas\{cluster="obs-a",agent="head-obs-a"\} \d+$/m);
    // diag's statistics (the real-Slurm path: test/controller-diag-real-slurm.test.ts)
    expect(text).toMatch(/^sfleet_controller_jobs_total\{cluster="obs-a",controller="ctl-obs-a",event="submitted"\} 2$/m);
    expect(text).toMatch(/^sfleet_controller_user_rpcs_total\{cluster="obs-a",controller="ctl-obs-a",user="alice"\} 2$/m);
    expect(text).toMatch(/^sfleet_http_request_duration_seconds_count\{method="GET",route="\/prom\/metrics",status_code="200"\} [1-9]/m);
    const lint = await promtoolCheck(bins.promtool, text);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
  });

  it("an agent's listener serves /metrics (promtool clean) and /healthz; other paths and methods are refused", async () => {
    const url = agents[0]!.observe!.url;
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^sfleet_agent_polls_total\{cluster="obs-a",agent="head-obs-a"\} [1-9]/m);
    expect(metrics).toMatch(/^sfleet_agent_hub_connected\{cluster="obs-a",agent="head-obs-a"\} 1$/m);
    const lint = await promtoolCheck(bins.promtool, metrics);
    expect(lint.output).toBe('');
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', cluster: 'obs-a', role: 'active', polling: true, hub_connected: true });
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('`sfleet agent status` on the head node says what the agent is doing', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'agent-status-')), 'agent.yaml');
    const tls = await pki.agent('obs-b', 'head-obs-b');
    writeFileSync(file, stringify(agentConfig({ cluster: 'obs-b', name: 'head-obs-b', endpoints: [hub.grpcAddress], tls, extra: { observe: { listen: `127.0.0.1:${agentPorts[1]}` } } })));
    const out = await sfleet(['agent', 'status', '--config', file], process.env);
    expect(out).toMatch(/^agent head-obs-b of cluster obs-b \(.+\): ok$/m);
    expect(out).toMatch(/role: active, polling; hub stream up/);
    expect(out).toMatch(/last poll: \d{4}-\d\d-\d\dT/);
    const json = JSON.parse(await sfleet(['agent', 'status', '--config', file, '--json'], process.env)) as Record<string, unknown>;
    expect(json).toMatchObject({ status: 'ok', cluster: 'obs-b', role: 'active' });
  });

  it('a real Prometheus scrapes the hub with a client certificate and both agents', async () => {
    const hubTarget = new URL(hub.httpUrl).host;
    prometheus = await Prometheus.start(bins, [
      { job_name: 'sfleet-hub', scheme: 'https', metrics_path: '/prom/metrics', tls_config: { ca_file: pki.ca, cert_file: pki.client.cert, key_file: pki.client.key }, static_configs: [{ targets: [hubTarget] }] },
      { job_name: 'sfleet-agent', static_configs: [{ targets: agentPorts.map((p) => `127.0.0.1:${p}`) }] },
      // what agents push, with their own job/cluster/agent labels (the agent health dashboard's push age)
      { job_name: 'pushgateway', honor_labels: true, static_configs: [{ targets: [new URL(pushgateway.url).host] }] },
    ]);
    await waitFor('four targets up', async () => {
      const up = await prometheus!.query('up == 1');
      return up.length === 4;
    }, 30_000, 250).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(await prometheus!.targets())}`);
    });
    await waitFor('fleet series in Prometheus', async () => (await prometheus!.query('sum by (cluster) (sfleet_jobs{job="sfleet-hub"})')).length === 2, 15_000, 250);
    // scraped from the listeners (what obs-a pushes has instance="")
    const byAgent = await prometheus.query('sfleet_agent_polls_total{job="sfleet-agent",instance!=""}');
    expect(byAgent.map((s) => s.metric.cluster).sort()).toEqual(['obs-a', 'obs-b']);
    const pending = await prometheus.query('sfleet_pending_jobs{job="sfleet-hub",reason="Priority"}');
    expect(pending.map((s) => [s.metric.cluster, s.value]).sort()).toEqual([['obs-a', 1], ['obs-b', 1]]);
  });

  it('every panel of the Grafana dashboards, variables set to a demo cluster, returns a series from that Prometheus', async () => {
    const values = { datasource: 'prometheus', cluster: 'obs-a', partition: 'batch', agent: 'head-obs-a' };
    const dashboards = readDashboards();
    for (const d of dashboards) {
      for (const v of variableQueries(d, values)) {
        const series = await prometheus!.query(v.expr);
        expect(series.map((s) => s.metric[v.label]), `${d.name}: variable ${v.name}`).toContain(values[v.name as keyof typeof values]);
      }
    }
    // a gRPC client of the fleet, as the CLI and integrations are: the gRPC latency panel needs a finished call
    const client = new FleetServiceClient(hub.grpcAddress, grpcClientCredentials({ ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) }));
    try {
      await new Promise((resolve, reject) => client.listClusters({}, (err, res) => (err ? reject(err) : resolve(res))));
    } finally {
      client.close();
    }
    const queries = dashboards.flatMap((d) => panelQueries(d, values));
    expect(queries.length).toBeGreaterThan(50);
    // rate() and increase() need two scrapes in their window: ask again until every one answers
    let empty: string[] = [];
    await waitFor('a series for every panel query', async () => {
      empty = [];
      for (const q of queries) if ((await prometheus!.query(q.expr)).length === 0) empty.push(`${q.dashboard} / ${q.panel} / ${q.refId}: ${q.expr}`);
      return empty.length === 0;
    }, 20_000, 1000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; no series for:\n${empty.join('\n')}`);
    });
  });

  it('a Pushgateway receives the agent push under job/cluster/agent, and the group goes on a clean stop', async () => {
    // the Pushgateway adds an empty instance label
    const pushed = /^sfleet_agent_polls_total\{agent="head-obs-a",cluster="obs-a",instance="",job="sfleet-agent"\} [1-9]/m;
    await waitFor('agent push at the Pushgateway', async () => pushed.test(await pushgateway.metrics()), 15_000, 200).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}: ${(await pushgateway.metrics()).split('\n').filter((l) => l.includes('sfleet_agent_polls')).join('\n')}`);
    });
    expect(await pushgateway.metrics()).toMatch(/^push_time_seconds\{agent="head-obs-a",cluster="obs-a",instance="",job="sfleet-agent"\} \d/m);
    await agents[0]!.close();
    const after = await pushgateway.metrics();
    expect(after).not.toMatch(/cluster="obs-a",instance="",job="sfleet-agent"/);
  });
});

describe('the hub at the Pushgateway', () => {
  it("observability.metrics.prometheus.push_gateway pushes the hub's own series under job/region/hub", async () => {
    await waitFor('hub push', async () => /^sfleet_cluster_connected\{cluster="obs-b",hub="[^"]+",instance="",job="sfleet-hub",region="default"\} 1$/m.test(await pushgateway.metrics()), 15_000, 200);
  });
});

describe('observability.metrics.prometheus.enabled: false', () => {
  it('turns /metrics off: no route at the default path, nor at a configured endpoint', async () => {
    const off = await startHub(
      hubConfigSchema.parse({
        listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' },
        tls: pki.hub,
        data_dir: mkdtempSync(join(tmpdir(), 'hub-')),
        observability: { metrics: { prometheus: { enabled: false, endpoint: '/prom/metrics' } } },
      }),
      { logger },
    );
    try {
      const get = (path: string) => httpsCall(`${off.httpUrl}${path}`, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 10_000 });
      expect((await get('/metrics')).status).toBe(404);
      expect((await get('/prom/metrics')).status).toBe(404);
      // the hub itself serves
      expect((await get('/api/v1/clusters')).status).toBe(200);
    } finally {
      await off.close();
    }
  });
});

describe('the agent observe listener off loopback', () => {
  it('answers only with the bearer token from observe.bearer_file', async () => {
    const { ObserveListener } = await (await import('../agent/observe/index.js')).loadServing();
    const { Registry } = await import('prom-client');
    const dir = mkdtempSync(join(tmpdir(), 'observe-'));
    const bearerFile = join(dir, 'token');
    writeFileSync(bearerFile, 'a-long-enough-scrape-token\n', { mode: 0o600 });
    const [port] = await freePorts(1);
    const listener = (await ObserveListener.open(
      { listen: `127.0.0.1:${port}`, bearer_file: bearerFile },
      { registries: [new Registry()], health: [{ name: 'spool', health: () => ({ status: 'degraded', reasons: ['disk full'] }) }], status: () => ({}), logger },
    ))!;
    try {
      expect((await fetch(`${listener.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${listener.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-of-other-size' } })).status).toBe(401);
      expect((await fetch(`${listener.url}/metrics`, { headers: { authorization: 'Bearer a-long-enough-scrape-token' } })).status).toBe(200);
      const health = await fetch(`${listener.url}/healthz`, { headers: { authorization: 'Bearer a-long-enough-scrape-token' } });
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: 'degraded', reasons: ['spool: disk full'] });
    } finally {
      await listener.close();
    }
  });
});
