// The hub's own durable files on a real failing disk (issue 11): the data directory (fleet store,
// events.log, tokens.json, the audit log) on ext4 on a loop device turned read-only under the
// running hub (errors=remount-ro + trigger_fs_error: EROFS), audit.fallback_dir on a tmpfs.
// During the fault: an agent's changes and a controller event cannot be stored (not acked, so
// the agent keeps them) but the hub shows them at once, a token create answers 503 SF_STORAGE_UNWRITABLE while its audit
// record goes to the fallback directory, each store is counted in
// sfleet_hub_durable_write_errors_total{store} and /healthz says degraded naming it; the hub
// never exits. After the disk is repaired: /healthz ok without a restart, the fallback records
// are folded back and `sfleet audit verify` passes, the hub shows the changes and the event.
// Then the audit file being written is deleted under the hub: a new segment names the break and
// verify still passes, naming it. A restarted hub has everything. Last, an agent started with
// its spool on a read-only ext4 starts degraded and streams from memory. Root only (mounts).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HubClient } from '../cli/client/index.js';
import type { FleetEvent } from '../generated/fleet/v1/agent.js';
import { FaultMounts, type Ext4Mount } from './harness/fault-mounts.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { testLogger } from './harness/run-logs.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { StandaloneHub } from './harness/standalone-hub.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const CLUSTER = 'dfiles';
let work: string;
let mounts: FaultMounts;
let data: Ext4Mount;
let fallbackDir: string;
let pki: TestPki;
let hub: StandaloneHub;
let agent: RunningAgent | undefined;
const source = new ScriptedSource(CLUSTER);
const queuedEvents: FleetEvent[] = [];
Object.assign(source, { takeEvents: () => queuedEvents.splice(0) });

const client = () => new HubClient({ hub: hub.url, ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
const healthz = async () => (await hub.get('/healthz', { clientCert: true })).json as { status: string; reasons: string[] };
async function metric(name: string, labels: string): Promise<number> {
  const text = (await hub.get('/metrics', { clientCert: true })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.split(' ').pop()) : 0;
}
const createToken = (name: string) =>
  httpsCall(`${hub.url}/api/v1/tokens`, { method: 'POST', body: { name, roles: ['viewer'] }, ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 20_000 });
const jobStates = async () => new Set(((await client().all('/api/v1/jobs', {})) as { state: string }[]).map((j) => j.state));
const eventIds = async () => ((await client().json<{ items: { id: string }[] }>('GET', '/api/v1/events')).items ?? []).map((e) => e.id);
const auditDir = () => join(hub.dataDir, 'audit');
const verify = () => sfleet(['audit', 'verify', '--dir', auditDir()], process.env);
const controllerEvent = (id: string): FleetEvent => ({ id, cluster: CLUSTER, type: 'controller_down', severity: 'critical', message: `test ${id}`, occurred_at: new Date().toISOString(), attributes: {} });

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  work = mkdtempSync(join(tmpdir(), 'hub-durable-files-'));
  mounts = new FaultMounts(work);
  data = await mounts.ext4('data', 32);
  fallbackDir = join(await mounts.tmpfs('fallback', 1024), 'audit');
  source.model.job = Array.from({ length: 10 }, (_, i) => makeJob(CLUSTER, 100 + i, { state: 'RUNNING' }));
  hub = await new StandaloneHub(work, pki, { audit: { fallback_dir: fallbackDir } }).start();
  agent = await startTestAgent(
    { cluster: CLUSTER, name: 'head1', endpoints: [hub.grpcAddress], backoff: ['100ms', '500ms'], tls: await pki.agent(CLUSTER, 'agent-dfiles'), spoolDir: mkdtempSync(join(tmpdir(), 'dfiles-spool-')) },
    { logger: testLogger('hub-durable-files'), source },
  );
}, 120_000);

afterAll(async () => {
  await agent?.close();
  await hub?.kill();
  await mounts?.cleanup();
});

