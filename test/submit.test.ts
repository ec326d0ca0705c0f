// Submission through the hub against the real Slurm 22.05: a hub with one tenant (accounts
// research and ops), an agent on slurmrestd, callers with API tokens. A submit within quota runs
// as alice; over quota (and an array over quota) is refused naming the limit, usage and request
// before Slurm sees it; an array within quota is counted once, task by task; a login mapped to root is refused; a repeated Idempotency-Key gives one
// job; Slurm's own words come back for a bad partition.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealSlurmFleet, type RealSlurmFleet } from './harness/real-slurm-fleet.js';
import { waitFor } from './harness/wait.js';
import { ensureSlurm, slurmCli, type SlurmEnv } from './harness/slurm.js';
import { assertBuilt, keepCliStderr, SFLEET } from './harness/sfleet-process.js';

// alice and bob have uids below 1000 on this machine: the test lowers submit.min_uid to 900 (root and system accounts stay refused).
const MIN_UID = 900;
const TAG = `sfsub${process.pid}`;
let slurm: SlurmEnv;
let fleet: RealSlurmFleet;
const post = (path: string, body: unknown, token: string, headers: Record<string, string> = {}) => fleet.call('POST', path, token, body, headers);

function cli(args: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH, HOME: fleet.work, SFLEET_HUB: fleet.hubUrl, SFLEET_CA: fleet.ca, SFLEET_TOKEN: token };
  return new Promise((resolve) => {
    execFile(process.execPath, [SFLEET, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      keepCliStderr(args, stderr);
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** Our jobs in Slurm's queue: "id user account name" lines. */
async function queue(): Promise<string[]> {
  const out = await slurmCli(slurm, 'squeue', ['-h', '-o', '%i %u %a %j']);
  return out.split('\n').filter((l) => l.includes(TAG));
}

/** Cancels every job this run made (by id: scancel -n takes one name). */
async function cleanup(): Promise<void> {
  const ids = (await queue().catch(() => [])).map((l) => l.split(' ')[0].split('_')[0]);
  if (ids.length) await slurmCli(slurm, 'scancel', ids);
}

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  // Quotas count every job of the tenant's accounts: start from an empty queue for alice and bob,
  // as the other real-Slurm files do (an earlier file may leave its held jobs behind).
  await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'alice']).catch(() => {});
  await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'bob']).catch(() => {});
  await waitFor('no jobs of alice or bob in the queue', async () => (await slurmCli(slurm, 'squeue', ['-h', '-u', 'alice,bob', '-o', '%i'])).trim() === '', 30_000, 250);
  fleet = await startRealSlurmFleet({
    name: 'submit',
    slurm,
    hub: {
      // API tokens are service accounts: each submits only as the user its user_map entry names.
      submit: { min_uid: MIN_UID, user_map: { alice: 'alice', bob: 'bob', mallory: 'root' } },
      multi_tenancy: {
        enabled: true,
        tenants: {
          science: {
            clusters: [slurm.cluster],
            accounts: ['research', 'ops'],
            users: ['alice', 'bob', 'mallory'],
            resources: { max_jobs: 6 },
            user_resources: { alice: { max_jobs: 1 } },
          },
        },
      },
    },
    agent: { submit: { min_uid: MIN_UID } },
    tokens: ['alice', 'bob', 'mallory'],
  });
}, 150_000);

afterAll(async () => {
  await cleanup();
  await waitFor('our jobs gone from the queue', async () => (await queue()).length === 0, 20_000, 250);
  await fleet?.stop();
});

