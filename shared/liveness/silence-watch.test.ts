import { describe, expect, it } from 'vitest';
import { SilenceWatch } from './silence-watch.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('SilenceWatch', () => {
  it('calls a peer silent after the given beats without a message, checked every beat', () => {
    const c = clock();
    const w = new SilenceWatch(1000, 3, c.now);
    const verdicts: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      c.advance(1000);
      verdicts.push(w.silent());
    }
    expect(verdicts).toEqual([false, false, false, true]);
  });

  it('a message resets the count', () => {
    const c = clock();
    const w = new SilenceWatch(1000, 3, c.now);
    c.advance(1000);
    w.silent();
    c.advance(1000);
    w.silent();
    w.heard();
    c.advance(1000);
    expect(w.silent()).toBe(false);
    c.advance(1000);
    expect(w.silent()).toBe(false);
    c.advance(1000);
    expect(w.silent()).toBe(false);
    c.advance(1000);
    expect(w.silent()).toBe(true);
  });

  it('does not blame the peer for a stall of this process (its messages may be unread)', () => {
    const c = clock();
    const w = new SilenceWatch(1000, 3, c.now);
    c.advance(1000);
    expect(w.silent()).toBe(false);
    // The process was stuck for 20 s: the timer fires late, the verdict waits.
    c.advance(20_000);
    expect(w.silent()).toBe(false);
    w.heard(); // the reads that were waiting
    c.advance(1000);
    expect(w.silent()).toBe(false);
  });

  it('still finds a silent peer once this process runs normally again after a stall', () => {
    const c = clock();
    const w = new SilenceWatch(1000, 3, c.now);
    c.advance(20_000);
    expect(w.silent()).toBe(false);
    const verdicts: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      c.advance(1000);
      verdicts.push(w.silent());
    }
    expect(verdicts).toEqual([false, false, false, true]);
    expect(w.sinceHeard()).toBe(24_000);
  });
});
