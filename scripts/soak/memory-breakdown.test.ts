import { describe, expect, it } from 'vitest';
import { breakdownAt, memoryBreakdown } from './memory-breakdown.js';

describe('soak memory breakdown', () => {
  it('splits this process RSS into anonymous and file-backed memory and counts its threads', () => {
    const b = memoryBreakdown(process.pid)!;
    // Node's own binary is file-backed and its JS heap is anonymous: both are tens of MiB.
    expect(b.anon_mib).toBeGreaterThan(10);
    expect(b.file_mib).toBeGreaterThan(10);
    // The main thread, V8's platform workers and libuv's pool.
    expect(b.threads).toBeGreaterThan(3);
  });

  it('a process that is gone gives no figures instead of throwing', () => {
    expect(memoryBreakdown(2 ** 22 + 1)).toBeUndefined();
  });

  it('picks the sample nearest each minute the run reached, then the last one', () => {
    const samples = Array.from({ length: 100 }, (_, i) => ({ t: i * 10 + 3, anon_mib: i }));
    const picked = breakdownAt({ 'hub-1': samples, empty: [] }, [0, 5, 15, 25]);
    // 990 s (16.5 min) reached 0, 5 and 15 minutes but not 25.
    expect(picked).toEqual({ 'hub-1': [samples[0], samples[30], samples[90], samples[99]] });
  });
});
