// Commands in a hub group (private etcd and Redis): a command sent to the hub that does not hold
// the cluster's agent is forwarded to the hub that does and runs once; a repeated idempotency key
// gets the first result without running again (a client's Idempotency-Key on REST too); only the
// certificates of this group's hubs may forward, not a peer region's hub.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HaServices } from './harness/ha-services.js';
import { HubProcess } from './harness/ha-hubs.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { testLogger } from './harness/run-logs.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const REGION = 'fwd';
const CLUSTER = 'fwd-cluster';
let services: HaServices;
let pki: TestPki;
let a: HubProcess;
let b: HubProcess;
let agent: RunningAgent;
const source = new ScriptedSource(CLUSTER);
source.model.job = [makeJob(CLUSTER, 5, { state: 'RUNNING' }), makeJob(CLUSTER, 6, { state: 'RUNNING' }), makeJob(CLUSTER, 7, { state: 'RUNNING' })];
source.model.node = [makeNode(CLUSTER, 'f1', { partitions: ['batch'] })];

beforeAll(async () => {
  assertBuilt();
  [services, pki] = await Promise.all([HaServices.create('fwd'), makePki()]);
  const dir = mkdtempSync(join(tmpdir(), 'fwd-'));
  [a, b] = await Promise.all(['hub-a', 'hub-b'].map((id) => new HubProcess({ id, region: REGION, dir, pki, etcdEndpoints: services.etcdEndpoints, redisUrl: services.redisUrl }).start()));
  agent = await startTestAgent({ cluster: CLUSTER, endpoints: [a.grpcAddress], tls: await pki.agent(CLUSTER), spoolDir: join(dir, 'spool') }, { logger: testLogger('command-forwarding'), source });
  // Hub B knows the cluster (replicated) and that hub A holds its agent.
  await waitFor('hub B sees the cluster held by hub A', async () => {
    const r = await b.client().json<{ items: { name: string; connected: boolean; owner_hub?: string | null; jobs: number }[] }>('GET', '/api/v1/clusters');
    const c = r.items.find((x) => x.name === CLUSTER);
    return !!c && c.connected && c.owner_hub === 'hub-a' && c.jobs === 3;
  }, 30_000, 200);
}, 300_000);

afterAll(async () => {
  await agent?.close();
  await Promise.all([a?.kill(), b?.kill()]);
  await services?.stop();
});

const post = (hub: HubProcess, path: string, body: unknown, who: { cert: string; key: string } = pki.client, headers: Record<string, string> = {}) =>
  httpsCall(`${hub.httpUrl}${path}`, { method: 'POST', body, ca: pki.ca, cert: who.cert, key: who.key, timeoutMs: 15_000, headers });

describe('commands forwarded within a hub group', () => {
  it('a cancel and a drain sent to the hub without the agent run once through the hub with it', async () => {
    const cancel = await post(b, `/api/v1/jobs/${CLUSTER}/5/cancel`, { reason: 'forwarded' });
    expect(cancel.status, cancel.body).toBe(200);
    expect(JSON.parse(cancel.body)).toMatchObject({ ok: true });
    const drain = await post(b, `/api/v1/nodes/${CLUSTER}/f1/drain`, { reason: 'disk swap' });
    expect(drain.status, drain.body).toBe(200);
    expect(source.executed.map((c) => `${c.kind} ${c.target}`)).toEqual(['cancel 5', 'drain f1']);
    // Bad input is refused by the first hub, and nothing is forwarded.
    const bad = await post(b, `/api/v1/nodes/${CLUSTER}/f1/drain`, { reason: '' });
    expect(bad.status).toBe(400);
    expect(source.executed).toHaveLength(2);
  });

  it('a repeated idempotency key gets the first result and Slurm runs the command once; only a hub may forward', async () => {
    const command = { id: 'c-1', kind: 'COMMAND_KIND_CANCEL', target: '6', reason: 'retry', requested_by: 'ann', idempotency_key: 'key-6' };
    const first = await post(a, `/api/v1/forwarded-commands/${CLUSTER}`, command, pki.hub);
    expect(first.status, first.body).toBe(200);
    const again = await post(a, `/api/v1/forwarded-commands/${CLUSTER}`, { ...command, id: 'c-2' }, pki.hub);
    expect(again.status, again.body).toBe(200);
    const strip = (text: string) => {
      const { id: _id, ...rest } = JSON.parse(text) as Record<string, unknown>;
      return rest;
    };
    expect(strip(again.body)).toEqual(strip(first.body));
    expect(source.executed.filter((c) => c.target === '6')).toHaveLength(1);
    // A person's certificate, even an admin's, may not hand raw commands to an agent.
    const person = await post(a, `/api/v1/forwarded-commands/${CLUSTER}`, { ...command, id: 'c-3', idempotency_key: 'key-7' });
    expect(person.status).toBe(403);
    expect(JSON.parse(person.body).detail).toContain('only a hub certificate may forward a command');
    expect(source.executed.filter((c) => c.target === '6')).toHaveLength(1);
  });

  it("a client's repeated Idempotency-Key on a forwarded hold gets the first result; Slurm holds once", async () => {
    const key = { 'idempotency-key': 'hold-7-once' };
    const first = await post(b, `/api/v1/jobs/${CLUSTER}/7/hold`, { reason: 'r' }, pki.client, key);
    expect(first.status, first.body).toBe(200);
    const again = await post(b, `/api/v1/jobs/${CLUSTER}/7/hold`, { reason: 'r' }, pki.client, key);
    expect(again.status, again.body).toBe(200);
    expect(JSON.parse(again.body)).toEqual(JSON.parse(first.body));
    expect(source.executed.filter((c) => c.target === '7').map((c) => c.kind)).toEqual(['hold']);
    const bad = await post(b, `/api/v1/jobs/${CLUSTER}/7/hold`, { reason: 'r' }, pki.client, { 'idempotency-key': 'not ok!' });
    expect(bad.status).toBe(400);
  });

  it("a hub certificate no member of this group names (a peer region's hub, same CA) may not forward", async () => {
    const peer = await pki.issue('hub', 'peer-region-hub');
    const executed = source.executed.length;
    const res = await post(a, `/api/v1/forwarded-commands/${CLUSTER}`, { id: 'c-9', kind: 'COMMAND_KIND_CANCEL', target: '7', reason: 'x', requested_by: 'eve', idempotency_key: 'key-9' }, peer);
    expect(res.status, res.body).toBe(403);
    expect(JSON.parse(res.body).detail).toContain("hub peer-region-hub is not a member of this hub's group");
    expect(source.executed).toHaveLength(executed);
  });
});
