// Usage history of every quota line (tenant, account and user limits), for the quotas page's
// chart and GET /api/v1/quotas/history. Only the leader samples the QuotaBook, every interval (a
// singleton, so a hub group keeps one history); samples fold into coarser steps as they age:
// each sample (1 minute by default) for 3 hours, 15 minutes for 2 days, 1 hour for 30 days. A folded point keeps the
// highest usage of its step (a peak against a limit is what a chart of quotas is for) and the
// last limit. Bounded: at most MAX_SERIES lines (the least recently seen go first) of at most
// 180 + 192 + 720 points at the default interval. Two homes:
//   standalone (or a group without Redis)  <data_dir>/quota-history.json (sealed with encryption at
//       rest), written by the leader every few samples and at stop: a crash loses those minutes;
//       a hub that does not sample never writes it.
//   hub group with Redis  one fenced document of the region, written by the leader after each
//       sample under its fencing token; the next leader continues it, and every hub answers
//       from it (re-read at most once a second), so any hub of the group shows the same history.
import { join } from 'node:path';
import type { Clock } from '../../shared/clock/index.js';
import { AtRest } from '../../shared/crypto/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { FencedOffError, sleep, type LeaderContext, type Singleton } from '../leader/index.js';
import type { FencedDocument } from '../replication/index.js';
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
  /** Absent: memory only (tests). With `shared`, only read (a first leader starts from it). */
  dataDir?: string;
  atRest?: AtRest;
  /** A hub group with Redis: the region's history, written only under the leader's fence. */
  shared?: FencedDocument;
}

export interface QuotaHistoryOptions {
  sampleMs: number;
  /** The file is written after this many samples (and at stop); the shared document after each. */
  saveEvery?: number;
}

/** How long a follower answers from its copy of the shared history before reading it again. */
const FOLLOW_MS = 1_000;

const keyOf = (tenant: string, scope: string, subject: string, limit: string): string => `${tenant}\u0000${scope}\u0000${subject}\u0000${limit}`;

export class QuotaHistory {
  private readonly series = new Map<string, Series>();
  private readonly file?: string;
  private unsaved = 0;
  private readonly steps: readonly number[];
  /** This hub's term as the sampling leader: the token its shared writes carry. */
  private term?: number;
  /** A follower's last read of the shared document (time, and the read under way). */
  private followed = { at: -Infinity, reading: undefined as Promise<void> | undefined };

  constructor(
    private readonly deps: QuotaHistoryDeps,
    private readonly options: QuotaHistoryOptions,
  ) {
    // With `shared` the file is only read: what this hub kept before its group had Redis.
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
    this.unsaved++;
    if (!this.deps.shared && this.unsaved >= (this.options.saveEvery ?? 5)) this.save();
  }

  /**
   * The leader's sampling (the first sample at once, then every sampleMs). In a hub group with
   * Redis the term starts from the region's history and writes it back after each sample.
   */
  singleton(): Singleton {
    return {
      name: 'quota-history',
      run: async (ctx) => {
        if (this.deps.shared && !(await this.takeOver(ctx))) return;
        this.term = ctx.token;
        try {
          while (!ctx.signal.aborted) {
            try {
              this.sample();
            } catch (err) {
              this.deps.logger.error({ err: (err as Error).message }, 'quota history: a sample failed; the next one tries again');
            }
            if (this.deps.shared) await this.share(ctx.token);
            await sleep(this.options.sampleMs, ctx.signal);
          }
        } finally {
          this.term = undefined;
          this.followed.at = -Infinity;
          // The end of a term on its own file: what was sampled since the last write.
          if (!this.deps.shared && this.unsaved) this.save();
        }
      },
    };
  }

  /** The answer of GET /api/v1/quotas/history: a follower of a hub group reads the region's history first. */
  async answer(q: HistoryQuery): Promise<HistorySeries[]> {
    if (this.deps.shared && this.term === undefined) await this.follow();
    return this.query(q);
  }

  /** At stop: the file, when this hub sampled since it was last written (a hub that never led writes nothing). */
  close(): void {
    if (!this.deps.shared && this.unsaved) this.save();
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

  /** The start of a term: the region's history, as the last leader left it (retried until read, or the term ends). */
  private async takeOver(ctx: LeaderContext): Promise<boolean> {
    for (;;) {
      try {
        const text = await this.deps.shared!.get();
        // None written yet: this hub's own (its file from before the group had Redis, if any) starts it.
        if (text === undefined) return true;
        try {
          this.restore(text);
        } catch (err) {
          // A damaged history is replaced, not retried forever: the chart is not worth a stuck leader.
          this.series.clear();
          this.deps.logger.error({ err: (err as Error).message }, 'quota history: the region\'s history is damaged; this leader starts it again');
        }
        return true;
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message }, 'quota history: cannot read the region\'s history yet; retrying');
        await sleep(1_000, ctx.signal);
        if (ctx.signal.aborted) return false;
      }
    }
  }

  /** The leader's write of the region's history; refused (FencedOffError, ending the term) once a newer leader wrote. */
  private async share(token: number): Promise<void> {
    try {
      await this.deps.shared!.put(token, this.body());
      this.unsaved = 0;
    } catch (err) {
      if (err instanceof FencedOffError || (err as { code?: string }).code === 'SF_LEADER_FENCED') throw err;
      this.deps.logger.error({ err: (err as Error).message }, 'quota history: cannot write the region\'s history; written again after the next sample');
    }
  }

  /** A follower's copy of the region's history, read again when older than FOLLOW_MS (one read at a time). */
  private async follow(): Promise<void> {
    if (this.deps.clock.now() - this.followed.at < FOLLOW_MS) return;
    this.followed.reading ??= (async () => {
      try {
        const text = await this.deps.shared!.get();
        if (this.term !== undefined) return;
        if (text === undefined) this.series.clear();
        else this.restore(text);
        this.followed.at = this.deps.clock.now();
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message }, 'quota history: cannot read the region\'s history; answering from the last copy');
      } finally {
        this.followed.reading = undefined;
      }
    })();
    await this.followed.reading;
  }

  private body(): string {
    return JSON.stringify({ version: 1, series: [...this.series.values()] });
  }

  /** Replaces the series with those of a stored history (damaged entries are left out; a damaged text throws). */
  private restore(text: string): void {
    const parsed = JSON.parse(text) as { version?: number; series?: Series[] };
    this.series.clear();
    for (const s of parsed.series ?? []) {
      if (!isSeries(s)) continue;
      this.series.set(keyOf(s.tenant, s.scope, s.subject, s.limit), s);
    }
  }

  /** Writes the whole history (atomically; sealed when encryption at rest is on). */
  save(): void {
    this.unsaved = 0;
    if (!this.file || this.deps.shared) return;
    try {
      (this.deps.atRest ?? AtRest.plaintext()).writeFile(this.file, PURPOSE, Buffer.from(this.body()));
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
      this.restore(raw.toString('utf8'));
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
