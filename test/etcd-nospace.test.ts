// etcd at its backend quota (issue 11, item 1): a private etcd with a 4 MiB --quota-backend-bytes
// is filled until it raises the NOSPACE alarm under a running hub group (two hubs, an agent
// streaming to hub A). During the fault: /healthz says degraded and names the alarm, the
// sfleet_hub_etcd_nospace gauge is 1, a new token is refused with the cause (503), and the hubs
// keep serving reads (an existing token, the job list), ingest (changes Slurm makes reach hub A,
// which the agent streams to) and their leader. A revocation made meanwhile is
// refused on A at once. After the README's runbook (delete, compact, defragment, disarm) the
// hubs say ok again by themselves, a new token can be made, and the revocation reaches hub B.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { GroupHub } from './harness/hub-group.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { QuotaEtcd } from './harness/quota-etcd.js';
import { registerSecret, testLogger } from './harness/run-logs.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const REGION = 'nospace';
/**
 * After the runbook's disarm each hub says ok by itself within this bound: its status poll runs
 * every 3 s, and a breaker opened by a real outage lets a probe through after breaker_reset (1 s).
 * Generous for a loaded 2-core machine, well under a restart.
 */
const RECOVERY_BOUND_MS = 10_000;
let pki: TestPki;
let etcd: QuotaEtcd;
let a: GroupHub;
let b: GroupHub;
let agent: RunningAgent | undefined;
const source = new ScriptedSource('full');

beforeAll(async () => {
  assertBuilt();
  [pki, etcd] = await Promise.all([makePki(), QuotaEtcd.start('nospace', 4 << 20)]);
  const dir = mkdtempSync(join(tmpdir(), `nospace-${process.pid}-`));
  const group = { region: REGION, pki, etcdEndpoints: [etcd.endpoint], config: { etcd: { lease_ttl: '3s' } } };
  a = new GroupHub('hub-a', dir, group);
  b = new GroupHub('hub-b', dir, group);
  await a.start(); // first: it leads
  await b.start();
  source.model.job = Array.from({ length: 5 }, (_, i) => makeJob('full', 1 + i));
  agent = await startTestAgent(
    { cluster: 'full', name: 'head1', endpoints: [a.grpcAddress], backoff: ['100ms', '500ms'], tls: await pki.agent('full', 'agent-full'), spoolDir: mkdtempSync(join(tmpdir(), 'nospace-spool-')) },
    { logger: testLogger('etcd-nospace'), source },
  );
  await waitFor('5 jobs on hub A', async () => (await jobStates(a)).size === 5, 30_000, 100);
}, 180_000);

afterAll(async () => {
  await agent?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  await etcd?.stop();
});

function cli(hub: GroupHub, args: string[]): Promise<string> {
  return sfleet([...args, '--hub', hub.httpUrl, '--ca', pki.ca, '--cert', pki.client.cert, '--key', pki.client.key], { PATH: process.env.PATH, HOME: tmpdir() });
}

async function createToken(hub: GroupHub, name: string): Promise<{ id: string; token: string }> {
  const out = (await cli(hub, ['token', 'create', '--name', name, '--role', 'viewer'])).trim().split('\n');
  const token = out.pop()!;
  registerSecret(token, `API token ${name} (etcd-nospace)`);
  return { id: /^token ([a-f0-9]{16}) /.exec(out[0])![1], token };
}

async function withToken(hub: GroupHub, token: string): Promise<number> {
  return (await httpsCall(`${hub.httpUrl}/api/v1/clusters`, { ca: pki.ca, headers: { authorization: `Bearer ${token}` }, timeoutMs: 5_000 })).status;
}

async function health(hub: GroupHub): Promise<{ status: string; reasons: string[] }> {
  return JSON.parse((await hub.raw('/healthz')).body) as { status: string; reasons: string[] };
}

