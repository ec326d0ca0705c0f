// Issue 15, tracing: an agent polling a simulated slurmrestd and the hub it streams to, both
// exporting OTLP/HTTP protobuf to a local receiver that decodes with the OTLP protobuf
// definitions. One poll's spans (the poll, each slurmrestd read, the spool write, the send) are
// on the agent, and the hub's apply span is in the same trace, a child of the poll. An
// unreachable OTLP endpoint changes nothing for polling and ingest: failures are counted.
// A caller's traceparent and x-request-id are continued by the REST and gRPC API; a watcher's
// deliveries (SSE and gRPC Watch) are spans linked to the apply that caused them; each
// notification attempt is a span saying its channel, outcome and whether it is retried; a node
// going down in Slurm pages, and the notification's span is in the poll's trace:
// agent.poll -> hub.apply -> hub.alert.fire -> hub.notify.
import { Metadata } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { FleetServiceClient } from '../generated/fleet/v1/fleet.js';
import { BUILTIN_RULES } from '../hub/alerting/index.js';
import { channelSchema } from '../hub/alerting/config.js';
import { Deliverer, DeliveryLog, buildNotifier, type Notification } from '../hub/alerting/notify/index.js';
import { systemClock } from '../shared/clock/index.js';
import { grpcClientCredentials } from '../shared/tls/index.js';
import { Tracing } from '../shared/tracing/index.js';
import { webhookReceiver } from './harness/alert-receivers.js';
import { httpsCall } from './harness/hub-child.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { startSimulator, type RunningSimulator } from '../sim/index.js';
import { OtlpReceiver, type ReceivedSpan } from './harness/otlp-receiver.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { testLogger } from './harness/run-logs.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const logger = testLogger('tracing');
let pki: TestPki;
let receiver: OtlpReceiver;
let hub: RunningHub;
let pager: ReturnType<typeof webhookReceiver>;
const PAGER_SECRET = 'trace-pager-secret';
const sims: RunningSimulator[] = [];
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const grpcClient = (): FleetServiceClient => new FleetServiceClient(hub.grpcAddress, grpcClientCredentials({ ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) }));
const agents: RunningAgent[] = [];

async function agentFor(cluster: string, endpoint: string, observe: Record<string, unknown> = {}): Promise<RunningAgent> {
  const sim = await startSimulator({ listen: '127.0.0.1:0', cluster, nodes: 4, jobs: 6, apiVersion: 'v0.0.41', tickMs: 0, log: () => undefined });
  sims.push(sim);
  const agent = await startTestAgent(
    {
      cluster,
      name: `head-${cluster}`,
      endpoints: [hub.grpcAddress],
      tls: await pki.agent(cluster, `head-${cluster}`),
      slurm: { source: 'rest', endpoints: [sim.url], auth: { user: 'root', token: 'sim-token' }, timeout: '2s' },
      pollInterval: '300ms',
      extra: { observe: { tracing: { enabled: true, endpoint, sampling_ratio: 1 }, ...observe } },
    },
    { logger },
  );
  agents.push(agent);
  return agent;
}

beforeAll(async () => {
  pki = await makePki();
  receiver = await OtlpReceiver.start();
  pager = await webhookReceiver(PAGER_SECRET).start();
  hub = await startHub(
    hubConfigSchema.parse({
      listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' },
      tls: pki.hub,
      data_dir: mkdtempSync(join(tmpdir(), 'hub-')),
      observability: { tracing: { jaeger: { enabled: true, endpoint: receiver.url, sampling_ratio: 0.5 } } },
      // Only node_down pages, at once, to the test's webhook.
      alerting: {
        evaluation_interval: '500ms',
        group_wait: '0s',
        rules: { ...Object.fromEntries(Object.keys(BUILTIN_RULES).map((r) => [r, { enabled: false }])), node_down: { enabled: true, for: '0s', severity: 'critical' } },
        channels: [{ type: 'webhook', name: 'trace-pager', url: `${pager.url}/hooks/sfleet`, secret: PAGER_SECRET }],
        policies: { critical: { escalation_time: '1h', channels: ['trace-pager'] } },
      },
    }),
    { logger },
  );
}, 120_000);

