import { describe, expect, it } from 'vitest';
import { isoFromUnix } from '../../shared/model/index.js';
import { decodeExitObject, decodeWaitStatus, iso, isoSeconds, minutesToSeconds, names, num, splitJobStateString } from './slurm-values.js';

describe('num: one reader for flat and {set, infinite, number} numbers', () => {
  it.each([
    [42, 42],
    [0, 0],
    [null, undefined],
    [undefined, undefined],
    [-1, undefined], // v0.0.38 INFINITE
    [-2, undefined], // v0.0.38 NO_VAL64 as int64
    [4294967294, undefined], // NO_VAL
    [4294967295, undefined], // INFINITE
    [Number('18446744073709551614'), undefined], // NO_VAL64, as JSON.parse reads it
    ['12', undefined],
    [{ set: true, infinite: false, number: 7 }, 7],
    [{ set: false, infinite: false, number: 7 }, undefined],
    [{ set: false, infinite: true, number: 0 }, undefined],
    [{ set: true, infinite: true, number: 0 }, undefined],
    [{ set: true }, undefined],
  ])('%j -> %j', (input, expected) => {
    expect(num(input)).toBe(expected);
  });

  it('times and minutes', () => {
    expect(iso(1700000000)).toBe('2023-11-14T22:13:20Z');
    expect(iso({ set: true, infinite: false, number: 1700000000 })).toBe('2023-11-14T22:13:20Z');
    expect(iso(0)).toBeUndefined();
    expect(minutesToSeconds(30)).toBe(1800);
    expect(minutesToSeconds({ set: false, infinite: true, number: 0 })).toBeUndefined();
  });
});

describe('exit codes', () => {
  it('decodes raw wait statuses', () => {
    expect(decodeWaitStatus(0)).toEqual({ exit_code: 0 });
    expect(decodeWaitStatus(768)).toEqual({ exit_code: 3 });
    expect(decodeWaitStatus(65280)).toEqual({ exit_code: 255 });
    expect(decodeWaitStatus(9)).toEqual({ exit_signal: 9 });
    expect(decodeWaitStatus(0x80 | 11)).toEqual({ exit_signal: 11 }); // core dumped
    expect(decodeWaitStatus(null)).toEqual({});
  });

  it('reads the v0.0.40+ object', () => {
    expect(decodeExitObject({ status: ['ERROR'], return_code: { set: true, infinite: false, number: 1 }, signal: { id: { set: false } } })).toEqual({
      exit_code: 1,
    });
    expect(decodeExitObject({ status: ['SIGNALED'], return_code: { set: false }, signal: { id: { set: true, infinite: false, number: 15 }, name: 'TERM' } })).toEqual({
      exit_signal: 15,
    });
  });
});

describe('state strings and lists', () => {
  it('v0.0.38/39 job state strings', () => {
    expect(splitJobStateString('running')).toEqual({ state: 'RUNNING', flags: [] });
    expect(splitJobStateString('RESIZING')).toEqual({ state: 'RUNNING', flags: ['RESIZING'] });
    expect(splitJobStateString('SPECIAL_EXIT')).toEqual({ state: 'SPECIAL_EXIT', flags: ['SPECIAL_EXIT'] });
    expect(splitJobStateString(undefined)).toEqual({ state: 'UNKNOWN', flags: [] });
  });

  it('comma strings and arrays become name lists', () => {
    expect(names('a, b,,c')).toEqual(['a', 'b', 'c']);
    expect(names('')).toEqual([]);
    expect(names(['x', '', 3, 'y'])).toEqual(['x', 'y']);
    expect(names(null)).toEqual([]);
  });
});

describe('iso', () => {
  it('formats exactly as isoFromUnix, for edge dates and a spread of random ones', () => {
    const edges = [1, 59, 60, 3599, 86_399, 86_400, 951_782_400 /* 2000-02-29 */, 951_868_799, 1_709_164_800 /* 2024-02-29 */, 2_147_483_647, 2_147_483_648, 4_102_444_800, 253_402_300_799];
    let x = 12345;
    const random = Array.from({ length: 5000 }, () => {
      x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
      return (x * 58_999) % 253_402_300_799;
    });
    for (const s of [...edges, ...random]) {
      expect(isoSeconds(s), String(s)).toBe(isoFromUnix(s));
      expect(iso(s)).toBe(isoFromUnix(s));
    }
    // Outside the fast range, and the object form: the same answers as before.
    for (const v of [0, -5, 1.5, 253_402_300_800, null, undefined, { set: true, infinite: false, number: 1_700_000_000 }, { set: false, number: 5 }]) {
      expect(iso(v)).toBe(isoFromUnix(num(v)));
    }
  });
});

