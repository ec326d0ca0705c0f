import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Job } from '../../shared/model/index.js';
import { ManualClock } from '../../shared/clock/index.js';
import { parseConfigText } from '../../shared/config/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import type { AuditEvent } from '../audit/index.js';
import { AgentNotConnectedError } from '../commands/index.js';
import { FleetState } from '../fleet/index.js';
import type { LeaderContext } from '../leader/index.js';
import { RowFilter } from '../policy/index.js';
import { multiTenancyConfigSchema, Tenancy } from '../tenancy/index.js';
import { QuotaEnforcer } from './enforcer.js';
import { planHolds } from './hold-plan.js';

const load = (text: string) => parseConfigText(z.object({ multi_tenancy: multiTenancyConfigSchema }).strict(), text, 'hub.yaml').multi_tenancy;

const config = (policy: string, dryRun = false) => `multi_tenancy:
  enabled: true
  tenants:
    science:
      clusters: [c1]
      accounts: [research]
      resources: { max_jobs: 1 }
      user_resources: { alice: { max_jobs: 2 } }
      schedules:
        - { name: nights, cron: "0 22 * * *", timezone: UTC, duration: 8h, resources: { max_jobs: 10 } }
      enforcement: { policy: ${policy}, dry_run: ${dryRun} }
    ops:
      clusters: [c1]
      accounts: [ops]
      resources: { max_jobs: 0 }
`;

const t = (minute: number): string => new Date(Date.parse('2026-06-01T10:00:00Z') + minute * 60_000).toISOString();
const HELD = { state: 'PENDING', state_reason: 'JobHeldAdmin', priority: 0 };

function setup(policy = 'hold', dryRun = false) {
  const state = new FleetState();
  let seq = 0;
  const show = (jobs: Job[]): void => void state.apply(jobDelta(jobs, { cluster: 'c1', snapshot: true, seq: ++seq }));
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00Z'));
  const sent: string[] = [];
  const audits: AuditEvent[] = [];
  const events: { type: string; attributes: Record<string, string> }[] = [];
  let refuse = false;
  const store = new Map<string, string>();
  const ctx: LeaderContext = {
    region: 'r1', hubId: 'h1', token: 1, signal: new AbortController().signal,
    assertLeading: () => {},
    put: async (k, v) => void store.set(k, v),
    get: async (k) => store.get(k),
  };
  const enforcer = new QuotaEnforcer(
    {
      tenancy: new Tenancy(load(config(policy, dryRun))),
      state,
      clock,
      logger: silentLogger(),
      commands: {
        run: async (cluster, name, target) => {
          if (refuse) throw new AgentNotConnectedError(`no agent of cluster ${cluster} is connected to this hub`);
          sent.push(`${name} ${target}`);
          return { id: '', ok: true, message: '', code: '', via: 'rest', history: [], job_id: '' };
        },
      },
      audit: {
        record: async (e) => {
          audits.push(e);
          return undefined;
        },
      },
      events: { record: (_c, es) => (events.push(...es.map((e) => ({ type: e.type, attributes: e.attributes }))), []) },
    },
    { intervalMs: 1_000 },
  );
  return { show, clock, sent, audits, events, ctx, enforcer, refuse: (on: boolean) => (refuse = on) };
}

