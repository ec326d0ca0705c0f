// Two agents per cluster (primary and backup head node): the hub keeps one active, the other
// standby (connected, not polling, not sending), and promotes the standby when the active one
// leaves or goes silent for failover_threshold heartbeats. The demoted one stops sending.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { testLogger } from './harness/run-logs.js';
import { makePki, type TestPki } from './harness/pki.js';
import { waitFor } from './harness/wait.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { TcpProxy } from './harness/tcp-proxy.js';
import { startTestAgent } from './harness/test-agent.js';

const logger = testLogger('agent-standby');
let pki: TestPki;
let hub: RunningHub;
let proxy: TcpProxy;
const agents: RunningAgent[] = [];
// Both head nodes read the same Slurm.
const slurm = new ScriptedSource('duo');
const viaHead1 = new ScriptedSource('duo');
const viaHead2 = new ScriptedSource('duo');
viaHead1.model = slurm.model;
viaHead2.model = slurm.model;

async function agent(name: string, source: ScriptedSource, endpoint: string): Promise<RunningAgent> {
  const a = await startTestAgent(
    { cluster: 'duo', name, endpoints: [endpoint], backoff: ['100ms', '300ms'], tls: await pki.agent('duo', name), spoolDir: mkdtempSync(join(tmpdir(), `spool-${name}-`)) },
    { logger, source },
  );
  agents.push(a);
  return a;
}

function hubJobs(): number[] {
  return [...hub.state.clusters.get('duo')!.objects.job.values()].map((j) => j.id).sort((a, b) => a - b);
}

function slurmJobs(): number[] {
  return slurm.model.job.map((j) => j.id).sort((a, b) => a - b);
}

beforeAll(async () => {
  pki = await makePki();
  hub = await startHub(
    hubConfigSchema.parse({
      listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' },
      tls: pki.hub,
      data_dir: mkdtempSync(join(tmpdir(), 'hub-')),
      // 1 s beats: an in-process hub and agents share one event loop, and a loaded machine can
      // stall it for most of a second; silence must mean a silent agent, not a busy test process.
      stream: { heartbeat_interval: '1s', failover_threshold: 3 },
    }),
    { logger },
  );
  const [host, port] = hub.grpcAddress.split(':');
  proxy = await new TcpProxy(host, Number(port)).start();
});

afterAll(async () => {
  for (const a of agents) await a.close();
  await proxy.close();
  await hub.close();
});

describe('active and standby agents of one cluster', () => {
  let head1: RunningAgent;
  let head2: RunningAgent;

  it('keeps the first agent active and the second standby; the standby neither polls nor sends', async () => {
    slurm.model.job = [makeJob('duo', 1), makeJob('duo', 2)];
    head1 = await agent('head1', viaHead1, proxy.address);
    await waitFor('head1 active', () => head1.stream.role === 'active' && hub.state.job('duo', '2'));
    head2 = await agent('head2', viaHead2, hub.grpcAddress);
    await waitFor('head2 standby', () => head2.stream.role === 'standby');
    const polls = viaHead2.polls;
    slurm.model.job.push(makeJob('duo', 3));
    await waitFor('job 3 via head1', () => hub.state.job('duo', '3'));
    await new Promise((r) => setTimeout(r, 600));
    expect(viaHead2.polls).toBe(polls);
    expect(head2.stream.stats.deltasSent).toBe(0);
    expect(hub.state.clusters.get('duo')!.agent).toBe('head1');
  });

  it('promotes the standby when the active agent goes silent, and converges to Slurm', async () => {
    proxy.blackhole();
    slurm.model.job.push(makeJob('duo', 4));
    slurm.model.job = slurm.model.job.filter((j) => j.id !== 1);
    await waitFor('head2 promoted', () => head2.stream.role === 'active' && hub.state.clusters.get('duo')!.agent === 'head2', 20_000, 50);
    await waitFor('hub equals Slurm', () => JSON.stringify(hubJobs()) === JSON.stringify(slurmJobs()));
    expect(hubJobs()).toEqual([2, 3, 4]);
    expect(hub.ingest.stats.gaps).toBe(0);
  });

  it('the old active agent, back, is told to stand by and stops sending', async () => {
    proxy.restore();
    await waitFor('head1 standby', () => head1.stream.role === 'standby', 20_000, 50);
    const sent = head1.stream.stats.deltasSent;
    const polls = viaHead1.polls;
    slurm.model.job.push(makeJob('duo', 5));
    await waitFor('job 5 via head2', () => hub.state.job('duo', '5'));
    await new Promise((r) => setTimeout(r, 600));
    expect(head1.stream.stats.deltasSent).toBe(sent);
    expect(viaHead1.polls).toBe(polls);
    expect(hub.state.clusters.get('duo')!.agent).toBe('head2');
  });

  it('promotes at once when the active agent disconnects cleanly', async () => {
    await head2.close();
    await waitFor('head1 active again', () => head1.stream.role === 'active' && hub.state.clusters.get('duo')!.agent === 'head1', 10_000, 50);
    slurm.model.job.push(makeJob('duo', 6));
    await waitFor('hub equals Slurm', () => JSON.stringify(hubJobs()) === JSON.stringify(slurmJobs()));
    expect(hub.state.clusters.get('duo')!.connected).toBe(true);
  });
});
