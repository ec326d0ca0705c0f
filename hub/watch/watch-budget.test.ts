import { afterEach, describe, expect, it } from 'vitest';
import { TooManyWatchesError, WatchBudget, type WatchEndedError } from './watch-budget.js';

let budget: WatchBudget;
afterEach(() => budget?.close());

function watcher(name: string, ended: Record<string, string>, recheck: () => void = () => undefined) {
  return { lastEventId: () => `b-${name}`, recheck, end: (err: WatchEndedError) => (ended[name] = err.message) };
}

describe('watch budget', () => {
  it('ends a watcher over its own buffer, then the one with the most queued when all hold too much', () => {
    budget = new WatchBudget({ perWatcher: 100, total: 150, perCaller: 8, recheckMs: 60_000 });
    const ended: Record<string, string> = {};
    const a = budget.open('u', watcher('a', ended));
    const b = budget.open('u', watcher('b', ended));
    const c = budget.open('u', watcher('c', ended));
    a.setQueued(101);
    expect(ended.a).toMatch(/read too slowly.*resume from event b-a/);
    b.setQueued(90);
    c.setQueued(70);
    expect(ended.b).toMatch(/watch_buffer_total.*resume from event b-b/);
    expect(ended.c).toBeUndefined();
    expect(budget.queuedTotal).toBe(70);
    c.close();
    expect(budget.queuedTotal).toBe(0);
    expect(budget.watchers).toBe(0);
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
});
