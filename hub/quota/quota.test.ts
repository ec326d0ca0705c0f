import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from '../../shared/clock/index.js';
import { parseConfigText } from '../../shared/config/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { FleetState } from '../fleet/index.js';
import { multiTenancyConfigSchema, Tenancy } from '../tenancy/index.js';
import { QuotaBook } from './quotas.js';
import { scheduleAt } from './schedule.js';
import { arrayTaskCount, tresOf } from './usage.js';

const load = (text: string) => parseConfigText(z.object({ multi_tenancy: multiTenancyConfigSchema }).strict(), text, 'hub.yaml').multi_tenancy;

const CONFIG = `multi_tenancy:
  enabled: true
  tenants:
    research:
      clusters: [c1, c2]
      accounts: [research]
      resources: { max_jobs: 10, max_nodes: 2, max_gpus: 4, max_memory: 8GiB }
      account_resources: { research: { max_cpus: 8 } }
      user_resources: { "*": { max_jobs: 3 } }
      schedules:
        - { name: nights, cron: "0 22 * * *", timezone: Europe/Berlin, duration: 8h, resources: { max_jobs: 100 } }
    ops:
      clusters: [c1]
      accounts: [ops]
`;

describe('usage from the fleet state', () => {
  it('counts array tasks one by one, distinct nodes, CPUs, GPUs and memory of running jobs', () => {
    expect(arrayTaskCount('1-1000%4')).toBe(1000);
    expect(arrayTaskCount('1,3,5-7')).toBe(5);
    expect(arrayTaskCount('0-10:2')).toBe(6);
    expect(tresOf('cpu=2,mem=4G,node=1,billing=2,gres/gpu=2')).toEqual({ gpus: 2, memory: 4 * 1024 ** 3 });
    expect(tresOf('cpu=1,mem=500M')).toEqual({ gpus: 0, memory: 500 * 1024 ** 2 });

    const state = new FleetState();
    state.apply(
      jobDelta(
        [
          testJob(1, { cluster: 'c1', account: 'research', user: 'alice', state: 'RUNNING', nodes: ['n1', 'n2'], cpus: 4, tres: 'cpu=4,mem=2G,node=2,gres/gpu=2' }),
          testJob(2, { cluster: 'c1', account: 'research', user: 'alice', state: 'RUNNING', nodes: ['n2'], cpus: 2, tres: 'cpu=2,mem=1G,node=1' }),
          testJob(3, { cluster: 'c1', account: 'research', user: 'bob', state: 'PENDING', array_task_string: '0-9' }),
          testJob(4, { cluster: 'c1', account: 'ops', user: 'carol', state: 'RUNNING', nodes: ['n3'], cpus: 1 }),
          testJob(5, { cluster: 'c1', account: 'research', user: 'alice', state: 'COMPLETED' }),
        ],
        { cluster: 'c1', snapshot: true },
      ),
    );
    const book = new QuotaBook(new Tenancy(load(CONFIG)), state, new ManualClock(Date.parse('2026-06-01T12:00:00Z')));
    const [research, ops] = book.report();
    const line = (scope: string, subject: string, limit: string) => research.limits.find((l) => l.scope === scope && l.subject === subject && l.limit === limit);
    expect(research.tenant).toBe('research');
    expect(line('tenant', 'research', 'max_jobs')).toEqual({ scope: 'tenant', subject: 'research', limit: 'max_jobs', value: 10, usage: 12, over: true });
    expect(line('tenant', 'research', 'max_nodes')).toMatchObject({ value: 2, usage: 2, over: false });
    expect(line('tenant', 'research', 'max_gpus')).toMatchObject({ value: 4, usage: 2 });
    expect(line('tenant', 'research', 'max_memory')).toMatchObject({ usage: 3 * 1024 ** 3 });
    expect(line('account', 'research', 'max_cpus')).toMatchObject({ value: 8, usage: 6, over: false });
    expect(line('user', 'bob', 'max_jobs')).toMatchObject({ value: 3, usage: 10, over: true });
    expect(line('user', 'alice', 'max_jobs')).toMatchObject({ usage: 2, over: false });
    // ops has no limits: listed, nothing counted against research from ops' job.
    expect(ops).toEqual({ tenant: 'ops', schedule: { active: null, next_switch_at: null }, limits: [], enforcement: { policy: 'alert', dry_run: false, held_jobs: 0, slurm_limits: [] } });
  });
});

