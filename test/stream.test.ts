// The spine without Slurm: agent -> mTLS gRPC -> hub -> HTTPS API, with a scripted source so
// delivery can be checked exactly: resume by seq, hub outage, agent restart, commands, watch.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HubClient } from '../cli/client/index.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { testLogger } from './harness/run-logs.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { startTestAgent } from './harness/test-agent.js';

const logger = testLogger('stream');
let pki: TestPki;
let dataDir: string;
let grpcPort: number;
let httpPort: number;

async function hub(): Promise<RunningHub> {
  return startHub(
    hubConfigSchema.parse({
      hub_id: 'test-hub',
      listen: { grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}` },
      tls: pki.hub,
      data_dir: dataDir,
      commands: { timeout: '5s' },
    }),
    { logger },
  );
}

async function agent(source: ScriptedSource, spoolDir: string, certCluster = source.cluster): Promise<RunningAgent> {
  const tls = await pki.agent(certCluster, `agent-${certCluster}`);
  return startTestAgent({ cluster: source.cluster, name: 'head1', endpoints: [`127.0.0.1:${grpcPort}`], backoff: ['100ms', '500ms'], tls, spoolDir }, { logger, source });
}

function api(): HubClient {
  return new HubClient({ hub: `https://127.0.0.1:${httpPort}`, ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
}

beforeAll(async () => {
  pki = await makePki();
  dataDir = mkdtempSync(join(tmpdir(), 'hub-data-'));
  grpcPort = await freePort();
  httpPort = await freePort();
});

describe('agent to hub stream', () => {
  let h: RunningHub;
  const source = new ScriptedSource('alpha');
  const spoolDir = mkdtempSync(join(tmpdir(), 'spool-'));
  let a: RunningAgent;

  afterAll(async () => {
    await a?.close();
    await h?.close();
  });

  it('delivers the cluster and serves it through the API with the contract fields', async () => {
    source.model.job = [makeJob('alpha', 1), makeJob('alpha', 2, { state: 'RUNNING', nodes: ['n1'], node_list: 'n1', user: 'bob', account: 'ops' })];
    source.model.node = [makeNode('alpha', 'n1', { state: 'MIXED', alloc_cpus: 1 }), makeNode('alpha', 'n2')];
    h = await hub();
    a = await agent(source, spoolDir);
    const jobs = await waitFor('jobs at the hub', async () => {
      const list = await api().all<{ id: number; user: string; state: string }>('/api/v1/jobs', {});
      return list.length === 2 && list;
    });
    expect(jobs.map((j) => [j.id, j.user, j.state])).toEqual([
      [1, 'alice', 'PENDING'],
      [2, 'bob', 'RUNNING'],
    ]);
    const job = await api().json<Record<string, unknown>>('GET', '/api/v1/jobs/alpha/2');
    for (const field of ['cluster', 'id', 'name', 'user', 'account', 'partition', 'qos', 'state', 'state_reason', 'nodes', 'submit_time', 'start_time', 'end_time', 'exit_code']) {
      expect(job).toHaveProperty(field);
    }
    const nodes = await api().all<{ name: string; state: string; flags: string[] }>('/api/v1/nodes', { cluster: 'alpha' });
    expect(nodes.map((n) => `${n.name}:${n.state}`)).toEqual(['n1:MIXED', 'n2:IDLE']);
    const byNode = await api().all<{ id: number }>('/api/v1/jobs', { node: 'n1' });
    expect(byNode.map((j) => j.id)).toEqual([2]);
    // The Slurm API version is known after the first poll and arrives with a heartbeat.
    await waitFor('api version reported', async () => {
      const c = await api().json<{ items: { slurm_api_version: string }[] }>('GET', '/api/v1/clusters');
      return c.items[0].slurm_api_version === 'v0.0.38';
    }, 15_000, 250);
  });

  it('loses nothing while the hub is down, and resumes by seq without a snapshot', async () => {
    const before = a.spool.lastSeq;
    await h.close();
    for (let i = 3; i <= 7; i++) {
      source.model.job.push(makeJob('alpha', i));
      await waitFor(`job ${i} spooled`, () => a.spool.objects.job.has(i));
    }
    source.model.job = source.model.job.filter((j) => j.id !== 1);
    await waitFor('removal spooled', () => !a.spool.objects.job.has(1));
    const spooledWhileDown = a.spool.lastSeq - before;
    expect(spooledWhileDown).toBeGreaterThanOrEqual(6);

    h = await hub();
    // The restarted hub serves the last state from its data directory at once.
    expect(h.state.clusters.get('alpha')!.seq).toBe(before);
    await waitFor('hub caught up', () => h.state.clusters.get('alpha')?.seq === a.spool.lastSeq);
    expect(h.ingest.stats.deltasApplied).toBe(spooledWhileDown);
    expect(h.ingest.stats.gaps).toBe(0);
    expect(h.ingest.stats.snapshots).toBe(0);
    const ids = (await api().all<{ id: number }>('/api/v1/jobs', {})).map((j) => j.id);
    expect(ids).toEqual([2, 3, 4, 5, 6, 7]);
    await waitFor('spool drained', () => a.spool.unacked().length === 0);
  });

  it('a restarted agent continues its epoch and seq: no duplicates, no gaps, no snapshot', async () => {
    const epoch = a.spool.epoch;
    const seq = a.spool.lastSeq;
    await a.close();
    source.model.job.push(makeJob('alpha', 8));
    a = await agent(source, spoolDir);
    expect(a.spool.epoch).toBe(epoch);
    await waitFor('job 8 at the hub', () => h.state.job('alpha', '8'));
    expect(h.state.clusters.get('alpha')!.seq).toBe(seq + 1);
    expect(h.state.clusters.get('alpha')!.epoch).toBe(epoch);
    expect(h.ingest.stats.gaps).toBe(0);
    expect(h.ingest.stats.snapshots).toBe(0);
  });

  it('carries commands to the agent and returns Slurm\'s answer', async () => {
    const res = await api().json<{ ok: boolean; message: string; via: string }>('POST', '/api/v1/jobs/alpha/3/cancel', {});
    expect(res).toEqual({ ok: true, message: 'cancel 3 done', via: 'scripted' });
    await waitFor('cancel visible', () => h.state.job('alpha', '3')?.state === 'CANCELLED');
    await expect(api().json('POST', '/api/v1/jobs/alpha/999/cancel', {})).rejects.toThrow(/Invalid job id specified: 999 \(SF_SLURM_COMMAND_FAILED\)/);
    const drained = await api().json<{ ok: boolean }>('POST', '/api/v1/nodes/alpha/n2/drain', { reason: 'disk swap' });
    expect(drained.ok).toBe(true);
    await waitFor('drain visible', () => h.state.clusters.get('alpha')!.objects.node.get('n2')?.flags.includes('DRAIN'));
    await expect(api().json('POST', '/api/v1/nodes/alpha/n2/drain', {})).rejects.toThrow(/drain needs a reason/);
    await expect(api().json('POST', '/api/v1/jobs/nowhere/1/cancel', {})).rejects.toThrow(/no agent of cluster nowhere is connected/);
    await expect(api().json('POST', '/api/v1/jobs/alpha/12ab/hold', {})).rejects.toThrow(/SF_API_BAD_REQUEST/);
  });

  it('streams changes over SSE and resumes after Last-Event-ID', async () => {
    const seen: { id?: string; event: string; data: string }[] = [];
    const controller = api();
    const watching = controller.stream('/api/v1/watch?cluster=alpha&kinds=job', undefined, (e) => seen.push(e)).catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
    source.model.job.push(makeJob('alpha', 9, { name: 'watched' }));
    await waitFor('watch event', () => seen.find((e) => e.event === 'upsert' && JSON.parse(e.data).id === '9'));
    const mark = seen[seen.length - 1].id!;
    source.model.job.push(makeJob('alpha', 10));
    await waitFor('job 10 applied', () => h.state.job('alpha', '10'));
    const resumed: { event: string; data: string }[] = [];
    const second = api().stream('/api/v1/watch?cluster=alpha&kinds=job', mark, (e) => resumed.push(e)).catch(() => {});
    await waitFor('replayed event', () => resumed.find((e) => JSON.parse(e.data).id === '10'));
    expect(resumed.some((e) => JSON.parse(e.data).id === '9')).toBe(false);
    // A watcher that heard no change yet still knows where its stream began (the opening id,
    // which dispatches nothing): resuming from it replays what changed while it was away.
    let opening: string | undefined;
    const early = api().stream('/api/v1/watch?cluster=alpha&kinds=job', undefined, () => undefined, (id) => (opening = id)).catch(() => {});
    await waitFor('the opening id', () => opening);
    source.model.job.push(makeJob('alpha', 11, { name: 'while away' }));
    await waitFor('job 11 applied', () => h.state.job('alpha', '11'));
    const back: { event: string; data: string }[] = [];
    const third0 = api().stream('/api/v1/watch?cluster=alpha&kinds=job', opening, (e) => back.push(e)).catch(() => {});
    await waitFor('job 11 replayed from the opening id', () => back.find((e) => e.event === 'upsert' && JSON.parse(e.data).id === '11'));
    expect(back.some((e) => e.event === 'reset')).toBe(false);
    expect(back.some((e) => ['9', '10'].includes(JSON.parse(e.data).id))).toBe(false);
    const stale: { event: string }[] = [];
    const third = api().stream('/api/v1/watch', 'oldboot-5', (e) => stale.push(e)).catch(() => {});
    await waitFor('reset for an unknown event id', () => stale.find((e) => e.event === 'reset'));
    void watching;
    void second;
    void third;
    void third0;
    void early;
    await h.close();
    h = await hub();
  });
});
