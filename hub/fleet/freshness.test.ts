import { describe, expect, it } from 'vitest';
import { ANY_CLUSTER, clusterFreshness, freshnessHeaders, isStale, NONE_STALE } from './freshness.js';

describe('freshness', () => {
  it('is stale only once more than staleAfter has passed: exactly staleAfter is still fresh', () => {
    const heard = 1_000_000;
    expect(isStale(heard, heard, 5_000)).toBe(false);
    expect(isStale(heard, heard + 4_999, 5_000)).toBe(false);
    expect(isStale(heard, heard + 5_000, 5_000)).toBe(false);
    expect(isStale(heard, heard + 5_001, 5_000)).toBe(true);
    // A clock that stepped back is not staleness.
    expect(isStale(heard, heard - 60_000, 5_000)).toBe(false);
    // staleAfter 0: fresh only at the very instant.
    expect(isStale(heard, heard, 0)).toBe(false);
    expect(isStale(heard, heard + 1, 0)).toBe(true);
    // Never (Infinity), and an unparsable time (NaN) is never stale either.
    expect(isStale(0, Number.MAX_SAFE_INTEGER, Infinity)).toBe(false);
    expect(isStale(Date.parse('not a date'), heard, 5_000)).toBe(false);
  });

  it('headers: fresh with nothing stale; else stale with the sorted clusters, "*" included', () => {
    expect(freshnessHeaders(NONE_STALE)).toEqual({ 'x-sfleet-freshness': 'fresh' });
    const stale = new Map([
      ['beta', 'behind hub h1'],
      [ANY_CLUSTER, 'catching up'],
      ['alpha', 'deltas missing'],
    ]);
    expect(freshnessHeaders(stale)).toEqual({ 'x-sfleet-freshness': 'stale', 'x-sfleet-stale-clusters': '*,alpha,beta' });
  });

  it('a cluster is stale when it is listed, with its reason; "*" alone does not make a cluster stale', () => {
    const stale = new Map([
      [ANY_CLUSTER, 'catching up'],
      ['alpha', 'deltas missing'],
    ]);
    expect(clusterFreshness(stale, 'alpha')).toEqual({ stale: true, stale_reason: 'deltas missing' });
    expect(clusterFreshness(stale, 'beta')).toEqual({ stale: false, stale_reason: null });
    expect(clusterFreshness(NONE_STALE, 'alpha')).toEqual({ stale: false, stale_reason: null });
  });
});
