import { describe, expect, it } from 'vitest';
import { compressHostlist, expandHostlist } from './hostlist.js';
import { isoFromUnix, parseDuration } from './time.js';

describe('hostlist', () => {
  it('expands ranges, lists and zero padding as Slurm writes them', () => {
    expect(expandHostlist('node[1-3,7]')).toEqual(['node1', 'node2', 'node3', 'node7']);
    expect(expandHostlist('gpu[08-10],login1')).toEqual(['gpu08', 'gpu09', 'gpu10', 'login1']);
    expect(expandHostlist('rack[1-2]-n[1-2]')).toEqual(['rack1-n1', 'rack1-n2', 'rack2-n1', 'rack2-n2']);
    expect(expandHostlist('')).toEqual([]);
    expect(expandHostlist('(null)')).toEqual([]);
  });

  it('refuses malformed expressions with a message naming them', () => {
    expect(() => expandHostlist('node[1-')).toThrow(/unclosed bracket/);
    expect(() => expandHostlist('node[5-2]')).toThrow(/descending/);
    expect(() => expandHostlist('node[a-b]')).toThrow(/bad range/);
  });

  it('refuses a range past a million names before making any (a fuzz finding: it ran out of memory)', () => {
    expect(() => expandHostlist(`node[1-${'4'.repeat(40)}]`)).toThrow(/expands to more than 1000000 names/);
    expect(() => expandHostlist('node[1-600000],gpu[1-600000]')).toThrow(/expands to more than 1000000 names/);
    expect(() => expandHostlist('n[1-1000][1-1001]')).toThrow(/expands to more than 1000000 names/);
    expect(expandHostlist('n[1-1000][1-1000]')).toHaveLength(1_000_000);
  });

  it('compresses back to the compact form', () => {
    expect(compressHostlist(['node1', 'node2', 'node3', 'node7'])).toBe('node[1-3,7]');
    expect(compressHostlist(['gpu08', 'gpu09'])).toBe('gpu[08-09]');
    expect(compressHostlist(['login'])).toBe('login');
  });
});

describe('time', () => {
  it('turns unix seconds into ISO UTC and leaves 0 unset', () => {
    expect(isoFromUnix(1700000000)).toBe('2023-11-14T22:13:20Z');
    expect(isoFromUnix(0)).toBeUndefined();
    expect(isoFromUnix(undefined)).toBeUndefined();
    // Past what a Date holds: not set, not a RangeError out of the normalizer.
    expect(isoFromUnix(9e15)).toBeUndefined();
    expect(isoFromUnix(4294967294)).toBe('2106-02-07T06:28:14Z');
  });

  it('parses durations and rejects nonsense', () => {
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration(5)).toBe(5_000);
    expect(() => parseDuration('ten seconds')).toThrow(/invalid duration/);
  });
});
