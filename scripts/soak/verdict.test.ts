import { describe, expect, it } from 'vitest';
import { DEFAULT_BOUNDS, judge, table, type Sample } from './verdict.js';

const bounds = { ...DEFAULT_BOUNDS, warmupS: 300 };

/** Ten minutes of samples every 10 s; `at(t)` gives RSS, heap and fds at second t. */
function series(at: (t: number) => Omit<Sample, 't'>): Sample[] {
  return Array.from({ length: 61 }, (_, i) => ({ t: i * 10, ...at(i * 10) }));
}

describe('soak verdict', () => {
  it('a steady process passes: a GC sawtooth (garbage piling up for minutes) and a one-sample spike are not growth', () => {
    // The agent's heap of a real 7-minute run: a floor of 18 MiB, then 2 minutes rising to 25 before a major collection.
    const steady = series((t) => ({ rss_mib: 120 + (t % 30 === 0 ? 1 : 0), heap_mib: 18 + ((t % 150) / 150) * 7, fds: t === 590 ? 40 : 31, handles: 12 }));
    const checks = judge({ 'hub-1': steady }, bounds);
    expect(checks.map((c) => [c.measure, c.ok])).toEqual([
      ['rss_mib', true],
      ['heap_mib', true],
      ['fds', true],
      ['handles', true],
    ]);
  });

  it('memory that keeps growing after the warm-up fails, and the table names the process and the measure', () => {
    const leaking = series((t) => ({ rss_mib: 100 + t * 0.1, heap_mib: 40 + t * 0.05, fds: 30, handles: 10 }));
    const checks = judge({ head1: leaking }, bounds);
    expect(checks.filter((c) => !c.ok).map((c) => c.measure)).toEqual(['rss_mib', 'heap_mib']);
    expect(table(checks)).toMatch(/head1\s+rss_mib\s+119\s+149\s+\+30 \(25\.2%\)\s+OUT OF BOUNDS/);
  });

  it('descriptors: +5 passes, +6 (a socket per restart never closed) fails', () => {
    const five = judge({ a: series((t) => ({ rss_mib: 100, fds: t > 300 ? 35 : 30 })) }, bounds);
    const six = judge({ a: series((t) => ({ rss_mib: 100, fds: t > 300 ? 36 : 30 })) }, bounds);
    expect(five.find((c) => c.measure === 'fds')!.ok).toBe(true);
    expect(six.find((c) => c.measure === 'fds')).toMatchObject({ ok: false, change: 6 });
  });

  it('a run no longer than its warm-up is refused with a clear message', () => {
    const short = series(() => ({ rss_mib: 100, fds: 30 })).filter((s) => s.t <= 300);
    expect(() => judge({ 'hub-2': short }, bounds)).toThrow('hub-2: no samples after the warm-up; run longer than the warm-up');
  });
});
