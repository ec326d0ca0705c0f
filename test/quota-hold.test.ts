// Quota enforcement with policy `hold` against the real Slurm 22.05: jobs alice submits straight
// to Slurm with sbatch past her max_jobs are held by the hub (the leader of its region of one)
// through the agent, newest first, and released, oldest first, when usage drops; a job a person
// held stays held. Each action is a fleet event and an audit record.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerSecret } from './harness/run-logs.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { ensureSlurm, sbatchAs, slurmCli, type SlurmEnv } from './harness/slurm.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';

const TAG = `sfhold${process.pid}`;
let slurm: SlurmEnv;
let work: string;
let hub: SfleetProcess;
let agent: SfleetProcess;
let hubUrl: string;
let ca: string;
const tokens: Record<string, string> = {};

function get(path: string, token: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${hubUrl}${path}`, { ca: readFileSync(ca), headers: { authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** This run's jobs in Slurm's queue: id -> pending reason (or state). */
async function reasons(): Promise<Map<number, string>> {
  const out = await slurmCli(slurm, 'squeue', ['-h', '-u', 'alice', '-o', '%i %j %r']);
  const rows = out.split('\n').filter((l) => l.includes(TAG)).map((l) => l.trim().split(/\s+/));
  return new Map(rows.map(([id, , reason]) => [Number(id), reason]));
}

const later = (name: string): string[] => ['-A', 'research', '-p', 'debug', '-t', '5', '-J', `${TAG}-${name}`, '--begin=now+3600', '--wrap', 'true'];

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'alice']).catch(() => {});
  await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'bob']).catch(() => {});
  await waitFor('no jobs of alice or bob in the queue', async () => (await slurmCli(slurm, 'squeue', ['-h', '-u', 'alice,bob', '-o', '%i'])).trim() === '', 30_000, 250);
  work = mkdtempSync(join(tmpdir(), 'sfleet-hold-'));
  const pki = join(work, 'pki');
  ca = `${pki}/ca.pem`;
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'hold.test'], process.env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], process.env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'head1', '--cluster', slurm.cluster], process.env);
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  hubUrl = `https://127.0.0.1:${httpPort}`;
  writeFileSync(
    join(work, 'hub.yaml'),
    stringify({
      listen: { grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}` },
      tls: { ca, cert: `${pki}/hub1.pem`, key: `${pki}/hub1-key.pem` },
      data_dir: join(work, 'hub-data'),
      log_level: 'warn',
      multi_tenancy: {
        enabled: true,
        enforcement_interval: '1s',
        operators: { users: ['op'] },
        tenants: {
          science: { clusters: [slurm.cluster], accounts: ['research'], users: ['alice'], resources: { max_jobs: 20 }, user_resources: { alice: { max_jobs: 2 } }, enforcement: { policy: 'hold' } },
          ops: { clusters: [slurm.cluster], accounts: ['ops'], users: ['bob'] },
        },
      },
    }),
  );
  writeFileSync(
    join(work, 'agent.yaml'),
    stringify({
      cluster: slurm.cluster,
      name: 'head1',
      hub: { endpoints: [`127.0.0.1:${grpcPort}`], initial_backoff: '200ms', max_backoff: '1s' },
      tls: { ca, cert: `${pki}/head1.pem`, key: `${pki}/head1-key.pem` },
      slurm: { source: 'rest', endpoints: [slurm.restUrl], auth: { user: slurm.restUser, token: '${SFLEET_TEST_SLURM_JWT}' } },
      poll_interval: '1s',
      spool_dir: join(work, 'spool'),
    }),
  );
  for (const name of ['op', 'alice', 'bob']) {
    const out = await sfleet(['token', 'create', '--name', name, '--data-dir', join(work, 'hub-data')], { PATH: process.env.PATH, HOME: work });
    tokens[name] = out.trim().split('\n').pop()!;
    registerSecret(tokens[name], `API token ${name} (quota-hold)`);
  }
  hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log')).start();
  agent = new SfleetProcess(['agent', '--config', join(work, 'agent.yaml')], join(work, 'agent.log'), { ...process.env, SFLEET_TEST_SLURM_JWT: slurm.jwt }).start();
  await waitFor('agent connected', async () => {
    const res = await get('/api/v1/clusters', tokens.op).catch(() => undefined);
    return res?.status === 200 && JSON.stringify(res.json).includes('"connected":true');
    // A hub and an agent starting on a loaded machine (CI shares it with other suites).
  }, 90_000, 250);
}, 150_000);

afterAll(async () => {
  const ids = [...(await reasons().catch(() => new Map<number, string>())).keys()].map(String);
  if (ids.length) await slurmCli(slurm, 'scancel', ids);
  await waitFor('our jobs gone from the queue', async () => (await reasons()).size === 0, 20_000, 250);
  await agent?.kill('SIGTERM');
  await hub?.kill('SIGTERM');
});

describe('quota enforcement: hold (real Slurm 22.05)', () => {
  it("holds alice's newest sbatch jobs past max_jobs, releases its own as usage drops, never a person's hold", async () => {
    // A job an operator held by hand: it counts against alice's quota and stays held whatever happens.
    const person = await sbatchAs(slurm, 'alice', later('person'));
    await slurmCli(slurm, 'scontrol', ['hold', String(person)]);
    const a1 = await sbatchAs(slurm, 'alice', later('a1'));
    const a2 = await sbatchAs(slurm, 'alice', later('a2'));
    const a3 = await sbatchAs(slurm, 'alice', later('a3'));
    // 4 jobs, max_jobs 2: the two newest are held, a1 waits for its begin time.
    await waitFor('a2 and a3 held by the hub', async () => {
      const r = await reasons();
      return r.get(a2) === 'JobHeldAdmin' && r.get(a3) === 'JobHeldAdmin';
    }, 30_000, 250);
    expect((await reasons()).get(a1)).toBe('BeginTime');

    // Usage drops by one: the oldest of the jobs the hub held is released; a3 and the person's job stay held.
    await slurmCli(slurm, 'scancel', [String(a1)]);
    await waitFor('a2 released', async () => (await reasons()).get(a2) === 'BeginTime', 30_000, 250);
    let r = await reasons();
    expect(r.get(a3)).toBe('JobHeldAdmin');
    expect(r.get(person)).toBe('JobHeldAdmin');

    // The person's job leaves: room for a3 again.
    await slurmCli(slurm, 'scancel', [String(person)]);
    await waitFor('a3 released', async () => (await reasons()).get(a3) === 'BeginTime', 30_000, 250);
    r = await reasons();
    expect([...r.values()]).toEqual(['BeginTime', 'BeginTime']);

    // Each action is a fleet event, seen by the tenant's own member and by an operator, not by the other tenant of the cluster.
    const events = (await get('/api/v1/events?type=quota_hold,quota_release', tokens.alice)).json.items as { type: string; attributes: Record<string, string> }[];
    // The holds may come in one pass or two (as sbatch returns): their order is not the point; the releases' is.
    const said = events.map((e) => `${e.type} ${e.attributes.job_id}`);
    expect(said.slice(0, 2).sort()).toEqual([`quota_hold ${a2}`, `quota_hold ${a3}`].sort());
    expect(said.slice(2)).toEqual([`quota_release ${a2}`, `quota_release ${a3}`]);
    expect(events[0].attributes).toMatchObject({ tenant: 'science', account: 'research', user: 'alice', scope: 'user', subject: 'alice', limit: 'max_jobs', value: '2', dry_run: 'false' });
    expect((await get('/api/v1/events?type=quota_hold,quota_release', tokens.bob)).json.items).toEqual([]);
    const audit = (await get('/api/v1/audit?limit=500', tokens.op)).json.items as { action: string; resource: string; user: string; outcome: string }[];
    const recorded = audit.filter((a) => a.action.startsWith('quota:')).map((a) => `${a.action} ${a.resource} ${a.user} ${a.outcome}`);
    expect(recorded.slice(0, 2).sort()).toEqual([`quota:hold job ${slurm.cluster}/${a2} sfleet-quota success`, `quota:hold job ${slurm.cluster}/${a3} sfleet-quota success`].sort());
    expect(recorded.slice(2)).toEqual([`quota:release job ${slurm.cluster}/${a2} sfleet-quota success`, `quota:release job ${slurm.cluster}/${a3} sfleet-quota success`]);
  });
});