async function metric(hub: GroupHub, name: string): Promise<number | undefined> {
  const line = (await hub.raw('/metrics')).body.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

async function jobStates(hub: GroupHub): Promise<Map<number, string>> {
  const items = await hub.client().all<{ id: number; state: string }>('/api/v1/jobs', { cluster: 'full' });
  return new Map(items.map((j) => [j.id, j.state]));
}

describe('etcd out of space (NOSPACE alarm)', () => {
  it('degraded with the cause; writes refused clearly; reads, ingest and the leader go on; the runbook recovers it', async () => {
    const before = await createToken(a, 'before');
    await waitFor('B accepts the token made on A', async () => (await withToken(b, before.token)) === 200, 5_000, 50);
    expect((await health(a)).status).toBe('ok');
    expect(await metric(a, 'sfleet_hub_etcd_nospace')).toBe(0);
    const leaderBefore = await a.leadingToken();
    expect(leaderBefore).toBeDefined();

    const refusal = await etcd.fill();
    expect(refusal).toMatch(/database space exceeded/);
    expect(await etcd.alarms()).toEqual(['Nospace']);

    // Both hubs say so: /healthz degraded naming the alarm, and the gauge.
    for (const hub of [a, b]) {
      let h = await health(hub);
      await waitFor(`${hub.id} degraded naming the alarm`, async () => /etcd: etcd is out of space \(NOSPACE alarm\)/.test((h = await health(hub)).reasons.join('\n')), 15_000, 200).catch((err: Error) => {
        throw new Error(`${err.message}; last /healthz: ${JSON.stringify(h)}`);
      });
      expect(h.status).toBe('degraded');
      expect(await metric(hub, 'sfleet_hub_etcd_nospace')).toBe(1);
      expect(await metric(hub, 'sfleet_hub_etcd_db_bytes')).toBeGreaterThan(3 << 20);
    }

    // A write that needs etcd is refused with the cause, and is not made on one hub only.
    const post = await httpsCall(`${a.httpUrl}/api/v1/tokens`, {
      method: 'POST',
      ca: pki.ca,
      cert: pki.client.cert,
      key: pki.client.key,
      body: { name: 'during', roles: ['viewer'] },
      timeoutMs: 15_000,
    });
    expect(post.status, post.body).toBe(503);
    expect(JSON.parse(post.body)).toMatchObject({ code: 'SF_SECURITY_STORE_UNAVAILABLE' });
    expect(JSON.parse(post.body).detail).toMatch(/etcd is out of space \(NOSPACE alarm\).*compacts, defragments and disarms/);
    await expect(createToken(b, 'during-cli')).rejects.toThrow(/out of space \(NOSPACE alarm\)/);
    expect((await cli(a, ['token', 'list', '-o', 'json'])).includes('"during')).toBe(false);

    // Reads go on: an existing token, the job list; the leader still leads.
    expect(await withToken(a, before.token)).toBe(200);
    expect(await withToken(b, before.token)).toBe(200);
    expect(await a.leadingToken()).toBe(leaderBefore);

    // Ingest goes on: a new job and a state change in Slurm reach the hub.
    source.model.job.push(makeJob('full', 6));
    source.model.job[0].state = 'RUNNING';
    await waitFor('the changes made during the fault on hub A', async () => {
      const jobs = await jobStates(a);
      return jobs.get(6) === 'PENDING' && jobs.get(1) === 'RUNNING';
    }, 15_000, 100);

    // A revocation made during the fault takes effect on A at once and waits for etcd.
    await cli(a, ['token', 'revoke', before.id]);
    expect(await withToken(a, before.token)).toBe(401);
    expect(await withToken(b, before.token)).toBe(200);

    // The runbook: the hubs recover by themselves once etcd takes writes again.
    await etcd.runbook();
    expect(await etcd.alarms()).toEqual([]);
    await Promise.all(
      [a, b].map(async (hub) => {
        let last = '';
        await waitFor(`${hub.id} ok again and sfleet_hub_etcd_nospace 0 within ${RECOVERY_BOUND_MS} ms of the disarm`, async () => {
          const [h, gauge] = await Promise.all([health(hub), metric(hub, 'sfleet_hub_etcd_nospace')]);
          last = `/healthz ${JSON.stringify(h)}, gauge ${gauge}`;
          return h.status === 'ok' && gauge === 0;
        }, RECOVERY_BOUND_MS, 200).catch((err: Error) => {
          throw new Error(`${err.message}; last: ${last}`);
        });
      }),
    );
    await waitFor('B refuses the token revoked during the fault', async () => (await withToken(b, before.token)) === 401, 15_000, 100);
    const after = await createToken(b, 'after');
    await waitFor('A accepts the token made on B after recovery', async () => (await withToken(a, after.token)) === 200, 5_000, 50);
    expect(await a.leadingToken()).toBe(leaderBefore);
    expect(a.log()).toMatch(/etcd is out of space \(NOSPACE alarm\)/);
    expect(a.log()).toContain('etcd NOSPACE alarm cleared');
    // etcd out of space never looked like etcd gone: no hub lost its etcd connection (the refused
    // writes used to close the client's channels: "14 UNAVAILABLE: Connection dropped").
    for (const hub of [a, b]) {
      expect(hub.log()).not.toMatch(/etcd unreachable|Connection dropped|circuit breaker is open/);
    }
  }, 180_000);
});