describe('dynamic quotas (injected clock)', () => {
  const t = load(CONFIG).tenants.research;
  const at = (iso: string) => scheduleAt(t.resources, t.schedules, Date.parse(iso));

  it('switches the limits at the configured minute in the time zone, and back after the duration', () => {
    // 22:00 in Berlin is 20:00 UTC in summer.
    expect(at('2026-06-01T19:59:59Z')).toMatchObject({ active: null, resources: { max_jobs: 10 }, next_switch_at: '2026-06-01T20:00:00.000Z' });
    expect(at('2026-06-01T20:00:00Z')).toMatchObject({ active: 'nights', resources: { max_jobs: 100, max_nodes: 2 }, next_switch_at: '2026-06-02T04:00:00.000Z' });
    expect(at('2026-06-02T04:00:00Z')).toMatchObject({ active: null, resources: { max_jobs: 10 } });
    const clock = new ManualClock(Date.parse('2026-06-01T19:59:00Z'));
    const book = new QuotaBook(new Tenancy(load(CONFIG)), new FleetState(), clock);
    expect(book.report(['research'])[0].limits.find((l) => l.limit === 'max_jobs')?.value).toBe(10);
    clock.advance(60_000);
    expect(book.report(['research'])[0]).toMatchObject({ schedule: { active: 'nights' }, limits: expect.arrayContaining([expect.objectContaining({ limit: 'max_jobs', value: 100 })]) });
  });

  it('across DST changes: 22:00 local both sides of the spring change, and an hour skipped or repeated fires once', () => {
    // Europe/Berlin goes to summer time on 2026-03-29: 22:00 is 21:00 UTC before, 20:00 UTC after.
    expect(at('2026-03-28T21:00:00Z').active).toBe('nights');
    expect(at('2026-03-28T20:59:00Z').active).toBeNull();
    expect(at('2026-03-29T20:00:00Z').active).toBe('nights');
    expect(at('2026-03-29T19:59:00Z').active).toBeNull();
    const gap = load(CONFIG.replace('"0 22 * * *"', '"30 2 * * *"').replace('duration: 8h', 'duration: 30m')).tenants.research;
    // 02:30 does not exist on 2026-03-29 in Berlin: the set comes into force once, right after the gap (03:30 CEST).
    expect(scheduleAt(gap.resources, gap.schedules, Date.parse('2026-03-29T01:30:00Z')).active).toBe('nights');
    expect(scheduleAt(gap.resources, gap.schedules, Date.parse('2026-03-29T01:29:00Z')).active).toBeNull();
    // 02:30 happens twice on 2026-10-25: in force after the first (00:30 UTC), not again after the second (01:30 UTC).
    expect(scheduleAt(gap.resources, gap.schedules, Date.parse('2026-10-25T00:30:00Z')).active).toBe('nights');
    expect(scheduleAt(gap.resources, gap.schedules, Date.parse('2026-10-25T01:30:00Z')).active).toBeNull();
  });

  it('a schedule in force without a break (each window reaches the next firing; daily for 25h, since the 25-hour day of a DST change leaves a gap at 24h) answers at once, with no switch ahead', () => {
    for (const [cron, duration] of [['"* * * * *"', '2m'], ['"* * * * *"', '1m'], ['"0 0 * * *"', '25h']]) {
      const s = load(CONFIG.replace('"0 22 * * *"', cron).replace('duration: 8h', `duration: ${duration}`)).tenants.research;
      expect(scheduleAt(s.resources, s.schedules, Date.parse('2026-06-01T12:00:30Z'))).toMatchObject({ active: 'nights', resources: { max_jobs: 100 }, next_switch_at: null });
    }
  });

  const refused: [string, string][] = [
    ['cron: "61 22 * * *"', 'hub.yaml:11: multi_tenancy.tenants.research.schedules.0.cron: invalid cron expression "61 22 * * *"'],
    ['timezone: Mars/Olympus', 'hub.yaml:11: multi_tenancy.tenants.research.schedules.0.timezone: unknown time zone "Mars/Olympus"'],
    ['duration: 10s', 'hub.yaml:11: multi_tenancy.tenants.research.schedules.0.duration: at least 1m'],
  ];
  for (const [change, message] of refused) {
    it(`refuses ${change} at load with file, line and key`, () => {
      const key = change.split(':')[0];
      const text = CONFIG.replace(new RegExp(`${key}: [^,]+,`), `${change},`);
      expect(() => load(text)).toThrow(message);
    });
  }

  it('refuses the same account glob with other limits in a tenant sharing a cluster', () => {
    const text = CONFIG + '      account_resources: { research: { max_cpus: 4 } }\n';
    expect(() => load(text)).toThrow('hub.yaml:15: multi_tenancy.tenants.ops.account_resources.research: "research" has other limits in tenant research, which shares a cluster with this one');
  });
});
