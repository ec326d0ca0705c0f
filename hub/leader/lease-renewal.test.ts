import { describe, expect, it } from 'vitest';
import { LeaseRenewal } from './lease-renewal.js';

function clocked(ttlMs: number): { renewal: LeaseRenewal; advance: (ms: number) => void; suspend: (ms: number) => void; stepWall: (ms: number) => void } {
  let t = 1_000;
  let wall = Date.parse('2026-12-07T12:00:00.000Z');
  const renewal = new LeaseRenewal(ttlMs, () => t, () => wall);
  return {
    renewal,
    advance: (ms) => void ((t += ms), (wall += ms)),
    // The host suspended: the monotonic clock stood still, the world's time went on.
    suspend: (ms) => void (wall += ms),
    stepWall: (ms) => void (wall += ms),
  };
}

describe('a leader dates its lease renewals by when the keep-alive was sent', () => {
  it('steps down at two thirds of the TTL after the last renewal, checked in time', () => {
    const { renewal, advance } = clocked(6_000);
    renewal.granted(renewal.now());
    expect(renewal.stepDownAfterMs).toBe(4_000);
    // The margin: a twentieth of the TTL (300 ms) here, more than two checks (100 ms).
    advance(3_699);
    expect(renewal.mustStepDown(50)).toBe(false);
    advance(1);
    expect(renewal.mustStepDown(50)).toBe(true);
  });

  it('with a short TTL the margin is two checks', () => {
    const { renewal, advance } = clocked(1_500);
    renewal.granted(renewal.now());
    expect(renewal.stepDownAfterMs).toBe(1_000);
    advance(899);
    expect(renewal.mustStepDown(50)).toBe(false);
    advance(1);
    expect(renewal.mustStepDown(50)).toBe(true);
  });

  it('an answer renews from its keep-alive\'s sending, not from its arrival', () => {
    const { renewal, advance } = clocked(6_000);
    renewal.granted(renewal.now());
    advance(2_000);
    renewal.fired();
    advance(1_500); // a slow answer
    renewal.answered();
    expect(renewal.silentMs()).toBe(1_500);
  });

  it('answers are matched to keep-alives in order: a late answer does not date the newer send', () => {
    const { renewal, advance } = clocked(6_000);
    renewal.granted(renewal.now());
    advance(2_000);
    renewal.fired(); // sent at +2 s, unanswered for now
    advance(2_000);
    renewal.fired(); // sent at +4 s
    advance(100);
    renewal.answered(); // the answer to the first
    expect(renewal.silentMs()).toBe(2_100);
    renewal.answered();
    expect(renewal.silentMs()).toBe(100);
  });

  it('a failed stream forgets what was in flight on it', () => {
    const { renewal, advance } = clocked(6_000);
    renewal.granted(renewal.now());
    advance(1_000);
    renewal.fired();
    renewal.streamFailed();
    advance(1_000);
    renewal.answered(); // nothing queued: no renewal credited
    expect(renewal.silentMs()).toBe(2_000);
  });

  it('asks for a rescue keep-alive once the stream\'s regular one is overdue', () => {
    const { renewal, advance } = clocked(6_000);
    renewal.granted(renewal.now());
    advance(2_000 + 500);
    expect(renewal.rescueDue()).toBe(false);
    advance(1);
    expect(renewal.rescueDue()).toBe(true);
    const sentAt = renewal.now();
    advance(300);
    renewal.renewed(sentAt);
    expect(renewal.silentMs()).toBe(300);
    expect(renewal.rescueDue()).toBe(false);
  });

  it('an older renewal never moves the mark back', () => {
    const { renewal, advance } = clocked(6_000);
    renewal.granted(renewal.now());
    const early = renewal.now();
    advance(1_000);
    renewal.renewed(renewal.now());
    renewal.renewed(early);
    expect(renewal.silentMs()).toBe(0);
  });

  it('a suspended host (the monotonic clock stood still) steps down when it resumes', () => {
    const { renewal, advance, suspend } = clocked(6_000);
    renewal.granted(renewal.now());
    advance(1_000);
    suspend(10_000);
    expect(renewal.mustStepDown(50)).toBe(true);
  });

  it('a wall clock stepped back does not stretch the term', () => {
    const { renewal, advance, stepWall } = clocked(6_000);
    renewal.granted(renewal.now());
    stepWall(-60_000);
    advance(3_700);
    expect(renewal.mustStepDown(50)).toBe(true);
  });
});