describe('quota enforcement: hold', () => {
  it("holds the newest pending jobs past max_jobs, never touches a person's hold, and releases only its own, oldest first, as usage falls", async () => {
    const s = setup();
    const running = testJob(1, { cluster: 'c1', state: 'RUNNING', submit_time: t(1) });
    const person = testJob(2, { cluster: 'c1', submit_time: t(2), ...HELD });
    const a3 = testJob(3, { cluster: 'c1', submit_time: t(3) });
    const a4 = testJob(4, { cluster: 'c1', submit_time: t(4) });
    const theirs = testJob(9, { cluster: 'c1', account: 'ops', user: 'carol', submit_time: t(5) });
    s.show([running, person, a3, a4, theirs]);
    await s.enforcer.tick(s.ctx);
    // The tenant's max_jobs is 1 and alice's 2: with the person-held job counted, both new jobs are past it.
    expect(s.sent).toEqual(['hold 4', 'hold 3']);
    expect(s.audits.map((a) => [a.action, a.resource, a.outcome])).toEqual([['quota:hold', 'job c1/4', 'success'], ['quota:hold', 'job c1/3', 'success']]);
    expect(s.audits[0].reason).toMatch(/tenant science: tenant science has 4 jobs, max_jobs is 1/);
    expect(s.events[0]).toMatchObject({ type: 'quota_hold', attributes: { tenant: 'science', account: 'research', job_id: '4', dry_run: 'false' } });

    // Slurm shows the holds; nothing more to do.
    s.show([running, person, { ...a3, ...HELD }, { ...a4, ...HELD }, theirs]);
    await s.enforcer.tick(s.ctx);
    expect(s.sent).toHaveLength(2);

    // The night schedule raises the tenant limit to 10 (alice's own stays 2): one job fits again, the oldest of its own.
    s.clock.set(Date.parse('2026-06-01T22:00:00Z'));
    s.show([person, { ...a3, ...HELD }, { ...a4, ...HELD }, theirs]);
    await s.enforcer.tick(s.ctx);
    expect(s.sent).toEqual(['hold 4', 'hold 3', 'release 3']);
    s.show([person, { ...a3, state: 'RUNNING', state_reason: 'None', priority: 1 }, { ...a4, ...HELD }, theirs]);
    await s.enforcer.tick(s.ctx);
    expect(s.sent).toHaveLength(3);

    // The person's job leaves: alice has room for job 4. The person's hold was never released.
    s.show([{ ...a3, state: 'RUNNING' }, { ...a4, ...HELD }, theirs]);
    await s.enforcer.tick(s.ctx);
    expect(s.sent).toEqual(['hold 4', 'hold 3', 'release 3', 'release 4']);
    expect(s.sent.filter((c) => c.endsWith(' 2') || c.endsWith(' 9'))).toEqual([]);
    expect(s.audits.at(-1)).toMatchObject({ action: 'quota:release', resource: 'job c1/4', user: 'sfleet-quota', transport: 'internal', tenant: { cluster: 'c1', account: 'research' } });
  });

  it('does not release a job a person held after its own hold was lifted by hand', async () => {
    const s = setup();
    s.show([testJob(1, { cluster: 'c1', state: 'RUNNING', submit_time: t(1) }), testJob(2, { cluster: 'c1', submit_time: t(2) })]);
    await s.enforcer.tick(s.ctx);
    expect(s.sent).toEqual(['hold 2']);
    // Someone released it by hand and it ran; later a person holds it... it is not ours any more.
    s.show([testJob(2, { cluster: 'c1', state: 'RUNNING', submit_time: t(2) })]);
    await s.enforcer.tick(s.ctx);
    s.show([testJob(2, { cluster: 'c1', submit_time: t(2), ...HELD })]);
    await s.enforcer.tick(s.ctx);
    expect(s.sent).toEqual(['hold 2']);
  });

  it('dry run reports what it would do once, holds nothing', async () => {
    const s = setup('hold', true);
    s.show([testJob(1, { cluster: 'c1', state: 'RUNNING', submit_time: t(1) }), testJob(2, { cluster: 'c1', submit_time: t(2) })]);
    expect((await s.enforcer.tick(s.ctx)).map((a) => `${a.kind} ${a.job.id}`)).toEqual(['hold 2']);
    await s.enforcer.tick(s.ctx);
    expect(s.sent).toEqual([]);
    expect(s.audits).toHaveLength(1);
    expect(s.audits[0]).toMatchObject({ action: 'quota:hold', outcome: 'success' });
    expect(s.audits[0].reason).toMatch(/^dry run: would hold/);
    expect(s.events).toEqual([expect.objectContaining({ attributes: expect.objectContaining({ dry_run: 'true' }) })]);
  });

  it('policy alert acts on nothing; a failed hold is audited once as an error and retried', async () => {
    const alert = setup('alert');
    alert.show([testJob(1, { cluster: 'c1', state: 'RUNNING' }), testJob(2, { cluster: 'c1' })]);
    await alert.enforcer.tick(alert.ctx);
    expect(alert.sent).toEqual([]);

    const s = setup();
    s.refuse(true);
    s.show([testJob(1, { cluster: 'c1', state: 'RUNNING', submit_time: t(1) }), testJob(2, { cluster: 'c1', submit_time: t(2) })]);
    await s.enforcer.tick(s.ctx);
    await s.enforcer.tick(s.ctx);
    expect(s.audits).toHaveLength(1);
    expect(s.audits[0]).toMatchObject({ action: 'quota:hold', outcome: 'error' });
    expect(s.audits[0].reason).toMatch(/no agent of cluster c1/);
    s.refuse(false);
    await s.enforcer.tick(s.ctx);
    expect(s.sent).toEqual(['hold 2']);
  });

  it("counts a pending array's tasks one by one", async () => {
    const s = setup();
    s.clock.set(Date.parse('2026-06-01T23:00:00Z')); // nights: tenant 10, alice 2
    s.show([testJob(1, { cluster: 'c1', user: 'bob', submit_time: t(1), array_task_string: '1-12' })]);
    await s.enforcer.tick(s.ctx);
    expect(s.sent).toEqual(['hold 1']);
    expect(s.audits[0].reason).toMatch(/has 12 jobs, max_jobs is 10/);
  });

  it("quota events name their account: another tenant of the cluster does not see them, controller events stay visible", () => {
    const ops = RowFilter.of([{ cluster: ['c1'], account: ['ops'] }]);
    expect(ops.allows('event', { cluster: 'c1', type: 'quota_hold', attributes: { account: 'research' } })).toBe(false);
    expect(ops.allows('event', { cluster: 'c1', type: 'quota_hold', attributes: { account: 'ops' } })).toBe(true);
    expect(ops.allows('event', { cluster: 'c1', type: 'controller_failover', attributes: {} })).toBe(true);
  });
});

