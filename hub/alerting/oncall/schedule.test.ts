import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock/index.js';
import { localToInstant, Schedule, type WeeklyRotation } from './schedule.js';

const Z = (iso: string) => Date.parse(iso);
const BERLIN: WeeklyRotation = { name: 'hpc', users: ['ana', 'ben', 'cem'], handoffDay: 1, handoffTime: '09:00', timeZone: 'Europe/Berlin', startDate: '2026-03-16', overrides: [] };

describe('on-call schedule: weekly rotation, hand-off 09:00 Europe/Berlin', () => {
  it('hands off at 09:00 local right across the spring-forward (29 March 2026): 08:00Z before, 07:00Z after', () => {
    const s = new Schedule(BERLIN);
    const clock = new ManualClock(Z('2026-03-23T07:59:59Z'));
    expect(s.onCall(clock.now())).toBe('ana'); // 08:59:59 CET, Monday 23 March
    clock.set(Z('2026-03-23T08:00:00Z'));
    expect(s.onCall(clock.now())).toBe('ben');
    clock.set(Z('2026-03-30T06:59:59Z')); // 08:59:59 CEST, Monday 30 March
    expect(s.onCall(clock.now())).toBe('ben');
    clock.set(Z('2026-03-30T07:00:00Z'));
    expect(s.onCall(clock.now())).toBe('cem');
    expect(s.nextHandoffs(Z('2026-03-20T12:00:00Z')).map((h) => [new Date(h.at).toISOString(), h.from, h.to])).toEqual([
      ['2026-03-23T08:00:00.000Z', 'ana', 'ben'],
      ['2026-03-30T07:00:00.000Z', 'ben', 'cem'],
      ['2026-04-06T07:00:00.000Z', 'cem', 'ana'],
      ['2026-04-13T07:00:00.000Z', 'ana', 'ben'],
    ]);
  });

  it('and across the fall-back (25 October 2026): 07:00Z before, 08:00Z after', () => {
    const s = new Schedule(BERLIN);
    expect(s.nextHandoffs(Z('2026-10-15T00:00:00Z'), 3).map((h) => new Date(h.at).toISOString())).toEqual(['2026-10-19T07:00:00.000Z', '2026-10-26T08:00:00.000Z', '2026-11-02T08:00:00.000Z']);
    const before = s.onCall(Z('2026-10-26T07:59:59Z'));
    const after = s.onCall(Z('2026-10-26T08:00:00Z'));
    expect(after).not.toBe(before);
    expect(s.onCall(Z('2026-10-26T07:00:00Z'))).toBe(before); // 08:00 CET: still the old week
  });

  it('a hand-off on the change day itself, and inside the skipped and repeated hours', () => {
    const sunday = new Schedule({ ...BERLIN, handoffDay: 0, handoffTime: '02:30' });
    // 29 March 02:30 does not exist in Berlin: taken as 03:30 CEST (01:30Z).
    expect(sunday.nextHandoffs(Z('2026-03-28T00:00:00Z'), 1)[0].at).toBe(Z('2026-03-29T01:30:00Z'));
    // 25 October 02:30 happens twice: the first (CEST, 00:30Z).
    expect(sunday.nextHandoffs(Z('2026-10-24T00:00:00Z'), 1)[0].at).toBe(Z('2026-10-25T00:30:00Z'));
    expect(localToInstant(Date.UTC(2026, 6, 1, 9, 0), 'America/New_York')).toBe(Z('2026-07-01T13:00:00Z'));
  });

  it('an override puts someone else on call for its time only', () => {
    const s = new Schedule({ ...BERLIN, overrides: [{ user: 'dora', start: Z('2026-03-24T18:00:00Z'), end: Z('2026-03-25T06:00:00Z') }] });
    expect(s.onCall(Z('2026-03-24T17:59:59Z'))).toBe('ben');
    expect(s.onCall(Z('2026-03-24T18:00:00Z'))).toBe('dora');
    expect(s.onCall(Z('2026-03-25T06:00:00Z'))).toBe('ben');
  });

  it('refuses a bad schedule with a clear message', () => {
    expect(() => new Schedule({ ...BERLIN, timeZone: 'Europe/Atlantis' })).toThrow('unknown time zone "Europe/Atlantis"');
    expect(() => new Schedule({ ...BERLIN, handoffTime: '9am' })).toThrow('is not HH:MM');
    expect(() => new Schedule({ ...BERLIN, users: [] })).toThrow('no users');
  });
});
