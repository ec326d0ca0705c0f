// The hub's data directory on a small tmpfs that fills up (ENOSPC, issue 11), with an agent
// (scripted Slurm) streaming to it and audit.fallback_dir on another tmpfs. During the fault:
// Slurm changes (a drain, a burst of jobs, a controller event) are shown by the hub at once
// (applied in memory, not acked: the agent keeps them), the fleet store and the events log are
// counted in sfleet_hub_durable_write_errors_total and named in /healthz, a user's audited cancel
// reaches Slurm (its record in the fallback dir), a token create is a clear 503, the hub never
// exits. Once the filler is deleted: /healthz ok without a restart, the hub equals the source,
// `sfleet audit verify` passes, and a restarted hub (agent away) has everything. Root only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HubClient } from '../cli/client/index.js';
import type { FleetEvent } from '../generated/fleet/v1/agent.js';
import { FaultMounts } from './harness/fault-mounts.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { testLogger } from './harness/run-logs.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { StandaloneHub } from './harness/standalone-hub.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const CLUSTER = 'fenospc';
let work: string;
let mounts: FaultMounts;
let pki: TestPki;
let hub: StandaloneHub;
let agent: RunningAgent | undefined;
const source = new ScriptedSource(CLUSTER);
const queuedEvents: FleetEvent[] = [];
Object.assign(source, { takeEvents: () => queuedEvents.splice(0) });
let nextJob = 100;

const client = () => new HubClient({ hub: hub.url, ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
const healthz = async () => (await hub.get('/healthz', { clientCert: true })).json as { status: string; reasons: string[] };
async function writeErrors(store: string): Promise<number> {
  const text = (await hub.get('/metrics', { clientCert: true })).body;
  const line = text.split('\n').find((l) => l.startsWith(`sfleet_hub_durable_write_errors_total{store="${store}"} `));
  return line ? Number(line.split(' ').pop()) : 0;
}
const post = (path: string, body: unknown) => httpsCall(`${hub.url}${path}`, { method: 'POST', body, ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 20_000 });
const eventIds = async () => ((await client().json<{ items: { id: string }[] }>('GET', '/api/v1/events')).items ?? []).map((e) => e.id);
const startAgent = async () =>
  startTestAgent(
    { cluster: CLUSTER, name: 'head1', endpoints: [hub.grpcAddress], backoff: ['100ms', '500ms'], tls: await pki.agent(CLUSTER, 'agent-fenospc'), spoolDir: mkdtempSync(join(tmpdir(), 'fenospc-spool-')) },
    { logger: testLogger('hub-enospc'), source },
  );

/** The hub's jobs (ids, states) and node drain flags equal the source's. */
async function equalsSource(): Promise<boolean> {
  const jobs = (await client().all('/api/v1/jobs', { cluster: CLUSTER })) as { id: number; state: string }[];
  const want = new Map(source.model.job.map((j) => [j.id, j.state]));
  if (jobs.length !== want.size || jobs.some((j) => want.get(j.id) !== j.state)) return false;
  const nodes = (await client().all('/api/v1/nodes', { cluster: CLUSTER })) as { name: string; flags: string[]; reason: string }[];
  return source.model.node.every((n) => {
    const seen = nodes.find((x) => x.name === n.name);
    return seen !== undefined && seen.flags.includes('DRAIN') === n.flags.includes('DRAIN') && seen.reason === n.reason;
  });
}

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  work = mkdtempSync(join(tmpdir(), 'hub-enospc-'));
  mounts = new FaultMounts(work);
  await mounts.tmpfs('data', 32 * 1024);
  const fallbackDir = join(await mounts.tmpfs('fallback', 1024), 'audit');
  source.model.node = ['n1', 'n2'].map((n) => makeNode(CLUSTER, n));
  source.model.job = Array.from({ length: 10 }, () => makeJob(CLUSTER, nextJob++, { state: 'RUNNING' }));
  hub = await new StandaloneHub(work, pki, { audit: { fallback_dir: fallbackDir } }).start();
  agent = await startAgent();
}, 120_000);

