import { describe, expect, it } from 'vitest';
import { loginFailuresBySource } from './login-counters.js';
import type { SecurityStore } from './security-store.js';

describe('loginFailuresBySource', () => {
  it('counts the attempts of each ip: counter within the window; user keys and older attempts are left out', () => {
    const now = 1_000_000;
    const entries = [
      ['ip:203.0.113.9', { attempts: { a: now - 1_000, b: now - 5_000, c: now - 700_000 }, lockedUntil: 0, expires: now + 1 }],
      ['user:ana', { attempts: { d: now - 1_000 }, lockedUntil: 0, expires: now + 1 }],
      ['ip:2001:db8::', { attempts: { e: now - 10 }, lockedUntil: 0, expires: now + 1 }],
      ['ip:198.51.100.1', { attempts: { f: now - 900_000 }, lockedUntil: 0, expires: now + 1 }],
    ];
    const store = { entries: () => entries } as unknown as SecurityStore;
    expect(loginFailuresBySource(store, now, 600_000)).toEqual(new Map([['203.0.113.9', 2], ['2001:db8::', 1]]));
  });
});
