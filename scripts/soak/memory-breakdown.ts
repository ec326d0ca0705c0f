// Where a process's resident memory is, for the soak's report: /proc/<pid>/smaps_rollup splits
// RSS into anonymous memory (the JS heap, malloc's arenas, DuckDB's buffers) and file-backed
// pages (the node binary, shared libraries, mapped files), and /proc/<pid>/task counts threads
// (glibc gives each thread that allocates an arena of its own, up to 8 per core). Linux only.
import { readdirSync, readFileSync } from 'node:fs';

export interface MemoryBreakdown {
  anon_mib: number;
  file_mib: number;
  threads: number;
}

const mib = (kib: number): number => Math.round((kib / 1024) * 10) / 10;

/** Undefined when the process is gone or the kernel has no smaps_rollup (before Linux 4.14). */
export function memoryBreakdown(pid: number): MemoryBreakdown | undefined {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
    const rss = kib('Rss');
    const anon = kib('Anonymous');
    return { anon_mib: mib(anon), file_mib: mib(rss - anon), threads: readdirSync(`/proc/${pid}/task`).length };
  } catch {
    return undefined;
  }
}

/**
 * Per process, the sample nearest each of `minutes` that the run reached, and its last sample:
 * the report's short view of where memory went over time (the full series is in the report too).
 */
export function breakdownAt<S extends { t: number }>(series: Record<string, S[]>, minutes: number[]): Record<string, S[]> {
  const out: Record<string, S[]> = {};
  for (const [name, samples] of Object.entries(series)) {
    if (samples.length === 0) continue;
    const last = samples.at(-1)!;
    const picked = minutes.filter((m) => m * 60 < last.t).map((m) => samples.reduce((best, s) => (Math.abs(s.t - m * 60) < Math.abs(best.t - m * 60) ? s : best)));
    out[name] = [...new Set([...picked, last])];
  }
  return out;
}
