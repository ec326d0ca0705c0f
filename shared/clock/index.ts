// Where the hub's and agent's core read the time. Components take a `Clock` in their deps so
// that tests can move time by hand instead of sleeping, and so that "what time is it" has one
// answer per process (wall-clock milliseconds, as Date.now()).
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The time as the API spells it (ISO 8601, UTC, milliseconds). */
export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}

/** A clock that moves only when a test says so. */
export class ManualClock implements Clock {
  constructor(private ms = Date.parse('2026-01-01T00:00:00.000Z')) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}
