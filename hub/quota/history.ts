// Usage history of every quota line (tenant, account and user limits), for the quotas page's
// chart and GET /api/v1/quotas/history. The leader samples the QuotaBook every interval (a
// singleton, so a hub group keeps one history); samples fold into coarser steps as they age:
// each sample (1 minute by default) for 3 hours, 15 minutes for 2 days, 1 hour for 30 days. A folded point keeps the
// highest usage of its step (a peak against a limit is what a chart of quotas is for) and the
// last limit. Bounded: at most MAX_SERIES lines (the least recently seen go first) of at most
// 180 + 192 + 720 points at the default interval. Kept in <data_dir>/quota-history.json (sealed with encryption at
// rest), written every few samples and at stop: a crash loses at most those minutes.
import { join } from 'node:path';
import type { Clock } from '../../shared/clock/index.js';
import { AtRest } from '../../shared/crypto/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { periodic, type Singleton } from '../leader/index.js';
import type { QuotaLine, TenantQuotas } from './quotas.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Each tier: the step its points stand for (the first: the sample interval), and how long they stay before folding into the next. */
const TIERS = [
  { step: 0, keep: 3 * HOUR },
  { step: 15 * MINUTE, keep: 48 * HOUR },
  { step: HOUR, keep: 30 * 24 * HOUR },
] as const;
export const MAX_SERIES = 2_000;
const PURPOSE = 'hub/quota-history';

/** [at (ms, the start of its step), highest usage in the step, the limit at its end]. */
type Point = [number, number, number];

interface Series {
  tenant: string;
  scope: QuotaLine['scope'];
  subject: string;
  limit: QuotaLine['limit'];
  seen: number;
  tiers: [Point[], Point[], Point[]];
}

export interface HistorySeries {
  tenant: string;
  scope: QuotaLine['scope'];
  subject: string;
  limit: QuotaLine['limit'];
  points: { at: string; usage: number; value: number }[];
}

export interface HistoryQuery {
  /** Only these tenants (the caller's tenant, or those it names). */
  tenants?: readonly string[];
  scope?: QuotaLine['scope'];
  subject?: string;
  limit?: QuotaLine['limit'];
  /** Points at or after this time (ms). */
  sinceMs: number;
}

export interface QuotaHistoryDeps {
  report: () => TenantQuotas[];
  clock: Clock;
  logger: Logger;
  /** Absent: memory only (tests). */
  dataDir?: string;
  atRest?: AtRest;
}

export interface QuotaHistoryOptions {
  sampleMs: number;
  /** Written after this many samples (and at stop). */
  saveEvery?: number;
}

const keyOf = (tenant: string, scope: string, subject: string, limit: string): string => `${tenant}\u0000${scope}\u0000${subject}\u0000${limit}`;

export class QuotaHistory {
  private readonly series = new Map<string, Series>();
  private readonly file?: string;
  private unsaved = 0;
  private readonly steps: readonly number[];

  constructor(
    private readonly deps: QuotaHistoryDeps,
    private readonly options: QuotaHistoryOptions,
  ) {
    if (deps.dataDir) this.file = join(deps.dataDir, 'quota-history.json');
    this.steps = TIERS.map((t, i) => (i === 0 ? options.sampleMs : t.step));
    this.load();
  }

  /** One sample of every quota line now. */
  sample(): void {
    const now = this.deps.clock.now();
    for (const t of this.deps.report()) {
      for (const l of t.limits) {
        const key = keyOf(t.tenant, l.scope, l.subject, l.limit);
        let s = this.series.get(key);
        if (!s) this.series.set(key, (s = { tenant: t.tenant, scope: l.scope, subject: l.subject, limit: l.limit, seen: now, tiers: [[], [], []] }));
        s.seen = now;
        put(s.tiers[0], this.steps[0], [now, l.usage, l.value]);
      }
    }
    this.age(now);
    if (++this.unsaved >= (this.options.saveEvery ?? 5)) this.save();
  }

  /** The leader's sampling (the first sample at once, then every sampleMs). */
  singleton(): Singleton {
    return periodic('quota-history', this.options.sampleMs, async () => {
      try {
        this.sample();
      } catch (err) {
        this.deps.logger.error({ err: (err as Error).message }, 'quota history: a sample failed; the next one tries again');
      }
    });
  }

