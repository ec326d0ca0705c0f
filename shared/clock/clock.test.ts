import { describe, expect, it } from 'vitest';
import { isoNow, ManualClock, systemClock } from './index.js';

describe('Clock', () => {
  it('the system clock reads wall-clock milliseconds', () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('a manual clock moves only when told, and isoNow spells it in UTC', () => {
    const clock = new ManualClock(Date.parse('2026-03-01T12:00:00.000Z'));
    expect(isoNow(clock)).toBe('2026-03-01T12:00:00.000Z');
    clock.advance(1_500);
    expect(isoNow(clock)).toBe('2026-03-01T12:00:01.500Z');
    clock.set(0);
    expect(clock.now()).toBe(0);
  });
});