describe('quota enforcement: hold, by resource (pending jobs count what they ask for, as if they ran)', () => {
  const tenant = (limits: string) =>
    load(`multi_tenancy:
  enabled: true
  tenants:
    science:
      clusters: [c1]
      accounts: [research]
${limits}
      enforcement: { policy: hold }
`).tenants.science;
  const now = Date.parse('2026-06-01T12:00:00Z');
  const plan = (limits: string, jobs: Job[], ours: string[] = []) =>
    planHolds('science', tenant(limits), jobs, new Set(ours), now).map((a) => `${a.kind} ${a.job.id}${a.limit ? ` ${a.limit.limit} ${a.limit.usage}/${a.limit.value}` : ''}`);
  const running = (id: number, fields: Partial<Job>) => testJob(id, { cluster: 'c1', state: 'RUNNING', submit_time: t(id), ...fields });
  const pending = (id: number, fields: Partial<Job>) => testJob(id, { cluster: 'c1', submit_time: t(id), ...fields });

  it('CPUs: holds the newest pending jobs until the rest fit, and releases its own when CPUs free up', () => {
    const limits = '      user_resources: { alice: { max_cpus: 8 } }';
    const jobs = [running(1, { cpus: 4 }), pending(2, { cpus: 2 }), pending(3, { cpus: 4 })];
    expect(plan(limits, jobs)).toEqual(['hold 3 max_cpus 10/8']);
    // Job 1 ends: 2 + 4 fit in 8.
    expect(plan(limits, [jobs[1], { ...jobs[2], ...HELD }], ['c1/3'])).toEqual(['release 3 max_cpus 6/8']);
    // Another user's CPUs do not count against alice's limit.
    expect(plan(limits, [running(1, { cpus: 8, user: 'bob' }), pending(2, { cpus: 2 })])).toEqual([]);
  });

  it('nodes: a node shared by running jobs counts once; a pending job counts the nodes it asks for', () => {
    const limits = '      resources: { max_nodes: 2 }';
    const jobs = [running(1, { nodes: ['n1'] }), running(2, { nodes: ['n1'] }), pending(3, { node_count: 1 }), pending(4, { node_count: 2 })];
    expect(plan(limits, jobs)).toEqual(['hold 4 max_nodes 4/2']);
  });

  it('GPUs: from the TRES; a job asking for none is never held for GPUs', () => {
    const limits = '      account_resources: { research: { max_gpus: 2 } }';
    const jobs = [running(1, { tres: 'cpu=1,mem=500M,node=1,billing=1,gres/gpu=2' }), pending(2, { tres: 'cpu=1,node=1' }), pending(3, { tres: 'cpu=1,gres/gpu=1' })];
    expect(plan(limits, jobs)).toEqual(['hold 3 max_gpus 3/2']);
  });

  it('memory: from the TRES, or the memory a pending job asks for', () => {
    const limits = '      user_resources: { alice: { max_memory: 4GiB } }';
    const jobs = [running(1, { tres: 'cpu=1,mem=3G' }), pending(2, { tres: 'cpu=1,mem=512M' }), pending(3, { tres: '', memory_mb: 2048 })];
    expect(plan(limits, jobs)).toEqual([`hold 3 max_memory ${5.5 * 1024 ** 3}/${4 * 1024 ** 3}`]);
  });
});
