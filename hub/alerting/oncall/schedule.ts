// On-call schedules: a weekly rotation of users, handing off on a weekday at a wall-clock time
// in a time zone (09:00 Europe/Berlin stays 09:00 across both DST changes: the instants are
// 7 days apart except around a change, when they are 7 days -/+ 1 h), and overrides that put
// someone else on call for a time. Pure over an injected `now`; the time zone rules come from
// Intl (the ICU data of Node), no library.

export interface Override {
  user: string;
  /** Epoch ms, start inclusive, end exclusive. */
  start: number;
  end: number;
}

export interface WeeklyRotation {
  name: string;
  users: readonly string[];
  /** The hand-off: a weekday (0 = Sunday ... 6 = Saturday) and a local time "HH:MM". */
  handoffDay: number;
  handoffTime: string;
  /** IANA time zone, e.g. Europe/Berlin. */
  timeZone: string;
  /** A local date "YYYY-MM-DD" on or before the first hand-off: users[0] is on call from it. */
  startDate: string;
  overrides: readonly Override[];
}

export interface Handoff {
  at: number;
  from: string;
  to: string;
}

const DAY = 86_400_000;

/** The zone's offset from UTC (ms) at the instant `ms`. */
function offsetAt(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(ms);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a local wall-clock time happens in the zone. A time skipped by a spring-forward
 * (02:30 on the change day) is taken as the same time after the change (03:30); a repeated one
 * (fall back) as its first occurrence.
 */
export function localToInstant(localUtcFields: number, timeZone: string): number {
  // The offsets a day before and after: around a change they differ, elsewhere they agree.
  const before = localUtcFields - offsetAt(localUtcFields - DAY, timeZone);
  const after = localUtcFields - offsetAt(localUtcFields + DAY, timeZone);
  const valid = [before, after].filter((c) => offsetAt(c, timeZone) === localUtcFields - c);
  // Both valid: the same instant, or a repeated hour (its first occurrence). None: a skipped
  // hour, taken with the offset before the change (02:30 CET -> 03:30 CEST).
  return valid.length ? Math.min(...valid) : before;
}

export class Schedule {
  private readonly startLocal: number;
  private readonly minutes: number;

  constructor(readonly rotation: WeeklyRotation) {
    if (rotation.users.length === 0) throw new Error(`schedule ${rotation.name}: no users`);
    const m = /^(\d\d):(\d\d)$/.exec(rotation.handoffTime);
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new Error(`schedule ${rotation.name}: handoff time "${rotation.handoffTime}" is not HH:MM`);
    this.minutes = Number(m[1]) * 60 + Number(m[2]);
    const d = /^(\d{4})-(\d\d)-(\d\d)$/.exec(rotation.startDate);
    if (!d) throw new Error(`schedule ${rotation.name}: start "${rotation.startDate}" is not YYYY-MM-DD`);
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: rotation.timeZone });
    } catch {
      throw new Error(`schedule ${rotation.name}: unknown time zone "${rotation.timeZone}"`);
    }
    // The local date of the first hand-off: the first handoffDay on or after startDate.
    const start = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]));
    this.startLocal = start + ((rotation.handoffDay - new Date(start).getUTCDay() + 7) % 7) * DAY;
  }

  /** The instant of hand-off k (k = 0 is the first; users[k mod n] takes over then). */
  handoffAt(k: number): number {
    return localToInstant(this.startLocal + k * 7 * DAY + this.minutes * 60_000, this.rotation.timeZone);
  }

  /** Who the rotation puts on call at `now` (before the first hand-off: users[0]). */
  rotationUser(now: number): string {
    const users = this.rotation.users;
    let k = Math.floor((now - this.handoffAt(0)) / (7 * DAY));
    if (k < 0) return users[0];
    // The estimate may be one week off around a DST change: settle on the last hand-off <= now.
    while (k > 0 && this.handoffAt(k) > now) k--;
    while (this.handoffAt(k + 1) <= now) k++;
    return users[k % users.length];
  }

  /** Who is on call at `now`: an override covering now wins over the rotation. */
  onCall(now: number): string {
    const o = this.rotation.overrides.find((x) => x.start <= now && now < x.end);
    return o ? o.user : this.rotationUser(now);
  }

  /** The next `n` rotation hand-offs after `now`. */
  nextHandoffs(now: number, n = 4): Handoff[] {
    const users = this.rotation.users;
    // Hand-off k >= 1 passes from users[k-1] to users[k] (k = 0 is the rotation's start).
    let k = Math.max(1, Math.floor((now - this.handoffAt(0)) / (7 * DAY)) - 1);
    while (this.handoffAt(k) <= now) k++;
    const out: Handoff[] = [];
    for (let i = 0; i < n; i++, k++) out.push({ at: this.handoffAt(k), from: users[(k - 1 + users.length) % users.length], to: users[k % users.length] });
    return out;
  }
}
