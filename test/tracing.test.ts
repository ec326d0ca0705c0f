// Issue 15, tracing: an agent polling a simulated slurmrestd and the hub it streams to, both
// exporting OTLP/HTTP protobuf to a local receiver that decodes with the OTLP protobuf
// definitions. One poll's spans (the poll, each slurmrestd read, the spool write, the send) are
// on the agent, and the hub's apply span is in the same trace, a child of the poll. An
// unreachable OTLP endpoint changes nothing for polling and ingest: failures are counted.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
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
const sims: RunningSimulator[] = [];
const agents: RunningAgent[] = [];

async function agentFor(cluster: string, endpoint: string): Promise<RunningAgent> {
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
      extra: { observe: { tracing: { enabled: true, endpoint, sampling_ratio: 1 } } },
    },
    { logger },
  );
  agents.push(agent);
  return agent;
}

beforeAll(async () => {
  pki = await makePki();
  receiver = await OtlpReceiver.start();
  hub = await startHub(
    hubConfigSchema.parse({
      listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' },
      tls: pki.hub,
      data_dir: mkdtempSync(join(tmpdir(), 'hub-')),
      observability: { tracing: { jaeger: { enabled: true, endpoint: receiver.url, sampling_ratio: 0.5 } } },
    }),
    { logger },
  );
}, 120_000);

afterAll(async () => {
  for (const a of agents) await a.close();
  await hub?.close();
  for (const s of sims) await s.close();
  await receiver?.close();
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

  it('an unreachable OTLP endpoint: polls and ingest go on, failures are counted on the agent', async () => {
    const closedPort = await freePort();
    const agent = await agentFor('trace-b', `http://127.0.0.1:${closedPort}`);
    await waitFor('the cluster at the hub', () => hub.state.cluster('trace-b')?.seq, 20_000);
    const metric = () => agent.metrics.getSingleMetricAsString('sfleet_agent_trace_export_failures_total');
    await waitFor('an export failure counted', async () => /sfleet_agent_trace_export_failures_total\{[^}]*reason="unreachable"[^}]*\} [1-9]/.test(await metric()), 20_000, 250).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}: ${await metric()}`);
    });
    const polls = agent.pipeline.stats.polls;
    const seq = hub.state.cluster('trace-b')!.seq;
    sims[1]!.engine.submit({ name: 'after-failure', user: 'bob', cpus: 1, durationS: 3600 });
    await waitFor('the change at the hub', () => hub.state.cluster('trace-b')!.seq > seq, 10_000);
    expect(agent.pipeline.stats.polls).toBeGreaterThan(polls);
    expect(agent.pipeline.stats.failures).toBe(0);
  });
});
