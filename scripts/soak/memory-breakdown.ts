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
