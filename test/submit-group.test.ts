// Admission in a hub group against the real Slurm 22.05: three hubs on a private etcd and Redis,
// one agent on slurmrestd streaming to the first. alice may have 2 jobs and has 1, so one slot is
// left: 20 submits at once, spread over the three hubs (two of them forward to the agent's hub),
// admit exactly one, the other 19 are refused naming the limit, and Slurm has one new job. The
// reservations that make this hold live in the region's etcd (hub/submit/shared-admission.ts);
// with reservations per hub, each hub would admit one.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsFiles } from '../shared/tls/index.js';
import { HaServices } from './harness/ha-services.js';
import { HubProcess } from './harness/ha-hubs.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { ensureSlurm, slurmCli, type SlurmEnv } from './harness/slurm.js';
import { assertBuilt, SfleetProcess } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

// alice's uid is below 1000 on this machine (see submit.test.ts): submit.min_uid is 900 here.
const MIN_UID = 900;
const TAG = `sfgrp${process.pid}`;
let slurm: SlurmEnv;
let services: HaServices;
let pki: TestPki;
let alice: TlsFiles;
let hubs: HubProcess[] = [];
let agent: SfleetProcess;

const submit = (hub: HubProcess, name: string) =>
  httpsCall(`${hub.httpUrl}/api/v1/jobs/${slurm.cluster}`, {
    method: 'POST',
    body: { wrap: 'sleep 300', account: 'research', partition: 'debug', job_name: `${TAG}-${name}`, time_minutes: 5, output: '/dev/null', chdir: '/tmp' },
    ca: pki.ca,
    cert: alice.cert,
    key: alice.key,
    timeoutMs: 90_000,
  });

/** This run's jobs in Slurm's queue: "id name" lines. */
async function ours(): Promise<string[]> {
  return (await slurmCli(slurm, 'squeue', ['-h', '-u', 'alice', '-o', '%i %j'])).split('\n').filter((l) => l.includes(TAG));
}

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  // Quotas count every job of the tenant's accounts: start from an empty queue for alice.
  await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'alice']).catch(() => {});
  await waitFor('no jobs of alice in the queue', async () => (await slurmCli(slurm, 'squeue', ['-h', '-u', 'alice', '-o', '%i'])).trim() === '', 30_000, 250);
  [services, pki] = await Promise.all([HaServices.create('subgrp'), makePki('group.test')]);
  alice = await pki.issue('client', 'alice');
  const dir = mkdtempSync(join(tmpdir(), 'sfleet-subgrp-'));
  const sections = {
    submit: { min_uid: MIN_UID },
    multi_tenancy: {
      enabled: true,
      operators: { users: ['tester'] },
      tenants: { science: { clusters: [slurm.cluster], accounts: ['research', 'ops'], users: ['alice', 'bob'], user_resources: { alice: { max_jobs: 2 } } } },
    },
  };
  hubs = await Promise.all(['hub-1', 'hub-2', 'hub-3'].map((id) => new HubProcess({ id, region: 'subgrp', dir, pki, etcdEndpoints: services.etcdEndpoints, redisUrl: services.redisUrl, sections }).start()));
  const tls = await pki.agent(slurm.cluster, 'head1');
  writeFileSync(
    join(dir, 'agent.yaml'),
    stringify({
      cluster: slurm.cluster,
      name: 'head1',
      hub: { endpoints: [hubs[0].grpcAddress], initial_backoff: '200ms', max_backoff: '1s' },
      tls,
      slurm: { source: 'rest', endpoints: [slurm.restUrl], auth: { user: slurm.restUser, token: '${SFLEET_TEST_SLURM_JWT}' } },
      poll_interval: '1s',
      spool_dir: join(dir, 'spool'),
      submit: { min_uid: MIN_UID },
    }),
  );
  agent = new SfleetProcess(['agent', '--config', join(dir, 'agent.yaml')], join(dir, 'agent.log'), { ...process.env, SFLEET_TEST_SLURM_JWT: slurm.jwt }).start();
  await waitFor('every hub sees the cluster, its agent on hub-1', async () => {
    const lists = await Promise.all(hubs.map((h) => h.client().json<{ items: { name: string; connected: boolean; owner_hub?: string | null }[] }>('GET', '/api/v1/clusters')));
    return lists.every((l) => l.items.some((c) => c.name === slurm.cluster && c.connected && c.owner_hub === 'hub-1'));
  }, 90_000, 500);
}, 400_000);

afterAll(async () => {
  const ids = (await ours().catch(() => [])).map((l) => l.split(' ')[0]);
  if (ids.length) await slurmCli(slurm, 'scancel', ids).catch(() => {});
  await agent?.kill('SIGTERM');
  await Promise.all(hubs.map((h) => h.kill()));
  await services?.stop();
}, 120_000);

describe('admission across a hub group (real Slurm 22.05)', () => {
  it('20 concurrent submits through 3 hubs with one slot left admit exactly one, and Slurm has one new job', async () => {
    // The first of alice's two jobs, through a hub without the agent (forwarded); every hub then sees it.
    const first = await submit(hubs[1], 'first');
    expect(first.status, first.body).toBe(201);
    const firstId = String((JSON.parse(first.body) as { job_id: string }).job_id);
    await waitFor('every hub lists alice\'s first job', async () => {
      const seen = await Promise.all(hubs.map(async (h) => (await h.raw(`/api/v1/jobs/${slurm.cluster}/${firstId}`)).status));
      return seen.every((s) => s === 200);
    }, 30_000, 250);

    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => submit(hubs[i % 3], `race${i}`)));
    const admitted = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 409);
    expect(answers.map((a) => a.status).sort(), answers.filter((a) => a.status !== 201 && a.status !== 409).map((a) => a.body).join('\n')).toEqual([201, ...Array<number>(19).fill(409)]);
    for (const r of refused) {
      const problem = JSON.parse(r.body) as { code: string; quota: { scope: string; subject: string; limit: string; value: number; usage: number; reserved: number; request: number } };
      expect(problem.code).toBe('SF_QUOTA_EXCEEDED');
      expect(problem.quota).toMatchObject({ scope: 'user', subject: 'alice', limit: 'max_jobs', value: 2, request: 1 });
      expect(problem.quota.usage + problem.quota.reserved).toBe(2);
    }
    const newId = String((JSON.parse(admitted[0].body) as { job_id: string }).job_id);
    const queue = await ours();
    expect(queue.map((l) => l.split(' ')[0]).sort()).toEqual([firstId, newId].sort());
    expect(queue.filter((l) => l.includes('-race'))).toHaveLength(1);
  });
});