describe('submit through the hub (real Slurm 22.05)', () => {
  it('runs a job within quota as alice; a repeated Idempotency-Key gives the same job, not a second', async () => {
    const body = { wrap: 'sleep 120', account: 'research', partition: 'debug', job_name: `${TAG}-a`, time_minutes: 5, output: '/dev/null', chdir: '/tmp' };
    const first = await post(`/api/v1/jobs/${slurm.cluster}`, body, fleet.tokens.alice, { 'idempotency-key': `${TAG}-k1` });
    expect(first.status, JSON.stringify(first.json)).toBe(201);
    expect(first.json).toMatchObject({ user: 'alice', job_id: expect.stringMatching(/^\d+$/) });
    const again = await post(`/api/v1/jobs/${slurm.cluster}`, body, fleet.tokens.alice, { 'idempotency-key': `${TAG}-k1` });
    expect(again.status).toBe(201);
    expect(again.json.job_id).toBe(first.json.job_id);
    const alices = (await slurmCli(slurm, 'squeue', ['-h', '-u', 'alice', '-o', '%i %u %a %j'])).split('\n').filter((l) => l.includes(`${TAG}-a`));
    expect(alices).toEqual([`${String(first.json.job_id)} alice research ${TAG}-a`]);
  });

  it('refuses a submit over quota naming the limit, its usage and the request; nothing reaches Slurm', async () => {
    const res = await post(`/api/v1/jobs/${slurm.cluster}`, { wrap: 'true', account: 'research', job_name: `${TAG}-b`, chdir: '/tmp' }, fleet.tokens.alice);
    expect(res.status).toBe(409);
    expect(res.json).toMatchObject({ code: 'SF_QUOTA_EXCEEDED', quota: { scope: 'user', subject: 'alice', limit: 'max_jobs', value: 1, request: 1 } });
    const q = res.json.quota as { usage: number; reserved: number };
    expect(q.usage + q.reserved).toBe(1);
    expect(String(res.json.detail)).toMatch(/max_jobs is 1/);
    expect(await queue()).not.toContainEqual(expect.stringContaining(`${TAG}-b`));
  });

  it('refuses an array over the tenant quota (its tasks counted one by one); `sfleet submit` says why', async () => {
    const out = await cli(['submit', slurm.cluster, '--wrap', 'true', '-A', 'ops', '--array', '1-10', '-J', `${TAG}-c`, '-D', '/tmp'], fleet.tokens.bob);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/SF_QUOTA_EXCEEDED|tenant science: max_jobs is 6/);
    expect(out.stderr).toMatch(/asks for 10/);
    expect(await queue()).not.toContainEqual(expect.stringContaining(`${TAG}-c`));
  });

  it('refuses a login mapped to root, before Slurm', async () => {
    const res = await post(`/api/v1/jobs/${slurm.cluster}`, { wrap: 'id', account: 'ops', job_name: `${TAG}-root`, chdir: '/tmp' }, fleet.tokens.mallory);
    expect(res.status).toBe(403);
    expect(String(res.json.detail)).toMatch(/may not be submitted as root/);
    expect((await slurmCli(slurm, 'squeue', ['-h', '-u', 'root', '-o', '%j'])).split('\n')).not.toContain(`${TAG}-root`);
  });

  it("gives Slurm's own message back for a bad partition; `sfleet submit` prints the job id of a good one as bob", async () => {
    const bad = await post(`/api/v1/jobs/${slurm.cluster}`, { wrap: 'true', account: 'ops', partition: 'nope', job_name: `${TAG}-bad`, chdir: '/tmp' }, fleet.tokens.bob);
    expect(bad.status).toBe(422);
    expect(String(bad.json.detail)).toMatch(/Invalid partition name specified/);
    const good = await cli(['submit', slurm.cluster, '--wrap', 'sleep 60', '-A', 'ops', '-p', 'batch', '-J', `${TAG}-c`, '--time', '0:05:00', '-o', '/dev/null', '--export', 'FOO=bar'], fleet.tokens.bob);
    expect(good.stderr).toBe('');
    const id = /Submitted batch job (\d+) \(as bob\)/.exec(good.stdout)?.[1];
    expect(id).toBeDefined();
    expect(await queue()).toContain(`${id} bob ops ${TAG}-c`);
  });

  it('counts an array admitted through `sfleet submit` once, task by task: its reservation until its tasks show, then the tasks', async () => {
    // In use now: alice's job and bob's (2 of the tenant's 6). Three tasks fit.
    const out = await cli(['submit', slurm.cluster, '--wrap', 'sleep 120', '-A', 'ops', '-p', 'batch', '--array', '1-3', '-J', `${TAG}-d`, '--time', '0:05:00', '-o', '/dev/null', '-D', '/tmp'], fleet.tokens.bob);
    expect(out.stderr).toBe('');
    const id = /Submitted batch job (\d+) \(as bob\)/.exec(out.stdout)?.[1];
    expect(id).toBeDefined();
    // Two more tasks never fit. Each refusal names what is in use and reserved: always the same 5,
    // never the array twice (reservation and tasks) nor too few (reservation released before all its tasks show).
    const seen: Record<string, unknown>[] = [];
    await waitFor('the array counted by its tasks, no longer by its reservation', async () => {
      const res = await post(`/api/v1/jobs/${slurm.cluster}`, { wrap: 'true', account: 'ops', array: '1-2', job_name: `${TAG}-e`, chdir: '/tmp' }, fleet.tokens.bob);
      seen.push({ status: res.status, ...(res.json.quota as object) });
      return res.status !== 409 || (res.json.quota as { reserved: number }).reserved === 0;
    }, 30_000, 200);
    for (const q of seen) expect(q).toMatchObject({ status: 409, scope: 'tenant', limit: 'max_jobs', request: 2 });
    for (const q of seen) expect((q.usage as number) + (q.reserved as number)).toBe(5);
    expect(seen.at(-1)).toMatchObject({ usage: 5, reserved: 0 });
    const tasks = (await queue()).filter((l) => l.includes(`${TAG}-d`));
    // Slurm shows its tasks as N_M, and those still pending as one record N_[a-b].
    expect(tasks.length).toBeGreaterThan(0);
    for (const l of tasks) expect(l).toMatch(new RegExp(`^${id}_(\\d+|\\[[\\d,-]+\\]) bob ops ${TAG}-d$`));
    expect(await queue()).not.toContainEqual(expect.stringContaining(`${TAG}-e`));
  });
});
