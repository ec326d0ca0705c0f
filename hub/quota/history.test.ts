import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { AtRest } from '../../shared/crypto/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { QuotaHistory } from './history.js';
import type { TenantQuotas } from './quotas.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const MIN = 60_000;
const HOUR = 60 * MIN;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Two tenants; physics' job usage is whatever `jobs` says at the sample. */
function fleet() {
  const now = { jobs: 0, limit: 40 };
  const report = (): TenantQuotas[] => [
    { tenant: 'physics', schedule: { active: null, next_switch_at: null }, enforcement: { policy: 'alert', dry_run: false, held_jobs: 0, slurm_limits: [] }, limits: [
      { scope: 'tenant', subject: 'physics', limit: 'max_jobs', value: now.limit, usage: now.jobs, over: now.jobs > now.limit },
      { scope: 'user', subject: 'alice', limit: 'max_jobs', value: 5, usage: 1, over: false },
    ] },
    { tenant: 'chemistry', schedule: { active: null, next_switch_at: null }, enforcement: { policy: 'alert', dry_run: false, held_jobs: 0, slurm_limits: [] }, limits: [{ scope: 'tenant', subject: 'chemistry', limit: 'max_cpus', value: 64, usage: 8, over: false }] },
  ];
  return { now, report };
}

const usages = (h: QuotaHistory, since: number) => h.query({ tenants: ['physics'], scope: 'tenant', sinceMs: since })[0]?.points ?? [];

describe('quota history', () => {
  it('keeps each sample for 3 hours, then the peak of each 15 minutes, then of each hour; nothing after 30 days', () => {
    const clock = new ManualClock(Date.parse('2026-03-01T00:00:00Z'));
    const f = fleet();
    const h = new QuotaHistory({ report: f.report, clock, logger }, { sampleMs: MIN });
    const start = clock.now();
    // 4 hours of samples: usage climbs 0, 1, 2, ... one job a minute.
    for (let i = 0; i < 240; i++) {
      f.now.jobs = i;
      h.sample();
      clock.advance(MIN);
    }
    const points = usages(h, start);
    // The first hour went into 15-minute steps holding their peak; the last 3 hours are every sample.
    expect(points.slice(0, 4).map((p) => [p.at, p.usage])).toEqual([
      ['2026-03-01T00:00:00.000Z', 14],
      ['2026-03-01T00:15:00.000Z', 29],
      ['2026-03-01T00:30:00.000Z', 44],
      ['2026-03-01T00:45:00.000Z', 58],
    ]);
    // The sample at 00:59 is exactly 3 hours old at the last one (03:59): still kept.
    const minutes = points.slice(4);
    expect(minutes).toHaveLength(181);
    expect(minutes.every((p, i) => p.usage === 59 + i && p.value === 40)).toBe(true);
    // since: only the points whose step reaches it.
    expect(usages(h, start + 3.5 * HOUR)).toHaveLength(30);
    expect(usages(h, start + 20 * MIN).map((p) => p.at)[0]).toBe('2026-03-01T00:15:00.000Z');

    // Three days later, with an hourly sample: the first hours are hourly peaks, the limit the step's last.
    f.now.limit = 80;
    for (let i = 0; i < 72; i++) {
      h.sample();
      clock.advance(HOUR);
    }
    const later = usages(h, start);
    expect(later[0]).toEqual({ at: '2026-03-01T00:00:00.000Z', usage: 59, value: 40 });
    expect(later[1]).toEqual({ at: '2026-03-01T01:00:00.000Z', usage: 119, value: 40 });
    expect(later.at(-1)?.value).toBe(80);
    // Bounded: a month on, the first day is gone; a line no longer reported goes when its points do.
    for (let i = 0; i < 31 * 24; i++) {
      h.sample();
      clock.advance(HOUR);
    }
    expect(Date.parse(usages(h, 0)[0].at)).toBeGreaterThanOrEqual(clock.now() - 30 * 24 * HOUR - HOUR);
    expect(usages(h, 0).length).toBeLessThanOrEqual(180 + 192 + 721);
  });

  it('filters by tenant, scope, subject and limit; a tenant sees its own series only', () => {
    const clock = new ManualClock();
    const f = fleet();
    const h = new QuotaHistory({ report: f.report, clock, logger }, { sampleMs: MIN });
    h.sample();
    const key = (s: { tenant: string; scope: string; subject: string; limit: string }) => `${s.tenant}/${s.scope}/${s.subject}/${s.limit}`;
    expect(h.query({ sinceMs: 0 }).map(key)).toEqual(['chemistry/tenant/chemistry/max_cpus', 'physics/tenant/physics/max_jobs', 'physics/user/alice/max_jobs']);
    expect(h.query({ tenants: ['chemistry'], sinceMs: 0 }).map(key)).toEqual(['chemistry/tenant/chemistry/max_cpus']);
    expect(h.query({ tenants: [], sinceMs: 0 })).toEqual([]);
    expect(h.query({ scope: 'user', subject: 'alice', limit: 'max_jobs', sinceMs: 0 }).map(key)).toEqual(['physics/user/alice/max_jobs']);
  });

  it('survives a restart from the data directory (sealed with encryption at rest), and an unreadable file starts it again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfleet-quota-history-'));
    dirs.push(dir);
    const keyring = join(dir, 'keyring.json');
    const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: keyring } });
    const clock = new ManualClock();
    const f = fleet();
    const h = new QuotaHistory({ report: f.report, clock, logger, dataDir: dir, atRest }, { sampleMs: MIN, saveEvery: 2 });
    f.now.jobs = 7;
    h.sample();
    clock.advance(MIN);
    h.sample();
    // Written after two samples, sealed: the tenant names are not in the file.
    expect(readFileSync(join(dir, 'quota-history.json')).includes('physics')).toBe(false);
    const again = new QuotaHistory({ report: f.report, clock, logger, dataDir: dir, atRest }, { sampleMs: MIN });
    expect(usages(again, 0).map((p) => p.usage)).toEqual([7, 7]);
    writeFileSync(join(dir, 'quota-history.json'), '{"version":1,"series":[{"tenant":');
    expect(new QuotaHistory({ report: f.report, clock, logger, dataDir: dir }, { sampleMs: MIN }).query({ sinceMs: 0 })).toEqual([]);
  });
});
