// Quota enforcement with policy `slurm` against the real Slurm 22.05 (AccountingStorageEnforce=
// associations,limits,qos): the hub's leader writes the tenant's max_jobs as an association limit
// through the agent (sacctmgr), Slurm itself keeps alice's excess job pending, a limit someone
// set by hand on another tenant's account is left alone, and a limit the hub owns is repaired
// when changed. Then, with an injected clock and the agent's own sacctmgr code: a schedule
// switches the limit at its minute across the DST change, and Slurm refuses the excess submission
// (GrpSubmitJobs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SacctmgrAssociations } from '../agent/associations/index.js';
import { runSlurm } from '../agent/source/slurm-commands/index.js';
import { ManualClock } from '../shared/clock/index.js';
import { jobDelta, testJob } from '../shared/delta/testdata/fleet-fixtures.js';
import { silentLogger } from '../shared/logging/index.js';
import { SlurmLimitEnforcer } from '../hub/enforcement/index.js';
import { FleetState } from '../hub/fleet/index.js';
import type { LeaderContext } from '../hub/leader/index.js';
import { multiTenancyConfigSchema, Tenancy } from '../hub/tenancy/index.js';
import { startRealSlurmFleet, type RealSlurmFleet } from './harness/real-slurm-fleet.js';
import { waitFor } from './harness/wait.js';
import { ensureSlurm, sbatchAs, slurmCli, type SlurmEnv } from './harness/slurm.js';
import { assertBuilt } from './harness/sfleet-process.js';

const TAG = `sfslurm${process.pid}`;
let slurm: SlurmEnv;
let fleet: RealSlurmFleet | undefined;
const get = (path: string, token: string) => fleet!.call('GET', path, token);
const tokens = (name: string): string => fleet!.tokens[name];

/** `sacctmgr show assoc` of an account's own association: the limits as Slurm holds them. */
async function assoc(account: string): Promise<{ GrpJobs: string; GrpSubmit: string; GrpTRES: string }> {
  const out = await slurmCli(slurm, 'sacctmgr', ['-n', '-P', 'show', 'assoc', 'where', `cluster=${slurm.cluster}`, `account=${account}`, 'format=User,GrpJobs,GrpSubmit,GrpTRES']);
  const row = out.split('\n').map((l) => l.split('|')).find((f) => f[0] === '')!;
  return { GrpJobs: row[1], GrpSubmit: row[2], GrpTRES: row[3] };
}

const clearLimits = (account: string): Promise<string> =>
  slurmCli(slurm, 'sacctmgr', ['-i', 'modify', 'account', 'where', `name=${account}`, `cluster=${slurm.cluster}`, 'set', 'GrpJobs=-1', 'GrpSubmitJobs=-1', 'GrpTRES=cpu=-1,node=-1,mem=-1,gres/gpu=-1']);

/** This run's jobs in Slurm's queue: id -> state and reason. */
async function queue(): Promise<Map<number, string>> {
  const out = await slurmCli(slurm, 'squeue', ['-h', '-u', 'alice', '-o', '%i %j %T %r']);
  const rows = out.split('\n').filter((l) => l.includes(TAG)).map((l) => l.trim().split(/\s+/));
  return new Map(rows.map(([id, , state, reason]) => [Number(id), `${state} ${reason}`]));
}

async function cancelOurs(): Promise<void> {
  const ids = [...(await queue().catch(() => new Map<number, string>())).keys()].map(String);
  if (ids.length) await slurmCli(slurm, 'scancel', ids);
  await waitFor('our jobs gone from the queue', async () => (await queue()).size === 0, 20_000, 250);
}

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'alice']).catch(() => {});
  await waitFor('no jobs of alice in the queue', async () => (await slurmCli(slurm, 'squeue', ['-h', '-u', 'alice', '-o', '%i'])).trim() === '', 30_000, 250);
  await clearLimits('research');
  // A limit a person set on the ops account before the hub came.
  await clearLimits('ops');
  await slurmCli(slurm, 'sacctmgr', ['-i', 'modify', 'account', 'where', 'name=ops', `cluster=${slurm.cluster}`, 'set', 'GrpSubmitJobs=7']);
}, 150_000);

