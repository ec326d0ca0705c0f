// Dynamic quotas: which schedule is in force at a time, and when that changes next. A schedule
// is in force from each firing of its cron (in its time zone) for its duration; croner finds the
// firings, so a skipped DST hour fires once right after the gap and a repeated hour fires once.
import { Cron } from 'croner';
import type { QuotaSchedule, ResourceLimits } from '../tenancy/index.js';

export interface ScheduleState {
  /** The schedule in force (the first in config order), or null: the base limits. */
  active: string | null;
  /** The tenant limits in force: the base with the schedule's limits over it. */
  resources: ResourceLimits;
  /** When the limits in force change next (ISO 8601), or null when nothing is scheduled. */
  next_switch_at: string | null;
}

/** Firings walked to find where a run of overlapping windows ends (a year of daily firings). */
const MAX_EXTENSIONS = 366;

const crons = new WeakMap<QuotaSchedule, Cron>();

function cronOf(s: QuotaSchedule): Cron {
  let c = crons.get(s);
  if (!c) {
    c = new Cron(s.cron, { timezone: s.timezone, paused: true });
    crons.set(s, c);
  }
  return c;
}

/** The firing that put `s` in force at `nowMs`, if it is in force. */
function firingInForce(s: QuotaSchedule, nowMs: number): number | undefined {
  // A firing in (now - duration, now] puts it in force. The search starts 3 hours earlier: asked
  // from inside a DST gap, croner skips the firing the gap moved to its end (02:30 -> 03:30).
  const cron = cronOf(s);
  const from = nowMs - s.duration;
  let next = cron.nextRun(new Date(from - 3 * 3_600_000))?.getTime();
  while (next !== undefined && next <= from) next = cron.nextRun(new Date(next))?.getTime();
  return next !== undefined && next <= nowMs ? next : undefined;
}

export function scheduleAt(base: ResourceLimits | undefined, schedules: readonly QuotaSchedule[], nowMs: number): ScheduleState {
  let active: QuotaSchedule | undefined;
  const switches: number[] = [];
  for (const s of schedules) {
    const fired = firingInForce(s, nowMs);
    if (fired !== undefined) {
      // Ends at fired + duration, unless a later firing inside the window extends it. A schedule
      // whose duration reaches its next firing (daily for 24h, every minute for 2m) never ends:
      // the walk stops after MAX_EXTENSIONS firings and reports no switch from it.
      let end: number | undefined = fired + s.duration;
      let steps = 0;
      for (let n = cronOf(s).nextRun(new Date(nowMs))?.getTime(); n !== undefined && end !== undefined && n <= end; n = cronOf(s).nextRun(new Date(n))?.getTime()) {
        end = ++steps > MAX_EXTENSIONS ? undefined : n + s.duration;
      }
      if (end !== undefined) switches.push(end);
      active ??= s;
    } else {
      const next = cronOf(s).nextRun(new Date(nowMs))?.getTime();
      if (next !== undefined) switches.push(next);
    }
  }
  const next = switches.length ? Math.min(...switches) : undefined;
  return { active: active?.name ?? null, resources: { ...base, ...active?.resources }, next_switch_at: next !== undefined ? new Date(next).toISOString() : null };
}