describe('the hub\'s durable files on a disk that turns read-only', () => {
  it('degrades (metric and /healthz per store), never exits, takes audit records in the fallback dir, and recovers when the disk is repaired', async () => {
    expect(data.dir).toBe(hub.dataDir);
    await waitFor('jobs at the hub', async () => (await client().all('/api/v1/jobs', {})).length === 10, 20_000, 200);
    expect((await createToken('before')).status).toBe(201);
    queuedEvents.push(controllerEvent('ev-before'));
    await agent!.pipeline.pollOnce();
    await waitFor('the first event at the hub', async () => (await eventIds()).includes('ev-before'), 10_000, 200);

    await data.fail();
    // Slurm changes and a controller event: the hub cannot store them, so it does not ack them.
    source.model.job = source.model.job.map((j) => ({ ...j, state: 'COMPLETED' }));
    queuedEvents.push(controllerEvent('ev-during'));
    await agent!.pipeline.pollOnce();
    const degraded = await waitFor('healthz degraded', async () => {
      const h = await healthz();
      return h.status === 'degraded' && h.reasons.some((r) => r.startsWith('events: EROFS')) && h;
    }, 20_000, 200);
    expect(degraded.reasons.join('\n')).toMatch(/^events: EROFS since .*read-only/m);
    expect(await metric('sfleet_hub_durable_write_errors_total', 'store="events"')).toBeGreaterThan(0);
    await waitFor('the hub shows the changes and the event during the fault', async () => {
      const states = await jobStates();
      return states.size === 1 && states.has('COMPLETED') && (await eventIds()).includes('ev-during');
    }, 20_000, 300);

    // A user acts: tokens.json cannot be written (a clear 503, nothing made), the audit record of the attempt goes to the fallback dir.
    const during = await createToken('during');
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body)).toMatchObject({ code: 'SF_STORAGE_UNWRITABLE', detail: expect.stringMatching(/^tokens: the hub cannot write its data directory \(EROFS\); nothing was changed/) });
    const reasons = (await healthz()).reasons.join('\n');
    expect(reasons).toMatch(/^tokens: EROFS/m);
    expect(reasons).toMatch(/^audit: EROFS/m);
    // The failed create, and the retries every flush interval while the disk refuses.
    expect(await metric('sfleet_hub_durable_write_errors_total', 'store="tokens"')).toBeGreaterThanOrEqual(1);
    expect(await metric('sfleet_hub_durable_write_errors_total', 'store="audit"')).toBeGreaterThan(0);
    const held = readFileSync(join(fallbackDir, readdirSync(fallbackDir)[0]), 'utf8');
    expect(held).toContain('"resource":"token:during"');
    expect(hub.alive).toBe(true);
    expect((await hub.get('/healthz', { clientCert: true })).status).toBe(200);

    await data.repair();
    const ok = await waitFor('healthz ok again without a restart', async () => (await healthz()).status === 'ok', 30_000, 300);
    expect(ok).toBe(true);
    await waitFor('the fallback records folded back', () => readdirSync(fallbackDir).length === 0, 10_000, 200);
    await waitFor('the changes made during the fault at the hub', async () => {
      const states = await jobStates();
      return states.size === 1 && states.has('COMPLETED') && (await eventIds()).includes('ev-during');
    }, 30_000, 300);
    expect((await createToken('after')).status).toBe(201);
    expect(hub.auditRecords().find((r) => r.resource === 'token:during')).toMatchObject({ status: 503, fallback: { folded_at: expect.any(String) } });
    expect(await verify()).toMatch(/^OK: /);
    expect(hub.log()).not.toMatch(/"level":60/);
  });

  it('an audit file deleted under the hub: a new segment names the break within the flush interval, and verify passes naming it', async () => {
    const current = readdirSync(auditDir()).filter((f) => f.endsWith('.jsonl')).sort().pop()!;
    const before = await metric('sfleet_hub_durable_write_errors_total', 'store="audit"');
    rmSync(join(auditDir(), current));
    const segment = await waitFor('a new segment', () => {
      const files = readdirSync(auditDir()).filter((f) => f.endsWith('.jsonl')).sort();
      return files.length > 0 && files[files.length - 1] > current && files[files.length - 1];
    }, 10_000, 100);
    const [anchor, first] = readFileSync(join(auditDir(), segment), 'utf8').split('\n').map((l) => (l ? JSON.parse(l) : undefined));
    expect(anchor).toMatchObject({ type: 'anchor', prev_file: current });
    expect(first).toMatchObject({ action: 'audit:break', break: { file: current, how: 'deleted', lost_records: expect.any(Number) } });
    expect(first.break.lost_records).toBeGreaterThan(0);
    // Counted once the break record is durable (the new file appears a moment before).
    await waitFor('the loss counted', async () => (await metric('sfleet_hub_durable_write_errors_total', 'store="audit"')) === before + 1, 10_000, 100);
    expect(await verify()).toMatch(new RegExp(`named break: ${current} deleted: \\d+ records`));

    // Nothing acknowledged is lost: a restarted hub (agent away) has the jobs as changed, both events and both tokens.
    await agent!.close();
    agent = undefined;
    await hub.kill('SIGKILL');
    await hub.start();
    expect(await jobStates()).toEqual(new Set(['COMPLETED']));
    expect(await eventIds()).toEqual(expect.arrayContaining(['ev-before', 'ev-during']));
    const tokens = (await client().json<{ items: { name: string }[] }>('GET', '/api/v1/tokens')).items.map((t) => t.name);
    expect(tokens.sort()).toEqual(['after', 'before']);
    expect(existsSync(join(hub.dataDir, 'events', 'events.log'))).toBe(true);
  });
});

describe('an agent started with its spool on a read-only disk', () => {
  it('starts degraded (polls, streams from memory, health says so) instead of exiting, and spools once the disk is repaired', async () => {
    const spool = await mounts.ext4('ro-spool', 16);
    await spool.fail();
    const other = new ScriptedSource('dro');
    other.model.job = Array.from({ length: 5 }, (_, i) => makeJob('dro', 500 + i, { state: 'PENDING' }));
    const roAgent = await startTestAgent(
      { cluster: 'dro', name: 'head1', endpoints: [hub.grpcAddress], backoff: ['100ms', '500ms'], tls: await pki.agent('dro', 'agent-dro'), spoolDir: spool.dir },
      { logger: testLogger('hub-durable-files'), source: other },
    );
    try {
      expect(roAgent.health.health()).toMatchObject({ status: 'degraded', reasons: [expect.stringMatching(/^spool: EROFS/)] });
      await waitFor('the agent\'s jobs at the hub, streamed from memory', async () => (await client().all('/api/v1/jobs', { cluster: 'dro' })).length === 5, 20_000, 200);
      other.model.job = other.model.job.map((j) => ({ ...j, state: 'RUNNING' }));
      await roAgent.pipeline.pollOnce();
      await waitFor('a change made while unspooled at the hub', async () => {
        const jobs = (await client().all('/api/v1/jobs', { cluster: 'dro' })) as { state: string }[];
        return jobs.length === 5 && jobs.every((j) => j.state === 'RUNNING');
      }, 20_000, 200);
      await spool.repair();
      await waitFor('the spool writes again', async () => {
        await roAgent.pipeline.pollOnce();
        return roAgent.health.health().status === 'ok';
      }, 30_000, 1_000);
      expect(existsSync(join(spool.dir, 'deltas.log'))).toBe(true);
    } finally {
      await roAgent.close();
    }
  });
});
