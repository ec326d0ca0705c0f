// The soak's pass/fail rule, pure so its test can feed it series. Per process that ran the whole
// soak, each measure is compared between two windows: the last `windowS` of the warm-up and the
// last `windowS` of the run. RSS and heap take the window's lowest sample: memory is a sawtooth
// (garbage piles up until a major collection, which on a small agent heap can be a third of it),
// and its floor is the live set a leak raises, where a median or a single sample reads the luck of
// the collection's timing (a 7-minute run here: the agent's heap median +29%, its floor +4%).
// Descriptors and handles take the median. RSS and heap must end within `growth` (10%) of their
// warm-up values, descriptors within `fds` (5) either way; handles are reported, not bounded.
export interface Sample {
  /** Seconds since the fleet was up. */
  t: number;
  rss_mib: number;
  heap_mib?: number;
  fds: number;
  handles?: number;
  // Reported, not bounded: the heap V8 holds (in use or free), where RSS is (memory-breakdown.ts)
  // and V8's memory outside its heap.
  heap_total_mib?: number;
  anon_mib?: number;
  file_mib?: number;
  threads?: number;
  external_mib?: number;
  array_buffers_mib?: number;
}

export interface Bounds {
  warmupS: number;
  windowS: number;
  /** RSS and heap: the largest allowed change, as a fraction of the warm-up value. */
  growth: number;
  /** Open file descriptors: the largest allowed change, either way. */
  fds: number;
}

export const DEFAULT_BOUNDS: Omit<Bounds, 'warmupS'> = { windowS: 120, growth: 0.1, fds: 5 };

export interface Check {
  process: string;
  measure: 'rss_mib' | 'heap_mib' | 'fds' | 'handles';
  warmup: number;
  end: number;
  /** end - warmup, and as a fraction of warmup. */
  change: number;
  change_ratio: number;
  /** Not bounded (handles): reported only. */
  bounded: boolean;
  ok: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Checks per process and measure; throws when the run is too short to have both windows. */
export function judge(series: Record<string, Sample[]>, bounds: Bounds): Check[] {
  const checks: Check[] = [];
  for (const [name, samples] of Object.entries(series)) {
    const last = samples.at(-1)?.t ?? 0;
    const warm = samples.filter((s) => s.t > bounds.warmupS - bounds.windowS && s.t <= bounds.warmupS);
    const end = samples.filter((s) => s.t > Math.max(bounds.warmupS, last - bounds.windowS));
    if (warm.length === 0 || end.length === 0) throw new Error(`${name}: no samples ${warm.length === 0 ? 'in the last window of the warm-up' : 'after the warm-up'}; run longer than the warm-up`);
    for (const measure of ['rss_mib', 'heap_mib', 'fds', 'handles'] as const) {
      const w = warm.map((s) => s[measure]).filter((v): v is number => v !== undefined);
      const e = end.map((s) => s[measure]).filter((v): v is number => v !== undefined);
      if (w.length === 0 || e.length === 0) continue;
      const level = measure === 'rss_mib' || measure === 'heap_mib' ? (xs: number[]) => Math.min(...xs) : median;
      const warmup = level(w);
      const endValue = level(e);
      const change = endValue - warmup;
      const ratio = warmup === 0 ? 0 : change / warmup;
      const bounded = measure !== 'handles';
      const ok = !bounded || (measure === 'fds' ? Math.abs(change) <= bounds.fds : Math.abs(ratio) <= bounds.growth);
      checks.push({ process: name, measure, warmup: round(warmup), end: round(endValue), change: round(change), change_ratio: round(ratio, 3), bounded, ok });
    }
  }
  return checks;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The table printed at the end (and on failure): one line per check. */
export function table(checks: Check[]): string {
  const rows = checks.map((c) => [c.process, c.measure, String(c.warmup), String(c.end), `${c.change >= 0 ? '+' : ''}${c.change} (${(c.change_ratio * 100).toFixed(1)}%)`, c.bounded ? (c.ok ? 'ok' : 'OUT OF BOUNDS') : 'reported']);
  const head = ['process', 'measure', 'warm-up', 'end', 'change', 'verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n');
}
