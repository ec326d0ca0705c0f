import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Authenticator, TokenStore } from '../policy/index.js';
import { credentialExpiry, TooManyWatchesError, WatchBudget, type WatchEndedError } from './watch-budget.js';

let budget: WatchBudget;
afterEach(() => {
  budget?.close();
  vi.useRealTimers();
});

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

  it("ends a watch when its session expires, not at the next re-check (ten minutes away here); a closed watch's timer is gone", async () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-07T10:00:00Z') });
    budget = new WatchBudget({ perWatcher: 100, total: 1_000, perCaller: 8, recheckMs: 600_000, stallMs: 600_000 });
    const ended: Record<string, string> = {};
    let rechecks = 0;
    const expiresAt = Date.now() + 3_000;
    budget.open('alice', { ...watcher('a', ended, () => void rechecks++), expiresAt });
    const closed = budget.open('alice', { ...watcher('b', ended), expiresAt });
    const later = budget.open('bob', { ...watcher('c', ended), expiresAt: Date.now() + 30 * 86_400_000 });
    closed.close();
    await vi.advanceTimersByTimeAsync(2_999);
    expect(ended.a).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(ended.a).toMatch(/credential or permission no longer holds: the session expired at 2026-12-07T10:00:03\.000Z; log in again/);
    expect(rechecks).toBe(0);
    expect(ended.b).toBeUndefined();
    expect(budget.stats.ended_credential).toBe(1);
    // An expiry past setTimeout's 24.8-day limit is waited for in steps, not fired at once.
    expect(later.open).toBe(true);
    await vi.advanceTimersByTimeAsync(29 * 86_400_000);
    expect(later.open).toBe(true);
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(ended.c).toMatch(/the session expired at 2027-01-06T10:00:00\.000Z/);
  });

  it("ends an API token's watches when the token expires (its ttl), not at the next re-check; a token without a ttl keeps its watch", async () => {
    // The token, as the hub reads it: tokens.json through the TokenStore, then the Authenticator.
    const store = new TokenStore(mkdtempSync(join(tmpdir(), 'sfleet-token-expiry-')));
    const { token } = await store.create('ci-bot', 3_000, { roles: ['viewer'] });
    const { token: forever } = await store.create('forever-bot', undefined, { roles: ['viewer'] });
    const auth = new Authenticator(store);
    const principal = await auth.authenticate({ authorization: `Bearer ${token}` });
    const other = await auth.authenticate({ authorization: `Bearer ${forever}` });
    expect(principal.expiresAt).toBeGreaterThan(Date.now());
    expect(other.expiresAt).toBeUndefined();
    vi.useFakeTimers({ now: Date.now() });
    budget = new WatchBudget({ perWatcher: 100, total: 1_000, perCaller: 8, recheckMs: 600_000, stallMs: 600_000 });
    const ended: Record<string, string> = {};
    let rechecks = 0;
    budget.open('token:ci-bot', { ...watcher('bot', ended, () => void rechecks++), ...credentialExpiry(principal) });
    const kept = budget.open('token:forever-bot', { ...watcher('forever', ended), ...credentialExpiry(other) });
    await vi.advanceTimersByTimeAsync(principal.expiresAt! - Date.now() - 1);
    expect(ended.bot).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(ended.bot).toMatch(new RegExp(`no longer holds: the API token expired at ${new Date(principal.expiresAt!).toISOString().replace(/\./g, '\\.')}; use a new token`));
    expect(rechecks).toBe(0);
    expect(kept.open).toBe(true);
    expect(budget.stats.ended_credential).toBe(1);
  });

  it('a watch opened with a credential already past its expiry is ended on the next turn, not inside open()', async () => {
    budget = new WatchBudget({ perWatcher: 100, total: 1_000, perCaller: 8, recheckMs: 600_000 });
    const ended: Record<string, string> = {};
    const slot = budget.open('alice', { ...watcher('a', ended), expiresAt: Date.now() - 5 });
    // The route writes the stream's head after open() returns: the watch must still be open then.
    expect(slot.open).toBe(true);
    expect(ended.a).toBeUndefined();
    await new Promise((r) => setTimeout(r, 5));
    expect(ended.a).toMatch(/the session expired at/);
  });

  it('a re-check pass ends an expired watch with the same reason', async () => {
    budget = new WatchBudget({ perWatcher: 100, total: 1_000, perCaller: 8, recheckMs: 600_000 });
    const ended: Record<string, string> = {};
    const slot = budget.open('alice', { ...watcher('a', ended), expiresAt: Date.now() + 60_000 });
    // As if the clock had passed the expiry before its timer ran (a stalled event loop).
    (slot.handle as { expiresAt?: number }).expiresAt = Date.now() - 1;
    await budget.recheckAll();
    expect(ended.a).toMatch(/the session expired at/);
  });
});
