import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from '../../shared/clock/index.js';
import { parseConfigText } from '../../shared/config/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import type { AssociationLimits, AssociationRequest, AssociationRow } from '../../shared/associations/index.js';
import type { AuditEvent } from '../audit/index.js';
import { AgentNotConnectedError } from '../commands/index.js';
import { FleetState } from '../fleet/index.js';
import type { LeaderContext } from '../leader/index.js';
import { multiTenancyConfigSchema, Tenancy } from '../tenancy/index.js';
import { SlurmLimitEnforcer } from './slurm-limits.js';
import { splitByShares } from './slurm-plan.js';

const load = (text: string) => parseConfigText(z.object({ multi_tenancy: multiTenancyConfigSchema }).strict(), text, 'hub.yaml').multi_tenancy;

const config = (opts: { takeOver?: boolean; dryRun?: boolean; scienceMax?: number } = {}) => `multi_tenancy:
  enabled: true
  tenants:
    science:
      clusters: [c1, c2]
      accounts: [research]
      resources: { max_jobs: ${opts.scienceMax ?? 8}, max_cpus: 40 }
      user_resources: { alice: { max_jobs: 3 } }
      schedules:
        - { name: nights, cron: "0 22 * * *", timezone: Europe/Berlin, duration: 8h, resources: { max_jobs: 16 } }
      enforcement:
        policy: slurm
        dry_run: ${opts.dryRun ?? false}
        slurm: { max_jobs_as: GrpJobs, shares: { c1: 3, c2: 1 } }
    ops:
      clusters: [c1]
      accounts: [ops]
      resources: { max_jobs: 4 }
      enforcement: { policy: slurm, slurm: { take_over: ${opts.takeOver ?? false} } }
`;

/** sacctmgr's associations, per cluster, with its merge-and-clear semantics. */
class FakeSlurmdbd {
  readonly tables = new Map<string, AssociationRow[]>([
    ['c1', [{ account: 'research', user: '', limits: {} }, { account: 'research', user: 'alice', limits: {} }, { account: 'ops', user: '', limits: { GrpSubmitJobs: '7' } }]],
    ['c2', [{ account: 'research', user: '', limits: {} }, { account: 'research', user: 'alice', limits: {} }]],
  ]);
  readonly writes: string[] = [];
  down = false;

  row(cluster: string, account: string, user = ''): AssociationLimits {
    return this.tables.get(cluster)!.find((r) => r.account === account && r.user === user)!.limits;
  }