afterAll(async () => {
  await agent?.close();
  await hub?.kill();
  await mounts?.cleanup();
});

describe('the hub\'s data directory full (ENOSPC)', () => {
  it('shows Slurm changes during the fault, names the stores, audits a command through the fallback dir, and equals the source once space is freed', async () => {
    expect(hub.dataDir).toBe(join(work, 'data'));
    await waitFor('the hub equal to the source', equalsSource, 30_000, 200);
    const before = { store: await writeErrors('store'), events: await writeErrors('events') };

    const filler = mounts.fill(hub.dataDir);
    // Slurm changes: a drain and a burst of jobs first (the fleet store), then a controller event (the events log).
    source.model.node = source.model.node.map((n) => (n.name === 'n1' ? { ...n, flags: ['DRAIN'], reason: 'disk-full' } : n));
    for (let i = 0; i < 20; i++) source.model.job.push(makeJob(CLUSTER, nextJob++, { state: 'PENDING' }));
    await waitFor('healthz names the fleet store', async () => (await healthz()).reasons.some((r) => r.startsWith('store: ENOSPC')), 30_000, 200);
    queuedEvents.push({ id: 'ev-enospc', cluster: CLUSTER, type: 'controller_down', severity: 'critical', message: 'test', occurred_at: new Date().toISOString(), attributes: {} });
    await waitFor('the hub shows the changes and the event during the fault', async () => (await equalsSource()) && (await eventIds()).includes('ev-enospc'), 30_000, 200);
    const h = await healthz();
    expect(h.status).toBe('degraded');
    expect(h.reasons.join('\n')).toMatch(/^store: ENOSPC since .*no space left/im);
    expect(await writeErrors('store')).toBeGreaterThan(before.store);

    // A user acts: a cancel is audited (the record goes to the fallback dir) and reaches Slurm; a token create cannot be stored.
    const target = source.model.job.find((j) => j.state === 'PENDING')!;
    expect((await post(`/api/v1/jobs/${CLUSTER}/${target.id}/cancel`, {})).status).toBeLessThan(300);
    await waitFor('the cancel in Slurm and at the hub', async () => {
      const jobs = (await client().all('/api/v1/jobs', { cluster: CLUSTER })) as { id: number; state: string }[];
      return jobs.find((j) => j.id === target.id)?.state === 'CANCELLED';
    }, 30_000, 200);
    const token = await post('/api/v1/tokens', { name: 'during', roles: ['viewer'] });
    expect(token.status).toBe(503);
    expect(JSON.parse(token.body)).toMatchObject({ code: 'SF_STORAGE_UNWRITABLE' });
    expect(hub.alive).toBe(true);

    rmSync(filler);
    await waitFor('healthz ok again without a restart', async () => (await healthz()).status === 'ok', 60_000, 300);
    await waitFor('the hub equal to the source after the fault', equalsSource, 30_000, 200);
    expect((await post('/api/v1/tokens', { name: 'after', roles: ['viewer'] })).status).toBe(201);
    expect(await sfleet(['audit', 'verify', '--dir', join(hub.dataDir, 'audit')], process.env)).toMatch(/^OK: /);
    expect(hub.log()).not.toMatch(/"level":60/);
    // The token create's audit record was taken by the fallback dir during the fault and folded back.
    expect(hub.auditRecords().find((r) => r.resource === 'token:during')).toMatchObject({ status: 503, fallback: { folded_at: expect.any(String) } });

    // Nothing acked is lost: a restarted hub, the agent away, has the jobs, nodes and the event.
    await waitFor('everything acked', async () => agent!.spool.lastSeq === agent!.spool.ackedSeq, 30_000, 200);
    await agent!.close();
    agent = undefined;
    await hub.kill('SIGKILL');
    await hub.start();
    expect(await equalsSource()).toBe(true);
    expect(await eventIds()).toContain('ev-enospc');
  });
});
