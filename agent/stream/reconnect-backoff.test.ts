// A hub that welcomes the agent and then ends the stream at once (its store refuses deltas, a
// flapping proxy) must not make the agent redial every few hundred ms with a log line each time.
import { describe, expect, it } from 'vitest';
import { ReconnectBackoff } from './reconnect-backoff.js';

function backoff(opts = {}) {
  const clock = { t: 0 };
  // random() = 1: the full delay, no jitter.
  const b = new ReconnectBackoff({ initialMs: 100, maxMs: 2_000, ...opts }, () => clock.t, () => 1);
  return { b, clock };
}

describe('ReconnectBackoff', () => {
  it('grows while streams die soon after their welcome, up to the maximum', () => {
    const { b, clock } = backoff();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      b.connected();
      clock.t += 120; // welcomed, then ended 120 ms later
      delays.push(b.next().delayMs);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_600, 2_000, 2_000]);
  });

  it('starts over only after a stream stayed up for the stable time (at least the maximum, 5 s here)', () => {
    const { b, clock } = backoff();
    for (let i = 0; i < 4; i++) b.next();
    b.connected();
    clock.t += 4_999;
    expect(b.next().delayMs).toBe(1_600);
    b.connected();
    clock.t += 5_000;
    expect(b.next()).toEqual({ delayMs: 100, sameHub: false });
    b.connected();
    clock.t += 31_000;
    expect(b.next()).toEqual({ delayMs: 0, sameHub: true });
  });

  it('logs the first failure, then at most once per interval with the count it did not log, and again at once after a stable stream', () => {
    const { b, clock } = backoff({ logIntervalMs: 60_000 });
    const logged: { at: number; suppressed: number }[] = [];
    for (let i = 0; i < 100; i++) {
      b.connected();
      clock.t += 1_000; // a failure per second for 100 s
      const { log, suppressed } = b.shouldLog();
      if (log) logged.push({ at: clock.t, suppressed });
      b.next();
    }
    expect(logged).toEqual([
      { at: 1_000, suppressed: 0 },
      { at: 61_000, suppressed: 59 },
    ]);
    b.connected();
    clock.t += 10_000; // a stable stream, then a failure: said at once
    b.next();
    expect(b.shouldLog()).toEqual({ log: true, suppressed: 0 });
  });
});