  async association(cluster: string, request: AssociationRequest): Promise<AssociationRow[]> {
    if (this.down) throw new AgentNotConnectedError(`no agent of cluster ${cluster} is connected to this hub`);
    const table = this.tables.get(cluster)!;
    if (request.op === 'set') {
      const row = table.find((r) => r.account === request.account && r.user === request.user)!;
      for (const [k, v] of Object.entries(request.set)) {
        if (v === '-1') delete row.limits[k as keyof AssociationLimits];
        else row.limits[k as keyof AssociationLimits] = v;
      }
      this.writes.push(`${cluster} ${request.account}/${request.user} ${Object.entries(request.set).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    return structuredClone(table);
  }
}

function setup(text = config()) {
  const state = new FleetState();
  for (const [i, c] of ['c1', 'c2'].entries()) state.apply(jobDelta([testJob(1, { cluster: c })], { cluster: c, snapshot: true, seq: i + 1 }));
  const clock = new ManualClock(Date.parse('2027-03-27T12:00:00Z'));
  const dbd = new FakeSlurmdbd();
  const audits: AuditEvent[] = [];
  const events: { type: string; attributes: Record<string, string> }[] = [];
  const store = new Map<string, string>();
  const ctx: LeaderContext = {
    region: 'r1', hubId: 'h1', token: 1, signal: new AbortController().signal,
    assertLeading: () => {},
    put: async (k, v) => void store.set(k, v),
    get: async (k) => store.get(k),
  };
  const make = (t: string, region?: string) =>
    new SlurmLimitEnforcer({
      tenancy: new Tenancy(load(t), region),
      state,
      commands: { association: (c, r) => dbd.association(c, r) },
      audit: { record: async (e) => void audits.push(e) },
      events: { record: (_c, es) => (events.push(...es.map((e) => ({ type: e.type, attributes: e.attributes }))), []) },
      clock,
      logger: silentLogger(),
    });
  return { state, clock, dbd, audits, events, ctx, store, make, enforcer: make(text) };
}

describe('quota enforcement: slurm (association limits)', () => {
  it("writes the tenant's limits split by share, the user's on her association, and leaves a hand-set limit alone, reporting it once", async () => {
    const s = setup();
    await s.enforcer.tick(s.ctx);
    // max_jobs 8 split 3:1 -> 6 on c1, 2 on c2; max_cpus 40 -> 30 and 10; alice's 3 -> 2 and 1 (rounded so the parts add up).
    expect(s.dbd.row('c1', 'research')).toEqual({ GrpJobs: '6', 'GrpTRES:cpu': '30' });
    expect(s.dbd.row('c2', 'research')).toEqual({ GrpJobs: '2', 'GrpTRES:cpu': '10' });
    expect(s.dbd.row('c1', 'research', 'alice')).toEqual({ MaxJobs: '2' });
    expect(s.dbd.row('c2', 'research', 'alice')).toEqual({ MaxJobs: '1' });
    // ops' GrpSubmitJobs=7 was set by a person: not taken over.
    expect(s.dbd.row('c1', 'ops')).toEqual({ GrpSubmitJobs: '7' });
    expect(s.events.filter((e) => e.type === 'quota_slurm_refused')).toEqual([
      { type: 'quota_slurm_refused', attributes: expect.objectContaining({ tenant: 'ops', account: 'ops', action: 'refuse', limits: 'GrpSubmitJobs=4' }) },
    ]);
    expect(s.audits.map((a) => `${a.action} ${a.resource} ${a.outcome}`)).toContain('quota:slurm_limit association c1/research success');
    expect(s.audits.find((a) => a.resource === 'association c1/ops')?.reason).toMatch(/left hand-set limits alone .* GrpSubmitJobs=4 on account ops/);

    // Nothing changed: nothing written, nothing reported again.
    const [writes, audits] = [s.dbd.writes.length, s.audits.length];
    await s.enforcer.tick(s.ctx);
    expect(s.dbd.writes.length).toBe(writes);
    expect(s.audits.length).toBe(audits);
  });

  it('repairs a limit it owns that someone changed, follows a schedule switch across the DST change, and takes over only when told', async () => {
    const s = setup();
    await s.enforcer.tick(s.ctx);
    s.dbd.row('c1', 'research').GrpJobs = '50';
    await s.enforcer.tick(s.ctx);
    expect(s.dbd.row('c1', 'research').GrpJobs).toBe('6');
    expect(s.events.filter((e) => e.attributes.action === 'repair').map((e) => e.attributes.limits)).toEqual(['GrpJobs=6']);

    // Nights from 22:00 Berlin (CET, 21:00Z) on 27 March 2027; the clocks go forward at 02:00 that night, and the 8 h end at 05:00Z = 07:00 CEST.
    s.clock.set(Date.parse('2027-03-27T20:59:00Z'));
    await s.enforcer.tick(s.ctx);
    expect(s.dbd.row('c1', 'research').GrpJobs).toBe('6');
    s.clock.set(Date.parse('2027-03-27T21:00:00Z'));
    await s.enforcer.tick(s.ctx);
    expect([s.dbd.row('c1', 'research').GrpJobs, s.dbd.row('c2', 'research').GrpJobs]).toEqual(['12', '4']);
    s.clock.set(Date.parse('2027-03-28T04:59:00Z'));
    await s.enforcer.tick(s.ctx);
    expect(s.dbd.row('c1', 'research').GrpJobs).toBe('12');
    s.clock.set(Date.parse('2027-03-28T05:00:00Z'));
    await s.enforcer.tick(s.ctx);
    expect(s.dbd.row('c1', 'research').GrpJobs).toBe('6');

    // take_over: the hand-set limit becomes the hub's, and is reported as taken over.
    const taking = s.make(config({ takeOver: true }));
    await taking.tick(s.ctx);
    expect(s.dbd.row('c1', 'ops')).toEqual({ GrpSubmitJobs: '4' });
    expect(s.events.filter((e) => e.attributes.action === 'take_over').map((e) => e.attributes.account)).toEqual(['ops']);
    expect(taking.status()).toContainEqual({ cluster: 'c1', account: 'ops', user: '', tenant: 'ops', limits: { GrpSubmitJobs: '4' } });
  });

  it('clears only the limits it wrote when a limit or the policy goes, and never one a person changed since', async () => {
    const s = setup();
    await s.enforcer.tick(s.ctx);
    s.dbd.row('c2', 'research')['GrpTRES:cpu'] = '99'; // a person's edit after the hub's write
    const without = config().replace('policy: slurm\n        dry_run', 'policy: alert\n        dry_run');
    await s.make(without).tick(s.ctx);
    expect(s.dbd.row('c1', 'research')).toEqual({});
    expect(s.dbd.row('c1', 'research', 'alice')).toEqual({});
    expect(s.dbd.row('c2', 'research')).toEqual({ 'GrpTRES:cpu': '99' });
    expect(s.dbd.row('c1', 'ops')).toEqual({ GrpSubmitJobs: '7' });
    expect(JSON.parse(s.store.get('quota-slurm-limits')!)).toEqual([]);
  });

  it('dry run writes nothing and reports once; an unreachable agent is reported and tried again', async () => {
    const dry = setup(config({ dryRun: true }));
    await dry.enforcer.tick(dry.ctx);
    await dry.enforcer.tick(dry.ctx);
    expect(dry.dbd.writes.filter((w) => w.includes('research'))).toEqual([]);
    const reported = dry.events.filter((e) => e.attributes.tenant === 'science');
    expect(reported.map((e) => e.attributes.dry_run)).toEqual(['true', 'true', 'true', 'true']);

    const s = setup();
    s.dbd.down = true;
    await s.enforcer.tick(s.ctx);
    expect(s.dbd.writes).toEqual([]);
    s.dbd.down = false;
    await s.enforcer.tick(s.ctx);
    expect(s.dbd.row('c1', 'research').GrpJobs).toBe('6');
  });

  it('splits so the parts add up, and config refuses a tenant-wide slurm limit without one association to carry it', () => {
    expect([...splitByShares(10, ['b', 'a', 'c'], {})]).toEqual([['a', 4], ['b', 3], ['c', 3]]);
    expect([...splitByShares(1, ['a', 'b'], { b: 2 })]).toEqual([['a', 0], ['b', 1]]);
    expect(() => load(config().replace('accounts: [research]', 'accounts: [research, "lab-*"]'))).toThrow(/hub\.yaml:\d+: multi_tenancy\.tenants\.science\.enforcement\.slurm\.account: policy slurm writes the tenant's limits on one association/s);
  });

  it('a region-qualified cluster glob (r1/c1 on the r1 hub) is enforced like its bare name; another region\'s is not', async () => {
    const s = setup();
    const only = (glob: string) => `multi_tenancy:
  enabled: true
  tenants:
    science:
      clusters: [${glob}]
      accounts: [research]
      resources: { max_jobs: 5 }
      enforcement: { policy: slurm }
`;
    await s.make(only('r1/c1'), 'r1').tick(s.ctx);
    expect(s.dbd.row('c1', 'research')).toEqual({ GrpSubmitJobs: '5' });
    const other = setup();
    await other.make(only('r2/c1'), 'r1').tick(other.ctx);
    expect(other.dbd.writes).toEqual([]);
  });

});
