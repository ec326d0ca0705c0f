// A schedule as alerting.schedules writes it (weekday names, ISO override times) checked and
// turned into a Schedule. Shaped structurally here, so the config module can use the checks
// without a circle.
import { Schedule } from './schedule.js';

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

export interface ScheduleInput {
  users: readonly string[];
  handoff: { day: string; time: string };
  time_zone: string;
  start: string;
  overrides: readonly { user: string; start: string; end: string }[];
}

export function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Problems the schema cannot see: an unknown zone, an override that ends before it starts or overlaps another. */
export function scheduleProblems(s: ScheduleInput): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  if (!validTimeZone(s.time_zone)) out.push({ path: ['time_zone'], message: `unknown time zone "${s.time_zone}"; expected an IANA name such as Europe/Berlin` });
  const spans = s.overrides.map((o, i) => ({ i, start: Date.parse(o.start), end: Date.parse(o.end) }));
  for (const o of spans) if (!(o.end > o.start)) out.push({ path: ['overrides', o.i, 'end'], message: 'an override ends after it starts' });
  const sorted = spans.filter((o) => o.end > o.start).sort((a, b) => a.start - b.start);
  for (let k = 1; k < sorted.length; k++) {
    const [a, b] = [sorted[k - 1], sorted[k]];
    if (b.start < a.end) out.push({ path: ['overrides', Math.max(a.i, b.i)], message: `overlaps override ${Math.min(a.i, b.i)} (${s.overrides[a.i].start} to ${s.overrides[a.i].end}): who is on call would be ambiguous` });
  }
  return out;
}

export function scheduleFromConfig(name: string, s: ScheduleInput): Schedule {
  return new Schedule({
    name,
    users: s.users,
    handoffDay: WEEKDAYS.indexOf(s.handoff.day),
    handoffTime: s.handoff.time,
    timeZone: s.time_zone,
    startDate: s.start,
    overrides: s.overrides.map((o) => ({ user: o.user, start: Date.parse(o.start), end: Date.parse(o.end) })),
  });
}
