// Quota enforcement with policy `hold` against the real Slurm 22.05: jobs alice submits straight
// to Slurm with sbatch past her max_jobs are held by the hub (the leader of its region of one)
// through the agent, newest first, and released, oldest first, when usage drops; a job a person
// held stays held. Each action is a fleet event and an audit record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealSlurmFleet, type RealSlurmFleet } from './harness/real-slurm-fleet.js';
import { waitFor } from './harness/wait.js';
import { ensureSlurm, sbatchAs, slurmCli, type SlurmEnv } from './harness/slurm.js';
import { assertBuilt } from './harness/sfleet-process.js';

const TAG = `sfhold${process.pid}`;
let slurm: SlurmEnv;
let fleet: RealSlurmFleet;
const get = (path: string, token: string) => fleet.call('GET', path, token);

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
  fleet = await startRealSlurmFleet({
    name: 'hold',
    slurm,
    hub: {
      multi_tenancy: {
        enabled: true,
        enforcement_interval: '1s',
        operators: { users: ['op'] },
        tenants: {
          science: { clusters: [slurm.cluster], accounts: ['research'], users: ['alice'], resources: { max_jobs: 20 }, user_resources: { alice: { max_jobs: 2 } }, enforcement: { policy: 'hold' } },
          ops: { clusters: [slurm.cluster], accounts: ['ops'], users: ['bob'] },
        },
      },
    },
    tokens: ['op', 'alice', 'bob'],
  });
}, 150_000);

afterAll(async () => {
  const ids = [...(await reasons().catch(() => new Map<number, string>())).keys()].map(String);
  if (ids.length) await slurmCli(slurm, 'scancel', ids);
  await waitFor('our jobs gone from the queue', async () => (await reasons()).size === 0, 20_000, 250);
  await fleet?.stop();
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
    const events = (await get('/api/v1/events?type=quota_hold,quota_release', fleet.tokens.alice)).json.items as { type: string; attributes: Record<string, string> }[];
    // The holds may come in one pass or two (as sbatch returns): their order is not the point; the releases' is.
    const said = events.map((e) => `${e.type} ${e.attributes.job_id}`);
    expect(said.slice(0, 2).sort()).toEqual([`quota_hold ${a2}`, `quota_hold ${a3}`].sort());
    expect(said.slice(2)).toEqual([`quota_release ${a2}`, `quota_release ${a3}`]);
    expect(events[0].attributes).toMatchObject({ tenant: 'science', account: 'research', user: 'alice', scope: 'user', subject: 'alice', limit: 'max_jobs', value: '2', dry_run: 'false' });
    expect((await get('/api/v1/events?type=quota_hold,quota_release', fleet.tokens.bob)).json.items).toEqual([]);
    const audit = (await get('/api/v1/audit?limit=500', fleet.tokens.op)).json.items as { action: string; resource: string; user: string; outcome: string }[];
    const recorded = audit.filter((a) => a.action.startsWith('quota:')).map((a) => `${a.action} ${a.resource} ${a.user} ${a.outcome}`);
    expect(recorded.slice(0, 2).sort()).toEqual([`quota:hold job ${slurm.cluster}/${a2} sfleet-quota success`, `quota:hold job ${slurm.cluster}/${a3} sfleet-quota success`].sort());
    expect(recorded.slice(2)).toEqual([`quota:release job ${slurm.cluster}/${a2} sfleet-quota success`, `quota:release job ${slurm.cluster}/${a3} sfleet-quota success`]);
  });
});
