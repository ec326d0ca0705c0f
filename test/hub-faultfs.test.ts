// The hub's data directory on faultfs (scripts/faultfs: FUSE over a real directory, issue 11),
// with an agent (scripted Slurm) streaming to it. Three faults, each with Slurm changes (a
// drain, a burst of jobs) and a user acting through the hub during it:
//  - EIO on every write of the fleet store (checkpoints, WALs) and tokens.json: the hub shows
//    the agent's deltas at once (applied in memory) but does not ack them (the agent keeps them),
//    a token create is a clear 503, each store is counted in sfleet_hub_durable_write_errors_total
//    and named in /healthz, the hub never exits; a kill -9 during the fault loses nothing (the
//    agent resends); once writes work the hub equals the source without a restart, and a
//    restarted hub too;
//  - EIO on fsync of the audit log only (no fallback directory): mutations are refused with 503
//    SF_AUDIT_UNAVAILABLE and do not reach Slurm, reads and ingest go on; after recovery the
//    mutation works and `sfleet audit verify` passes;
//  - EIO on every write of the events log: the hub shows the changes and the event at once (held,
//    not acked), a user's audited command works, /healthz names `events`; once writes work the
//    event is in events.log and the audit chain verifies;
//  - tokens.json deleted, then cut in half, under the running hub: within one flush interval
//    (2 s) the loss is counted and the file is rewritten from memory; the tokens keep working
//    throughout, Slurm changes reach the hub, a token create works;
//  - a slow disk (every fsync delayed 500 ms): ingest goes on and nothing is lost; the time from
//    a Slurm change to the hub showing it is printed against the same disk without the delay
//    (a figure, not an assertion). Root only (mounts /dev/fuse).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HubClient } from '../cli/client/index.js';
import type { FleetEvent } from '../generated/fleet/v1/agent.js';
import { FaultMounts } from './harness/fault-mounts.js';
import type { FaultFs } from './harness/faultfs.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { testLogger } from './harness/run-logs.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { StandaloneHub } from './harness/standalone-hub.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const CLUSTER = 'ffault';
let work: string;
let mounts: FaultMounts;
let data: FaultFs;
let pki: TestPki;
let hub: StandaloneHub;
let agent: RunningAgent | undefined;
const source = new ScriptedSource(CLUSTER);
const queuedEvents: FleetEvent[] = [];
Object.assign(source, { takeEvents: () => queuedEvents.splice(0) });
let nextJob = 100;

const client = () => new HubClient({ hub: hub.url, ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
const healthz = async () => (await hub.get('/healthz', { clientCert: true })).json as { status: string; reasons: string[] };
async function metric(name: string, labels: string): Promise<number> {
  const text = (await hub.get('/metrics', { clientCert: true })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.split(' ').pop()) : 0;
}
const writeErrors = (store: string) => metric('sfleet_hub_durable_write_errors_total', `store="${store}"`);
const post = (path: string, body: unknown) => httpsCall(`${hub.url}${path}`, { method: 'POST', body, ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 20_000 });
const createToken = (name: string) => post('/api/v1/tokens', { name, roles: ['viewer'] });
const eventIds = async () => ((await client().json<{ items: { id: string }[] }>('GET', '/api/v1/events')).items ?? []).map((e) => e.id);
const controllerEvent = (id: string): FleetEvent => ({ id, cluster: CLUSTER, type: 'controller_down', severity: 'critical', message: `test ${id}`, occurred_at: new Date().toISOString(), attributes: {} });

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

/** Slurm changes: `node` drained (with reason `why`), every job done, a burst of new jobs, a controller event. */
function slurmChanges(node: string, why: string, eventId: string): void {
  source.model.node = source.model.node.map((n) => (n.name === node ? { ...n, flags: ['DRAIN'], reason: why } : n));
  source.model.job = source.model.job.map((j) => ({ ...j, state: 'COMPLETED' }));
  for (let i = 0; i < 5; i++) source.model.job.push(makeJob(CLUSTER, nextJob++, { state: 'PENDING' }));
  queuedEvents.push(controllerEvent(eventId));
}

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  work = mkdtempSync(join(tmpdir(), 'hub-faultfs-'));
  mounts = new FaultMounts(work);
  data = await mounts.faultfs('data');
  source.model.node = ['n1', 'n2', 'n3'].map((n) => makeNode(CLUSTER, n));
  source.model.job = Array.from({ length: 10 }, () => makeJob(CLUSTER, nextJob++, { state: 'RUNNING' }));
  hub = await new StandaloneHub(work, pki, {}).start();
  agent = await startTestAgent(
    { cluster: CLUSTER, name: 'head1', endpoints: [hub.grpcAddress], backoff: ['100ms', '500ms'], tls: await pki.agent(CLUSTER, 'agent-ffault'), spoolDir: mkdtempSync(join(tmpdir(), 'ffault-spool-')) },
    { logger: testLogger('hub-faultfs'), source },
  );
}, 120_000);

