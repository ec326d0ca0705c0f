// The leader's two Confluence jobs (hub/leader singletons, so a hub group writes each page once):
// - the usage report: at each firing of usage_report.schedule, the month before it;
// - incident pages: each alert of incident_pages.severities that resolved since the last one
//   written, oldest first.
// Progress is kept through the leader context (etcd in a group, the data directory standalone) and
// moves on only after Confluence accepted the page: a crash, a failover or a Confluence outage
// means the page is written (or, by title, rewritten) later, never skipped. A failure is logged,
// counted and audited once per kind until the next success, and retried at the next check.
import { Cron } from 'croner';
import type { Clock } from '../../shared/clock/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { AlertHistory } from '../alerting/history.js';
import type { AuditLog } from '../audit/index.js';
import type { UsageRow } from '../history/index.js';
import { periodic, type LeaderContext, type Singleton } from '../leader/index.js';
import { ConfluencePublishError, type ConfluenceClient } from './client.js';
import type { ConfluenceConfig } from './config.js';
import { incidentPage, incidentTitle, usagePage, usageTitle, type UsagePeriod } from './pages.js';

export type PageKind = 'usage' | 'incident';
export type PageOutcome = 'created' | 'updated' | 'failed';

export interface PublisherDeps {
  client: Pick<ConfluenceClient, 'publish'>;
  region: string;
  /** Usage of the runs that ended in [from, until), per account and per cluster; undefined: no job history. */
  usage?: (from: number, until: number) => Promise<{ byAccount: UsageRow[]; byCluster: UsageRow[] }>;
  /** Resolved alerts, newest first (the alerting history). */
  resolvedAlerts: () => AlertHistory[];
  audit: Pick<AuditLog, 'record'>;
  logger: Logger;
  clock: Clock;
  /** sfleet_confluence_pages_total */
  count?: (kind: PageKind, outcome: PageOutcome) => void;
}

const USAGE_KEY = 'confluence-usage-report';
const INCIDENT_KEY = 'confluence-incident-pages';
/** Refusals of one incident page (by Confluence, for the page itself) before it is given up. */
const GIVE_UP_AFTER = 3;

export class ConfluencePublisher {
  private readonly failing = new Set<PageKind>();
  /** Incident pages Confluence refused for themselves, by episode: tries so far. */
  private readonly refusals = new Map<string, number>();

  constructor(private readonly deps: PublisherDeps, private readonly config: ConfluenceConfig) {}

  /** The schedule is looked at every 30 s, or twice per firing for a schedule that fires more often. */
  singletons(incidentCheckMs = 10_000): Singleton[] {
    const out: Singleton[] = [];
    const { schedule, timezone } = this.config.usage_report;
    const cron = new Cron(schedule, { timezone, paused: true });
    const first = cron.nextRun()?.getTime();
    const second = first === undefined ? undefined : cron.nextRun(new Date(first))?.getTime();
    const checkMs = first === undefined || second === undefined ? 30_000 : Math.min(30_000, Math.max(500, (second - first) / 2));
    if (this.config.usage_report.enabled && this.deps.usage) out.push(periodic(USAGE_KEY, checkMs, async (ctx) => void (await this.usageTick(ctx))));
    if (this.config.incident_pages.enabled) out.push(periodic(INCIDENT_KEY, incidentCheckMs, async (ctx) => void (await this.incidentTick(ctx))));
    return out;
  }

  /** One look at the schedule: the newest firing due since the last report written, if within catch_up. */
  async usageTick(ctx: LeaderContext): Promise<'started' | 'not-due' | 'written' | 'failed' | 'missed'> {
    const { schedule, timezone, catch_up } = this.config.usage_report;
    const cron = new Cron(schedule, { timezone, paused: true });
    const now = this.deps.clock.now();
    const last = Date.parse((await ctx.get(USAGE_KEY)) ?? '');
    if (!Number.isFinite(last)) {
      // A new installation reports from the next firing on, not every month before it.
      await ctx.put(USAGE_KEY, new Date(now).toISOString());
      return 'started';
    }
    let due = cron.nextRun(new Date(last))?.getTime();
    if (due === undefined || due > now) return 'not-due';
    for (let n = cron.nextRun(new Date(due))?.getTime(); n !== undefined && n <= now; n = cron.nextRun(new Date(n))?.getTime()) due = n;
    if (now - due > catch_up) {
      ctx.assertLeading();
      await ctx.put(USAGE_KEY, new Date(due).toISOString());
      this.deps.logger.warn({ due: new Date(due).toISOString() }, 'confluence: the usage report due then was not written within catch_up; the next firing writes the next one');
      await this.audited('usage', `usage report due ${new Date(due).toISOString()}`, 'failed', 'missed: not written within catch_up');
      return 'missed';
    }
    const period = monthBefore(due, timezone);
    try {
      const { byAccount, byCluster } = await this.deps.usage!(period.from, period.until);
      ctx.assertLeading();
      const page = await this.deps.client.publish(usageTitle(this.deps.region, period.month), usagePage(this.deps.region, period, byAccount, byCluster, new Date(this.deps.clock.now()).toISOString()));
      await ctx.put(USAGE_KEY, new Date(due).toISOString());
      await this.succeeded('usage', page.created, `confluence page ${page.id} "${page.title}"`);
      return 'written';
    } catch (err) {
      await this.failed('usage', `usage report ${period.month}`, err as Error);
      return 'failed';
    }
  }

