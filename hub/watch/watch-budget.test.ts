import { afterEach, describe, expect, it } from 'vitest';
import { TooManyWatchesError, WatchBudget, type WatchEndedError } from './watch-budget.js';

let budget: WatchBudget;
afterEach(() => budget?.close());

function watcher(name: string, ended: Record<string, string>, recheck: () => void = () => undefined) {
  return { lastEventId: () => `b-${name}`, recheck, end: (err: WatchEndedError) => (ended[name] = err.message) };
}

describe('watch budget', () => {
  it('ends a watcher whose backlog stays over its cap from one check to the next, then the one with the most queued when all hold too much', () => {
    budget = new WatchBudget({ perWatcher: 100, total: 150, perCaller: 8, recheckMs: 60_000, stallMs: 60_000 });
    const ended: Record<string, string> = {};
    const a = budget.open('u', watcher('a', ended));
    const b = budget.open('u', watcher('b', ended));
    const c = budget.open('u', watcher('c', ended));
    a.setQueued(101);
    // Over its cap, but not judged while a change is being queued: a watcher may drain a large one.
    expect(ended.a).toBeUndefined();
    budget.check();
    expect(ended.a).toBeUndefined();
    // It took nothing by the next check: ended, with where to resume.
    budget.check();
    expect(ended.a).toMatch(/read too slowly: 101 bytes queued for it, over 100 \(limits\.watch_buffer\), and its backlog did not shrink in 60000 ms \(limits\.watch_stall\); resume from event b-a/);
    b.setQueued(90);
    c.setQueued(70);
    expect(ended.b).toBeUndefined();
    budget.check();
    expect(ended.b).toMatch(/holds too much for slow watchers: 160 bytes, over 150 \(limits\.watch_buffer_total\), and this one had the most queued; resume from event b-b/);
    expect(ended.c).toBeUndefined();
    expect(budget.queuedTotal).toBe(70);
    c.close();
    expect(budget.queuedTotal).toBe(0);
    expect(budget.watchers).toBe(0);
  });

  it('keeps a reading watcher that got one change far over its cap while it drains, and ends it once it stops', () => {
    budget = new WatchBudget({ perWatcher: 100, total: 100_000, perCaller: 8, recheckMs: 60_000, stallMs: 60_000 });
    const ended: Record<string, string> = {};
    let backlog = 2_500;
    const reader = budget.open('r', { ...watcher('r', ended), backlog: () => backlog });
    const paused = budget.open('p', watcher('p', ended));
    reader.setQueued(backlog);
    paused.setQueued(2_500);
    budget.check();
    for (const left of [1_800, 900, 150]) {
      backlog = left;
      budget.check();
      expect(ended.r).toBeUndefined();
    }
    expect(ended.p).toMatch(/read too slowly: 2500 bytes queued/);
    // Under its cap, then another large change it does not read: ended at the second check after it.
    backlog = 60;
    budget.check();
    backlog = 3_000;
    budget.check();
    expect(ended.r).toBeUndefined();
    budget.check();
    expect(ended.r).toMatch(/read too slowly: 3000 bytes queued/);
  });

  it('refuses a caller over its watch cap and counts again once one closes', () => {
    budget = new WatchBudget({ perWatcher: 100, total: 1000, perCaller: 2, recheckMs: 60_000 });
    const ended: Record<string, string> = {};
    const first = budget.open('alice', watcher('1', ended));
    budget.open('alice', watcher('2', ended));
    expect(() => budget.open('alice', watcher('3', ended))).toThrow(TooManyWatchesError);
    budget.open('bob', watcher('4', ended));
    first.close();
    expect(() => budget.open('alice', watcher('5', ended))).not.toThrow();
  });

  it('ends the watches whose credential no longer holds, with why', async () => {
    budget = new WatchBudget({ perWatcher: 100, total: 1000, perCaller: 8, recheckMs: 60_000 });
    const ended: Record<string, string> = {};
    let revoked = false;
    budget.open('m', watcher('m', ended, () => {
      if (revoked) throw new Error('certificate 1f was revoked');
    }));
    budget.open('n', watcher('n', ended));
    await budget.recheckAll();
    expect(ended).toEqual({});
    revoked = true;
    await budget.recheckAll();
    expect(ended.m).toMatch(/no longer holds: certificate 1f was revoked/);
    expect(ended.n).toBeUndefined();
    expect(budget.watchers).toBe(1);
  });

  it('re-check requests during a pass make one more pass, which sees an end that came during the first', async () => {
    budget = new WatchBudget({ perWatcher: 100, total: 1000, perCaller: 8, recheckMs: 60_000 });
    const ended: Record<string, string> = {};
    let checks = 0;
    let revoked = false;
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    budget.open('m', watcher('m', ended, async () => {
      checks++;
      // The first pass read the session while it still held, then waits (a slow store).
      const gone = revoked;
      if (checks === 1) await gate;
      if (gone) throw new Error('session ended');
    }));
    const first = budget.recheckAll();
    // Ten logouts across the group while the first pass waits on the session store.
    revoked = true;
    const more = Array.from({ length: 10 }, () => budget.recheckAll());
    release();
    await Promise.all([first, ...more]);
    expect(checks).toBe(2);
    expect(ended.m).toMatch(/no longer holds: session ended/);
  });
});