  query(q: HistoryQuery): HistorySeries[] {
    const out: HistorySeries[] = [];
    for (const s of this.series.values()) {
      if (q.tenants && !q.tenants.includes(s.tenant)) continue;
      if ((q.scope && s.scope !== q.scope) || (q.subject !== undefined && s.subject !== q.subject) || (q.limit && s.limit !== q.limit)) continue;
      // The tiers do not overlap: the oldest (coarsest) first. A point is in when its step reaches since.
      const points: HistorySeries['points'] = [];
      for (const i of [2, 1, 0]) {
        for (const [at, usage, value] of s.tiers[i]) if (at + this.steps[i] > q.sinceMs) points.push({ at: new Date(at).toISOString(), usage, value });
      }
      if (points.length) out.push({ tenant: s.tenant, scope: s.scope, subject: s.subject, limit: s.limit, points });
    }
    return out.sort((a, b) => a.tenant.localeCompare(b.tenant) || a.scope.localeCompare(b.scope) || a.subject.localeCompare(b.subject) || a.limit.localeCompare(b.limit));
  }

  /** Writes the whole history (atomically; sealed when encryption at rest is on). */
  save(): void {
    this.unsaved = 0;
    if (!this.file) return;
    const body = JSON.stringify({ version: 1, series: [...this.series.values()] });
    try {
      (this.deps.atRest ?? AtRest.plaintext()).writeFile(this.file, PURPOSE, Buffer.from(body));
    } catch (err) {
      this.deps.logger.error({ file: this.file, err: (err as Error).message }, 'quota history: cannot write its file; kept in memory, written again with the next samples');
    }
  }

  /** Folds points past their tier's keep into the next tier; drops what leaves the last; caps the series. */
  private age(now: number): void {
    for (const [key, s] of this.series) {
      for (let i = 0; i < TIERS.length; i++) {
        const tier = s.tiers[i];
        let n = 0;
        while (n < tier.length && tier[n][0] < now - TIERS[i].keep) n++;
        if (!n) continue;
        const old = tier.splice(0, n);
        if (i + 1 < TIERS.length) for (const p of old) put(s.tiers[i + 1], this.steps[i + 1], p);
      }
      if (!s.tiers.some((t) => t.length)) this.series.delete(key);
    }
    if (this.series.size > MAX_SERIES) {
      const oldest = [...this.series.entries()].sort((a, b) => a[1].seen - b[1].seen).slice(0, this.series.size - MAX_SERIES);
      for (const [key] of oldest) this.series.delete(key);
    }
  }

  private load(): void {
    if (!this.file) return;
    try {
      const raw = (this.deps.atRest ?? AtRest.plaintext()).readFile(this.file, PURPOSE);
      if (!raw) return;
      const parsed = JSON.parse(raw.toString('utf8')) as { version?: number; series?: Series[] };
      for (const s of parsed.series ?? []) {
        if (!isSeries(s)) continue;
        this.series.set(keyOf(s.tenant, s.scope, s.subject, s.limit), s);
      }
    } catch (err) {
      // An unreadable history must not keep the hub from starting: it starts again (and says so).
      this.deps.logger.error({ file: this.file, err: (err as Error).message }, 'quota history: the saved history cannot be read; it starts again from now');
    }
  }
}

/** Adds a point to a tier: into the last point when in the same step (highest usage, last limit). */
function put(tier: Point[], step: number, [at, usage, value]: Point): void {
  const start = Math.floor(at / step) * step;
  const last = tier[tier.length - 1];
  if (last && last[0] === start) {
    last[1] = Math.max(last[1], usage);
    last[2] = value;
  } else if (!last || last[0] < start) tier.push([start, usage, value]);
}

function isSeries(s: unknown): s is Series {
  const v = s as Series;
  const points = (t: unknown): boolean => Array.isArray(t) && t.every((p) => Array.isArray(p) && p.length === 3 && p.every((x) => typeof x === 'number' && Number.isFinite(x)));
  return (
    typeof v === 'object' && v !== null && typeof v.tenant === 'string' && ['tenant', 'account', 'user'].includes(v.scope) && typeof v.subject === 'string' && typeof v.limit === 'string' && typeof v.seen === 'number' && Array.isArray(v.tiers) && v.tiers.length === 3 && v.tiers.every(points)
  );
}