  /**
   * Pages for the resolved alerts that have none yet, oldest resolve first. Which episodes have a
   * page is kept by key (fingerprint and firing time), not as a time mark: a resolve can carry a
   * time in the past (an intake alert's endsAt), which a mark would skip.
   */
  async incidentTick(ctx: LeaderContext): Promise<{ written: number; failed: boolean }> {
    const done = parseDone(await ctx.get(INCIDENT_KEY));
    const severities = new Set(this.config.incident_pages.severities);
    const all = this.deps.resolvedAlerts();
    const wanted = all.filter((h) => h.resolved_at && severities.has(h.labels.severity ?? ''));
    if (!done) {
      // From now on: incidents resolved before Confluence was configured are not back-filled.
      await ctx.put(INCIDENT_KEY, JSON.stringify({ done: wanted.map(episode) }));
      return { written: 0, failed: false };
    }
    // Bounded by the alert history: an episode that left it cannot come back.
    const kept = new Set(wanted.map(episode));
    const have = new Set([...done].filter((k) => kept.has(k)));
    const todo = wanted.filter((h) => !have.has(episode(h))).sort((a, b) => a.resolved_at!.localeCompare(b.resolved_at!) || a.fingerprint.localeCompare(b.fingerprint));
    let written = 0;
    for (const h of todo) {
      const overlapping = wanted.filter((o) => o !== h && o.fired_at <= (h.resolved_at ?? '') && (o.resolved_at ?? '9') >= h.fired_at);
      try {
        ctx.assertLeading();
        const page = await this.deps.client.publish(incidentTitle(h), incidentPage(h, overlapping, new Date(this.deps.clock.now()).toISOString()));
        have.add(episode(h));
        await ctx.put(INCIDENT_KEY, JSON.stringify({ done: [...have] }));
        this.refusals.delete(episode(h));
        await this.succeeded('incident', page.created, `confluence page ${page.id} "${page.title}"`);
        written++;
      } catch (err) {
        const e = err as Error;
        // A page Confluence refuses for itself (400: its title, its content) is given up after a
        // few tries, so it does not hold every later one; anything else waits for the next check.
        const refusals = e instanceof ConfluencePublishError && e.refusesThePage ? (this.refusals.get(episode(h)) ?? 0) + 1 : 0;
        if (refusals >= GIVE_UP_AFTER) {
          this.refusals.delete(episode(h));
          have.add(episode(h));
          await ctx.put(INCIDENT_KEY, JSON.stringify({ done: [...have] }));
          this.deps.count?.('incident', 'failed');
          this.deps.logger.error({ fingerprint: h.fingerprint, err: e.message }, 'confluence: gave up the incident page Confluence refused; the next ones follow');
          await this.audited('incident', `incident page for ${h.fingerprint}`, 'failed', `given up after ${refusals} refusals: ${e.message}`);
          continue;
        }
        if (refusals) this.refusals.set(episode(h), refusals);
        await this.failed('incident', `incident page for ${h.fingerprint}`, e);
        return { written, failed: true };
      }
    }
    return { written, failed: false };
  }

  private async succeeded(kind: PageKind, created: boolean, resource: string): Promise<void> {
    this.deps.count?.(kind, created ? 'created' : 'updated');
    if (this.failing.delete(kind)) this.deps.logger.info({ kind }, 'confluence: writing pages works again');
    await this.audited(kind, resource, 'success');
  }

  private async failed(kind: PageKind, what: string, err: Error): Promise<void> {
    this.deps.count?.(kind, 'failed');
    if (this.failing.has(kind)) return;
    this.failing.add(kind);
    this.deps.logger.error({ kind, err: err.message }, `confluence: could not write the ${what}; retried at each check`);
    await this.audited(kind, what, 'failed', err.message);
  }

  private async audited(kind: PageKind, resource: string, outcome: 'success' | 'failed', reason?: string): Promise<void> {
    try {
      await this.deps.audit.record({ action: 'reports:publish', resource: `${kind}: ${resource}`, outcome, ...(reason ? { reason } : {}), transport: 'internal', user: null, required: true });
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'confluence: could not audit a page');
    }
  }
}

const episode = (h: AlertHistory): string => `${h.fingerprint}@${h.fired_at}`;

function parseDone(text: string | undefined): string[] | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as { done?: unknown };
    if (Array.isArray(v.done)) return v.done.filter((d): d is string => typeof d === 'string');
  } catch {
    // A damaged record starts again from now (undefined), as a new installation does.
  }
  return undefined;
}

/** The calendar month before the one `at` falls in, in `timezone`, as [from, until). */
export function monthBefore(at: number, timezone: string): UsagePeriod {
  const { year, month } = zonedYearMonth(at, timezone);
  const prev = month === 1 ? { year: year - 1, month: 12 } : { year, month: month - 1 };
  return {
    month: `${prev.year}-${String(prev.month).padStart(2, '0')}`,
    from: zonedMidnightFirst(prev.year, prev.month, timezone),
    until: zonedMidnightFirst(year, month, timezone),
    timezone,
  };
}

function zonedYearMonth(at: number, timezone: string): { year: number; month: number } {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit' }).formatToParts(new Date(at));
  return { year: Number(parts.find((p) => p.type === 'year')!.value), month: Number(parts.find((p) => p.type === 'month')!.value) };
}

/** Epoch ms of 00:00 on the 1st of year-month in timezone (the zone's offset at that moment). */
function zonedMidnightFirst(year: number, month: number, timezone: string): number {
  const guess = Date.UTC(year, month - 1, 1);
  const offset = (t: number): number => {
    const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - t;
  };
  const first = guess - offset(guess);
  return guess - offset(first);
}