afterAll(async () => {
  for (const a of agents) await a.close();
  await hub?.close();
  for (const s of sims) await s.close();
  await receiver?.close();
  await pager?.close();
});

describe('tracing', () => {
  it("one poll's spans on the agent and the apply span on the hub share a trace, with correct parents", async () => {
    await agentFor('trace-a', receiver.url);
    await waitFor('the cluster at the hub', () => hub.state.cluster('trace-a')?.seq, 20_000);
    // Something changes in Slurm: the next poll makes a delta.
    sims[0]!.engine.submit({ name: 'traced', user: 'bob', cpus: 1, durationS: 3600 });
    const byId = (id: string) => receiver.spans.find((s) => s.spanId === id);
    let found: { poll: ReceivedSpan; apply: ReceivedSpan } | undefined;
    await waitFor('an agent poll and its hub apply at the receiver', () => {
      for (const apply of receiver.spans.filter((s) => s.service === 'sfleet-hub' && s.name === 'hub.apply' && s.attributes['sfleet.cluster'] === 'trace-a' && Number(s.attributes['sfleet.seq']) > 1)) {
        const poll = byId(apply.parentSpanId);
        if (poll) found = { poll, apply };
      }
      return found;
    }, 30_000, 250);
    const { poll, apply } = found!;
    expect(receiver.refused).toEqual([]);
    expect(poll).toMatchObject({ service: 'sfleet-agent', name: 'agent.poll', parentSpanId: '', error: false });
    expect(apply.traceId).toBe(poll.traceId);
    expect(apply.attributes['sfleet.seq']).toBe(poll.attributes['sfleet.seq']);
    // the poll's children, all in its trace
    await waitFor('the send span', () => receiver.spans.some((s) => s.name === 'agent.send' && s.parentSpanId === poll.spanId), 15_000, 250);
    const children = receiver.spans.filter((s) => s.parentSpanId === poll.spanId);
    expect(children.every((s) => s.traceId === poll.traceId)).toBe(true);
    const reads = children.filter((s) => s.name === 'slurm.read').map((s) => s.attributes['sfleet.read']);
    expect(reads).toEqual(expect.arrayContaining(['GET /slurm/v0.0.41/ping', 'GET /slurm/v0.0.41/diag', 'GET /slurm/v0.0.41/jobs', 'GET /slurm/v0.0.41/nodes', 'GET /slurm/v0.0.41/partitions']));
    expect(children.filter((s) => s.name === 'agent.spool')).toHaveLength(1);
    expect(children.filter((s) => s.name === 'agent.send').map((s) => s.service)).toEqual(['sfleet-agent']);
    expect(children.filter((s) => s.service === 'sfleet-hub').map((s) => s.name)).toEqual(['hub.apply']);
  });

  it('an unreachable OTLP endpoint and Pushgateway: polls and ingest go on, failures are counted on the agent', async () => {
    const closedPort = await freePort();
    const agent = await agentFor('trace-b', `http://127.0.0.1:${closedPort}`, { push_gateway: { url: `http://127.0.0.1:${closedPort}`, interval: '300ms' } });
    await waitFor('the cluster at the hub', () => hub.state.cluster('trace-b')?.seq, 20_000);
    const metric = () => agent.metrics!.getSingleMetricAsString('sfleet_agent_trace_export_failures_total');
    await waitFor('an export failure counted', async () => /sfleet_agent_trace_export_failures_total\{[^}]*reason="unreachable"[^}]*\} [1-9]/.test(await metric()), 20_000, 250).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}: ${await metric()}`);
    });
    const pushes = () => agent.metrics!.getSingleMetricAsString('sfleet_agent_push_failures_total');
    await waitFor('a push failure counted', async () => /reason="unreachable"[^}]*\} [1-9]/.test(await pushes()), 10_000, 250).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}: ${await pushes()}`);
    });
    const polls = agent.pipeline.stats.polls;
    const seq = hub.state.cluster('trace-b')!.seq;
    sims[1]!.engine.submit({ name: 'after-failure', user: 'bob', cpus: 1, durationS: 3600 });
    await waitFor('the change at the hub', () => hub.state.cluster('trace-b')!.seq > seq, 10_000);
    expect(agent.pipeline.stats.polls).toBeGreaterThan(polls);
    expect(agent.pipeline.stats.failures).toBe(0);
  });

  it("the API continues a caller's trace and keeps its request id (answer header, audit record, gRPC too)", async () => {
    const traceId = hex(16);
    const callerSpan = hex(8);
    const traceparent = `00-${traceId}-${callerSpan}-01`;
    const tls = { ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 10_000 };
    const ok = await httpsCall(`${hub.httpUrl}/api/v1/clusters`, { ...tls, headers: { traceparent, 'x-request-id': 'caller-req-42' } });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-request-id']).toBe('caller-req-42');
    // refused at the gate (no credentials): still the caller's id, in the answer and in the audit record
    const refused = await httpsCall(`${hub.httpUrl}/api/v1/clusters`, { ca: pki.ca, timeoutMs: 10_000, headers: { traceparent, 'x-request-id': 'caller-req-43' } });
    expect(refused.status).toBe(401);
    expect(refused.headers['x-request-id']).toBe('caller-req-43');
    expect(hub.audit.query({ limit: 5000 }).items.filter((r) => r.request_id === 'caller-req-43').map((r) => r.outcome)).toEqual(['failed']);
    // an id no log should carry (spaces, control characters) is replaced by the hub's own
    const odd = await httpsCall(`${hub.httpUrl}/api/v1/clusters`, { ...tls, headers: { 'x-request-id': 'a b\tc' } });
    expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    const client = grpcClient();
    try {
      const md = new Metadata();
      md.set('traceparent', traceparent);
      md.set('x-request-id', 'caller-grpc-7');
      let answered: Metadata | undefined;
      await new Promise((resolve, reject) => client.listClusters({}, md, (err, res) => (err ? reject(err) : resolve(res))).on('metadata', (m: Metadata) => (answered = m)));
      // the answer carries the caller's id back, as REST's header does
      expect(answered?.get('x-request-id')).toEqual(['caller-grpc-7']);
    } finally {
      client.close();
    }
    const spans = await waitFor('the hub spans of both calls at the receiver', () => {
      const mine = receiver.spans.filter((s) => s.service === 'sfleet-hub' && s.traceId === traceId);
      return mine.length >= 3 ? mine : undefined;
    }, 15_000, 250);
    expect(spans.map((s) => s.parentSpanId)).toEqual([callerSpan, callerSpan, callerSpan]);
    const http = spans.filter((s) => s.name === 'hub.http');
    expect(http.map((s) => [s.attributes['sfleet.request_id'], s.attributes['http.response.status_code']]).sort()).toEqual([['caller-req-42', 200], ['caller-req-43', 401]]);
    expect(spans.filter((s) => s.name === 'fleet.v1.FleetService/ListClusters').map((s) => s.attributes['sfleet.request_id'])).toEqual(['caller-grpc-7']);
  });

  it("a watcher's deliveries (SSE and gRPC Watch) are spans linked to the apply span of the delta that caused them", async () => {
    const sse: string[] = [];
    const sseReq = request(`${hub.httpUrl}/api/v1/watch?kinds=job&cluster=trace-a`, { ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key), minVersion: 'TLSv1.3' }, (res) => res.on('data', (c: Buffer) => sse.push(c.toString())));
    sseReq.end();
    const client = grpcClient();
    const grpcEvents: string[] = [];
    const stream = client.watch({ cluster: 'trace-a', kinds: 'job', since: 0 });
    stream.on('data', (e: { kind: string; object_id: string }) => grpcEvents.push(`${e.kind}/${e.object_id}`));
    stream.on('error', () => undefined);
    try {
      await waitFor('the SSE watch open', () => sse.join('').includes('watching since'), 10_000);
      const metrics = () => httpsCall(`${hub.httpUrl}/metrics`, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 10_000 });
      await waitFor('both watchers open at the hub', async () => /^sfleet_watchers 2$/m.test((await metrics()).body), 10_000, 100);
      const seq = hub.state.cluster('trace-a')!.seq;
      sims[0]!.engine.submit({ name: 'watched', user: 'bob', cpus: 1, durationS: 3600 });
      await waitFor('the new job on both watches', () => grpcEvents.length > 0 && sse.join('').includes('"watched"') && hub.state.cluster('trace-a')!.seq > seq, 20_000, 100);
      const found = await waitFor('delivery spans linked to an apply', () => {
        const applies = receiver.spans.filter((s) => s.name === 'hub.apply' && s.attributes['sfleet.cluster'] === 'trace-a' && Number(s.attributes['sfleet.seq']) > seq);
        const deliveries = receiver.spans.filter((s) => s.name === 'hub.watch.deliver' && applies.some((a) => s.links.some((l) => l.spanId === a.spanId && l.traceId === a.traceId)));
        const transports = new Set(deliveries.map((d) => d.attributes['sfleet.transport']));
        return transports.has('sse') && transports.has('grpc') ? deliveries : undefined;
      }, 20_000, 250).catch((err: unknown) => {
        const seen = receiver.spans.filter((s) => s.name === 'hub.watch.deliver' || (s.name === 'hub.apply' && s.attributes['sfleet.cluster'] === 'trace-a'));
        throw new Error(`${(err as Error).message} (after seq ${seq}): ${JSON.stringify(seen.map((s) => [s.name, s.spanId, s.attributes['sfleet.seq'], s.attributes['sfleet.transport'], s.links]))}`);
      });
      for (const d of found) {
        const apply = receiver.spans.find((s) => s.spanId === d.links[0]!.spanId)!;
        expect(d).toMatchObject({ service: 'sfleet-hub', traceId: apply.traceId, parentSpanId: apply.spanId, error: false });
        expect(d.attributes['sfleet.cluster']).toBe('trace-a');
        expect(Number(d.attributes['sfleet.events'])).toBeGreaterThanOrEqual(1);
      }
    } finally {
      sseReq.destroy();
      stream.cancel();
      client.close();
    }
  });

  it('each notification attempt is a span: channel, outcome and whether it is retried', async () => {
    const secret = 'trace-webhook-secret';
    const webhook = await webhookReceiver(secret).start();
    webhook.script.push({ status: 503 });
    const tracing = await Tracing.create({ enabled: true, endpoint: receiver.url, samplingRatio: 1, serviceName: 'sfleet-hub', exportIntervalMs: 200 }, logger);
    try {
      const config = { ...channelSchema.parse({ type: 'webhook', url: `${webhook.url}/hook`, secret, backoff: '10ms', retries: 2 }), name: 'ops-hook' };
      const deliverer = new Deliverer(new Map([['ops-hook', { config, notifier: buildNotifier(config) }]]), { log: new DeliveryLog(undefined), clock: systemClock, tracing });
      const id = `n-${hex(4)}`;
      const n: Notification = { id, status: 'firing', group_key: 'g', dedup_key: 'd', severity: 'critical', region: 'default', title: 'Node down', text: 'n1 is down', summary: 'n1 down', step: 1, group_labels: {}, alerts: [] };
      expect(await deliverer.deliver('ops-hook', n)).toBe('delivered');
      expect(webhook.accepted).toHaveLength(1);
      const attempts = await waitFor('both attempts at the receiver', () => {
        const mine = receiver.spans.filter((s) => s.name === 'hub.notify' && s.attributes['sfleet.notification_id'] === id);
        return mine.length === 2 ? mine.sort((a, b) => Number(a.attributes['sfleet.attempt']) - Number(b.attributes['sfleet.attempt'])) : undefined;
      }, 10_000, 100);
      expect(attempts.map((s) => [s.attributes['sfleet.channel'], s.attributes['sfleet.channel_type'], s.attributes['sfleet.attempt'], s.attributes['sfleet.outcome'], s.attributes['sfleet.retry'], s.error])).toEqual([
        ['ops-hook', 'webhook', 1, 'retry', true, true],
        ['ops-hook', 'webhook', 2, 'delivered', false, false],
      ]);
    } finally {
      await tracing.close();
      await webhook.close();
    }
  });

  it("a node going down pages, and the notification's span is in the poll's trace: poll -> apply -> alert fire -> notify", async () => {
    const node = sims[0]!.engine.nodes[1]!.name;
    const seq = hub.state.cluster('trace-a')!.seq;
    sims[0]!.engine.down(node, 'traced failure');
    const paged = await waitFor('the node_down notification at the webhook', () =>
      pager.accepted.find((r) => (r.body as { status?: string; alerts?: { labels: Record<string, string> }[] }).status === 'firing' && (r.body as { alerts: { labels: Record<string, string> }[] }).alerts.some((a) => a.labels.alertname === 'node_down' && a.labels.node === node)),
    30_000, 100);
    const id = (paged.body as { id: string }).id;
    const byId = (spanId: string) => receiver.spans.find((s) => s.spanId === spanId);
    const chain = await waitFor('the notify span and its ancestors at the receiver', () => {
      const notify = receiver.spans.find((s) => s.name === 'hub.notify' && s.attributes['sfleet.notification_id'] === id);
      const fire = notify && byId(notify.parentSpanId);
      const apply = fire && byId(fire.parentSpanId);
      const poll = apply && byId(apply.parentSpanId);
      return notify && fire && apply && poll ? { notify, fire, apply, poll } : undefined;
    }, 20_000, 250).catch((err: unknown) => {
      const seen = receiver.spans.filter((s) => s.name === 'hub.notify' || s.name === 'hub.alert.fire');
      throw new Error(`${(err as Error).message}: ${JSON.stringify(seen.map((s) => [s.name, s.spanId, s.parentSpanId, s.attributes]))}`);
    });
    const { notify, fire, apply, poll } = chain;
    // one trace from the agent's poll to the page
    expect(new Set([notify.traceId, fire.traceId, apply.traceId, poll.traceId]).size).toBe(1);
    expect(poll).toMatchObject({ service: 'sfleet-agent', name: 'agent.poll', parentSpanId: '' });
    expect(apply).toMatchObject({ service: 'sfleet-hub', name: 'hub.apply' });
    expect(apply.attributes['sfleet.cluster']).toBe('trace-a');
    // the apply that brought the node's fall (or a later one the evaluation read), never an older one
    expect(Number(apply.attributes['sfleet.seq'])).toBeGreaterThan(seq);
    expect(fire).toMatchObject({ service: 'sfleet-hub', name: 'hub.alert.fire', error: false });
    expect([fire.attributes['sfleet.alertname'], fire.attributes['sfleet.cluster'], fire.attributes['sfleet.severity']]).toEqual(['node_down', 'trace-a', 'critical']);
    expect(notify).toMatchObject({ service: 'sfleet-hub', error: false });
    expect([notify.attributes['sfleet.channel'], notify.attributes['sfleet.outcome'], notify.attributes['sfleet.attempt']]).toEqual(['trace-pager', 'delivered', 1]);
    expect(notify.links.map((l) => l.spanId)).toEqual([fire.spanId]);
    // and /metrics counted it where the send settled
    const metrics = await httpsCall(`${hub.httpUrl}/metrics`, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 10_000 });
    expect(metrics.body).toMatch(/^sfleet_notifications_total\{channel="trace-pager",outcome="delivered"\} 1$/m);
    expect(metrics.body).toMatch(/^sfleet_notification_duration_seconds_count\{channel="trace-pager"\} 1$/m);
    expect(metrics.body).toMatch(/^sfleet_notifications_total\{channel="trace-pager",outcome="failed"\} 0$/m);
  });
});