afterAll(async () => {
  await agent?.close();
  await hub?.kill();
  await mounts?.cleanup();
});

describe('the hub\'s data directory on faultfs', () => {
  it('EIO on every write of the fleet store and tokens: 503 and degraded per store, the hub stays up, and equals the source once writes work (also after a restart)', async () => {
    expect(data.dir).toBe(hub.dataDir);
    await waitFor('the hub equal to the source', equalsSource, 30_000, 200);
    expect((await createToken('before')).status).toBe(201);
    const before = await writeErrors('store');

    // The fleet store (clusters/: checkpoints and WALs) and tokens.json (and its temporary file) refuse every write.
    data.set([
      { op: 'write', fail: 'EIO', path: '/clusters/*' },
      { op: 'write', fail: 'EIO', path: '/tokens.json*' },
    ]);
    slurmChanges('n1', 'eio-write', 'ev-eio');
    const degraded = await waitFor('healthz names the store', async () => {
      const h = await healthz();
      return h.status === 'degraded' && h.reasons.some((r) => r.startsWith('store: EIO')) && h;
    }, 30_000, 200);
    expect(degraded.reasons.join('\n')).toMatch(/^store: EIO since .*i\/o error/im);
    expect(await writeErrors('store')).toBeGreaterThan(before);
    // The hub shows the changes during the fault (held in memory, not acked).
    await waitFor('the hub shows the changes during the fault', async () => (await equalsSource()) && (await eventIds()).includes('ev-eio'), 30_000, 200);
    expect((await healthz()).reasons.join('\n')).toMatch(/^store: EIO/m);

    // A user acts: refused with a clear 503, nothing made.
    const during = await createToken('during');
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body)).toMatchObject({ code: 'SF_STORAGE_UNWRITABLE', detail: expect.stringMatching(/^tokens: the hub cannot write its data directory \(EIO\); nothing was changed/) });
    expect((await healthz()).reasons.join('\n')).toMatch(/^tokens: EIO/m);
    expect(await writeErrors('tokens')).toBeGreaterThanOrEqual(1);
    expect(hub.alive).toBe(true);
    expect((await hub.get('/healthz', { clientCert: true })).status).toBe(200);
    expect(data.log()).toMatch(/faultfs: write \/clusters\/\S+: EIO/);

    // kill -9 during the fault: what the hub showed was not acked, so the agent still has it and
    // resends it to the restarted hub, which shows it again (still not durable).
    await hub.kill('SIGKILL');
    await hub.start();
    await waitFor('the restarted hub shows the changes, resent by the agent', async () => (await equalsSource()) && (await eventIds()).includes('ev-eio'), 60_000, 300);
    expect((await healthz()).status).toBe('degraded');

    data.clear();
    await waitFor('healthz ok again without a restart', async () => (await healthz()).status === 'ok', 60_000, 300);
    await waitFor('the hub equal to the source after the fault', async () => (await equalsSource()) && (await eventIds()).includes('ev-eio'), 60_000, 300);
    expect((await createToken('after')).status).toBe(201);
    expect(hub.log()).not.toMatch(/"level":60/);

    // Nothing acked is lost: a restarted hub, the agent away, has the same jobs, nodes, event and tokens.
    await agent!.close();
    agent = undefined;
    await hub.kill('SIGKILL');
    await hub.start();
    expect(await equalsSource()).toBe(true);
    expect(await eventIds()).toContain('ev-eio');
    const tokens = (await client().json<{ items: { name: string }[] }>('GET', '/api/v1/tokens')).items.map((t) => t.name);
    expect(tokens.sort()).toEqual(['after', 'before']);
    agent = await startTestAgent(
      { cluster: CLUSTER, name: 'head1', endpoints: [hub.grpcAddress], backoff: ['100ms', '500ms'], tls: await pki.agent(CLUSTER, 'agent-ffault'), spoolDir: mkdtempSync(join(tmpdir(), 'ffault-spool-')) },
      { logger: testLogger('hub-faultfs'), source },
    );
  });

  it('EIO on fsync of the audit log: mutations refused with 503 and not done, ingest goes on; after recovery the command works and the chain verifies', async () => {
    await waitFor('the hub equal to the source', equalsSource, 30_000, 200);
    const target = source.model.job.find((j) => j.state === 'PENDING')!;
    const before = await writeErrors('audit');

    data.set([{ op: 'fsync', fail: 'EIO', path: '/audit/*' }]);
    // The first audited change meets the failing log: its answer says the record was not written
    // (500, or 503 when an earlier record failed already); from then on changes are refused.
    expect([500, 503]).toContain((await createToken('probe')).status);
    const cancel = await post(`/api/v1/jobs/${CLUSTER}/${target.id}/cancel`, {});
    expect(cancel.status).toBe(503);
    expect(JSON.parse(cancel.body)).toMatchObject({ code: 'SF_AUDIT_UNAVAILABLE' });
    expect(source.executed.some((c) => c.kind === 'cancel' && c.target === String(target.id))).toBe(false);
    expect(await writeErrors('audit')).toBeGreaterThan(before);
    expect((await healthz()).reasons.join('\n')).toMatch(/^audit: EIO/m);

    // Slurm changes meanwhile reach the hub: only the audit log is failing.
    slurmChanges('n2', 'eio-audit', 'ev-audit');
    await waitFor('the hub shows the changes made during the audit fault', async () => (await equalsSource()) && (await eventIds()).includes('ev-audit'), 30_000, 200);
    expect(data.log()).toMatch(/faultfs: fsync \/audit\/\S+: EIO/);

    data.clear();
    await waitFor('the audit log writable again', async () => (await healthz()).status === 'ok', 30_000, 300);
    const retry = await post(`/api/v1/jobs/${CLUSTER}/${target.id}/cancel`, {});
    expect(retry.status).toBeLessThan(300);
    await waitFor('the cancel at the hub', async () => {
      const jobs = (await client().all('/api/v1/jobs', { cluster: CLUSTER })) as { id: number; state: string }[];
      return jobs.find((j) => j.id === target.id)?.state === 'CANCELLED';
    }, 30_000, 200);
    expect(await sfleet(['audit', 'verify', '--dir', join(hub.dataDir, 'audit')], process.env)).toMatch(/^OK: /);
    expect(hub.alive).toBe(true);
  });

  it('EIO on every write of the events log: the hub shows the changes and the event during it, a command works; afterwards events.log has the event and the chain verifies', async () => {
    await waitFor('the hub equal to the source', equalsSource, 30_000, 200);
    const before = await writeErrors('events');
    data.set([{ op: 'write', fail: 'EIO', path: '/events/*' }]);
    slurmChanges('n1', 'eio-events', 'ev-events');
    await waitFor('healthz names the events log', async () => {
      const h = await healthz();
      return h.status === 'degraded' && h.reasons.some((r) => r.startsWith('events: EIO'));
    }, 30_000, 200);
    expect(await writeErrors('events')).toBeGreaterThan(before);
    await waitFor('the hub shows the changes and the event during the fault', async () => (await equalsSource()) && (await eventIds()).includes('ev-events'), 30_000, 200);
    expect((await healthz()).reasons.join('\n')).toMatch(/^events: EIO/m);

    // A user acts: an audited command goes through (the audit log is not failing) and reaches Slurm.
    const target = source.model.job.find((j) => j.state === 'PENDING')!;
    const cancel = await post(`/api/v1/jobs/${CLUSTER}/${target.id}/cancel`, {});
    expect(cancel.status).toBeLessThan(300);
    await waitFor('the cancel done in Slurm and shown at the hub', async () => {
      const jobs = (await client().all('/api/v1/jobs', { cluster: CLUSTER })) as { id: number; state: string }[];
      return jobs.find((j) => j.id === target.id)?.state === 'CANCELLED';
    }, 30_000, 200);
    expect(data.log()).toMatch(/faultfs: write \/events\/\S+: EIO/);
    expect(hub.alive).toBe(true);

    data.clear();
    await waitFor('healthz ok again without a restart', async () => (await healthz()).status === 'ok', 60_000, 300);
    await waitFor('the hub equal to the source after the fault', equalsSource, 30_000, 200);
    expect(readFileSync(join(hub.dataDir, 'events', 'events.log')).includes(Buffer.from('ev-events'))).toBe(true);
    expect(await sfleet(['audit', 'verify', '--dir', join(hub.dataDir, 'audit')], process.env)).toMatch(/^OK: /);
  });

  it('tokens.json deleted, then cut, under the running hub: tokens keep working, the file is rewritten from memory within the flush interval', async () => {
    await waitFor('the hub equal to the source', equalsSource, 30_000, 200);
    const made = await createToken('survivor');
    expect(made.status).toBe(201);
    const bearer = (JSON.parse(made.body) as { token: string }).token;
    const asToken = () => httpsCall(`${hub.url}/api/v1/jobs?cluster=${CLUSTER}`, { headers: { authorization: `Bearer ${bearer}` }, ca: pki.ca, timeoutMs: 20_000 });
    expect((await asToken()).status).toBe(200);
    const file = join(hub.dataDir, 'tokens.json');
    for (const [how, lose] of [['deleted', () => rmSync(file)], ['truncated', () => truncateSync(file, Math.floor(statSync(file).size / 2))]] as const) {
      const before = await writeErrors('tokens');
      lose();
      slurmChanges('n2', `tokens-${how}`, `ev-tokens-${how}`);
      // The token works while the file is lost (not taken as "no tokens").
      expect((await asToken()).status).toBe(200);
      await waitFor(`the ${how} file counted and rewritten`, async () => (await writeErrors('tokens')) === before + 1 && existsSync(file) && readFileSync(file, 'utf8').includes('"survivor"'), 10_000, 100);
      expect(JSON.parse(readFileSync(file, 'utf8')).tokens.map((t: { name: string }) => t.name)).toContain('survivor');
      expect((await asToken()).status).toBe(200);
      await waitFor('the changes at the hub', async () => (await equalsSource()) && (await eventIds()).includes(`ev-tokens-${how}`), 30_000, 200);
      // A user acts: an audited create works and is kept.
      expect((await createToken(`after-${how}`)).status).toBe(201);
    }
    expect(hub.log()).toMatch(/tokens\.json was deleted while open|tokens: durable write failed/);
    expect((await healthz()).status).toBe('ok');
    expect(await sfleet(['audit', 'verify', '--dir', join(hub.dataDir, 'audit')], process.env)).toMatch(/^OK: /);
    // A restarted hub still knows the token.
    await hub.kill('SIGKILL');
    await hub.start();
    expect((await asToken()).status).toBe(200);
    await waitFor('the agent back and the hub equal to the source', equalsSource, 60_000, 300);
  });

  it('a slow disk (every fsync delayed 500 ms): ingest goes on and nothing is lost', async () => {
    await waitFor('the hub equal to the source', equalsSource, 30_000, 200);
    // What a user sees: the time from a Slurm change to the hub showing it, and a token create.
    const measure = async (label: string): Promise<{ change: number; create: number }> => {
      source.model.job.push(makeJob(CLUSTER, nextJob++, { state: 'PENDING' }));
      const t0 = Date.now();
      await waitFor(`${label}: the new job at the hub`, equalsSource, 60_000, 20);
      const change = Date.now() - t0;
      const t1 = Date.now();
      expect((await createToken(`slow-${nextJob}`)).status).toBe(201);
      return { change, create: Date.now() - t1 };
    };
    const fast = await measure('plain');
    data.set([{ op: 'fsync', delayMs: 500 }]);
    const slow = await measure('fsync +500 ms');
    slurmChanges('n3', 'slow-disk', 'ev-slow');
    await waitFor('the changes made on the slow disk at the hub', async () => (await equalsSource()) && (await eventIds()).includes('ev-slow'), 60_000, 200);
    expect(data.log()).toMatch(/faultfs: fsync \/\S+: delayed 500 ms/);
    data.clear();
    console.log(`[hub-faultfs] slow disk: change at the hub ${fast.change} ms -> ${slow.change} ms, token create ${fast.create} ms -> ${slow.create} ms`);
    expect(hub.alive).toBe(true);
    expect(await sfleet(['audit', 'verify', '--dir', join(hub.dataDir, 'audit')], process.env)).toMatch(/^OK: /);
  });
});