afterAll(async () => {
  await fleet?.stop();
  await cancelOurs();
  // Leave Slurm as found: no association limits.
  await clearLimits('research');
  await clearLimits('ops');
});

describe('quota enforcement: slurm, through the hub and the agent (real Slurm 22.05)', () => {
  beforeAll(async () => {
    fleet = await startRealSlurmFleet({
      name: 'qslurm',
      slurm,
      hub: {
        multi_tenancy: {
          enabled: true,
          enforcement_interval: '1s',
          operators: { users: ['op'] },
          tenants: {
            science: { clusters: [slurm.cluster], accounts: ['research'], users: ['alice'], resources: { max_jobs: 2, max_gpus: 3 }, enforcement: { policy: 'slurm', slurm: { max_jobs_as: 'GrpJobs' } } },
            ops: { clusters: [slurm.cluster], accounts: ['ops'], users: ['bob'], resources: { max_jobs: 4 }, enforcement: { policy: 'slurm' } },
          },
        },
      },
      agentEnv: { ...process.env, SLURM_CONF: slurm.cliEnv.SLURM_CONF, SFLEET_TEST_SLURM_JWT: slurm.jwt },
      tokens: ['op', 'alice', 'bob'],
    });
  }, 150_000);

  afterAll(async () => {
    await fleet?.stop();
    fleet = undefined;
    await cancelOurs();
  });

  it("writes max_jobs as GrpJobs, so Slurm keeps alice's third job pending; leaves a hand-set limit alone; repairs its own", async () => {
    await waitFor('GrpJobs=2 on research', async () => (await assoc('research')).GrpJobs === '2', 30_000, 250);
    expect(await assoc('research')).toEqual({ GrpJobs: '2', GrpSubmit: '', GrpTRES: 'gres/gpu=3' });
    // ops' GrpSubmitJobs=7 was a person's: the hub does not take it over (take_over is off).
    expect((await assoc('ops')).GrpSubmit).toBe('7');

    const args = (name: string): string[] => ['-A', 'research', '-p', 'debug', '-t', '5', '-J', `${TAG}-${name}`, '--wrap', 'sleep 300'];
    const j1 = await sbatchAs(slurm, 'alice', args('j1'));
    const j2 = await sbatchAs(slurm, 'alice', args('j2'));
    const j3 = await sbatchAs(slurm, 'alice', args('j3'));
    await waitFor('two running, the third pending on the association limit', async () => {
      const q = await queue();
      return q.get(j1) === 'RUNNING None' && q.get(j2) === 'RUNNING None' && q.get(j3) === 'PENDING AssocGrpJobsLimit';
    }, 30_000, 250);

    // Someone raises the hub's limit by hand: the hub puts it back.
    await slurmCli(slurm, 'sacctmgr', ['-i', 'modify', 'account', 'where', 'name=research', `cluster=${slurm.cluster}`, 'set', 'GrpJobs=5']);
    await waitFor('GrpJobs repaired to 2', async () => (await assoc('research')).GrpJobs === '2', 30_000, 250);

    // Each write is an event the tenant's member sees; the refusal on ops is bob's, not alice's.
    type Ev = { type: string; attributes: Record<string, string> };
    const seen = async (token: string): Promise<Ev[]> => (await get('/api/v1/events?type=quota_slurm_limit,quota_slurm_refused', token)).json.items as Ev[];
    // Slurm shows the repair as soon as sacctmgr ran; the hub records it once the agent's answer is back.
    await waitFor('the repair recorded', async () => (await seen(tokens('alice'))).some((e) => e.attributes.action === 'repair'), 15_000, 250);
    const alices = await seen(tokens('alice'));
    expect(alices.map((e) => `${e.type} ${e.attributes.action} ${e.attributes.account} ${e.attributes.limits}`).sort()).toEqual(
      ['quota_slurm_limit set research GrpJobs=2 GrpTRES:gres/gpu=3', 'quota_slurm_limit repair research GrpJobs=2'].sort(),
    );
    expect((await seen(tokens('bob'))).map((e) => `${e.type} ${e.attributes.account} ${e.attributes.limits}`)).toEqual(['quota_slurm_refused ops GrpSubmitJobs=4']);
    const audit = (await get('/api/v1/audit?limit=500', tokens('op'))).json.items as { action: string; resource: string; user: string; outcome: string }[];
    expect(audit.filter((a) => a.action === 'quota:slurm_limit').map((a) => `${a.resource} ${a.user} ${a.outcome}`).sort()).toEqual(
      [`association ${slurm.cluster}/research sfleet-quota success`, `association ${slurm.cluster}/research sfleet-quota success`, `association ${slurm.cluster}/ops sfleet-quota error`].sort(),
    );

    // `GET /api/v1/quotas` (sfleet quota) says what the policy wrote.
    const quotas = (await get('/api/v1/quotas', tokens('alice'))).json.items as { tenant: string; enforcement: unknown }[];
    expect(quotas).toEqual([
      expect.objectContaining({ tenant: 'science', enforcement: { policy: 'slurm', dry_run: false, held_jobs: 0, slurm_limits: [{ cluster: slurm.cluster, account: 'research', user: '', limits: { GrpJobs: '2', 'GrpTRES:gres/gpu': '3' } }] } }),
    ]);
  });
});

describe('quota enforcement: slurm, a schedule across the DST change (injected clock, real sacctmgr)', () => {
  it('switches GrpSubmitJobs at the configured minute, and Slurm refuses the submission past it', async () => {
    await clearLimits('research');
    const tenancy = new Tenancy(
      multiTenancyConfigSchema.parse({
        enabled: true,
        tenants: {
          science: {
            clusters: [slurm.cluster],
            accounts: ['research'],
            resources: { max_jobs: 2 },
            // From 22:00 Berlin for 8 h: on 27 March 2027 the clocks go forward at 02:00, so the night ends at 07:00 CEST = 05:00Z.
            schedules: [{ name: 'night', cron: '0 22 * * *', timezone: 'Europe/Berlin', duration: '8h', resources: { max_jobs: 1 } }],
            enforcement: { policy: 'slurm' },
          },
        },
      }),
    );
    const state = new FleetState();
    state.apply(jobDelta([testJob(1, { cluster: slurm.cluster })], { cluster: slurm.cluster, snapshot: true }));
    const sacctmgr = new SacctmgrAssociations({ run: (b, a, signal) => runSlurm(b, a, { env: slurm.cliEnv, timeoutMs: 30_000, maxOutputBytes: 1 << 24, signal }) });
    const clock = new ManualClock(Date.parse('2027-03-27T20:59:00Z'));
    const store = new Map<string, string>();
    const ctx: LeaderContext = { region: 'r', hubId: 'h', token: 1, signal: new AbortController().signal, assertLeading: () => {}, put: async (k, v) => void store.set(k, v), get: async (k) => store.get(k) };
    const enforcer = new SlurmLimitEnforcer({
      tenancy, state, clock, logger: silentLogger(),
      commands: { association: async (_c, req) => sacctmgr.handle(JSON.stringify(req)) },
      audit: { record: async () => undefined },
      events: { record: () => [] },
    });
    const limitAt = async (iso: string): Promise<string> => {
      clock.set(Date.parse(iso));
      await enforcer.tick(ctx);
      return (await assoc('research')).GrpSubmit;
    };
    expect(await limitAt('2027-03-27T20:59:00Z')).toBe('2');
    expect(await limitAt('2027-03-27T21:00:00Z')).toBe('1');
    const later = (name: string): string[] => ['-A', 'research', '-p', 'debug', '-t', '5', '-J', `${TAG}-${name}`, '--begin=now+3600', '--wrap', 'true'];
    await sbatchAs(slurm, 'alice', later('n1'));
    await expect(sbatchAs(slurm, 'alice', later('n2'))).rejects.toThrow(/Job violates accounting\/QOS policy \(job submit limit/);
    expect(await limitAt('2027-03-28T04:59:00Z')).toBe('1');
    expect(await limitAt('2027-03-28T05:00:00Z')).toBe('2');
    await sbatchAs(slurm, 'alice', later('n2'));
    expect((await queue()).size).toBe(2);
  });
});
