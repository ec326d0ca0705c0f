// What the kernel says about a process: CPU time (utime + stime, all threads) from
// /proc/<pid>/stat, memory (VmRSS, VmHWM) from /proc/<pid>/status and open descriptors from
// /proc/<pid>/fd. Linux only.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** CPU seconds the process has used so far (user + system, every thread). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export interface Memory {
  rssMiB: number;
  hwmMiB: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${key}`);
    return Number(m[1]);
  };
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}

/** Resets VmHWM to the current RSS (Linux: write 5 to /proc/<pid>/clear_refs); false when refused. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Open file descriptors of the process (sockets, pipes and files alike): /proc/<pid>/fd. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export interface ThreadTimes {
  /** ms on a CPU, and ms runnable but waiting for one (/proc/<pid>/task/<tid>/schedstat). */
  cpuMs: number;
  waitMs: number;
}

/**
 * CPU and run-queue wait so far of a process's threads, in three groups: its main thread, its
 * threads at a raised nice value (the hub's password-hash threads), and the others (libuv's fs
 * threads, V8's, the inspector's). Threads that ended are not counted.
 */
export function threadTimes(pid: number): Record<'main' | 'niced' | 'other', ThreadTimes> {
  const out = { main: { cpuMs: 0, waitMs: 0 }, niced: { cpuMs: 0, waitMs: 0 }, other: { cpuMs: 0, waitMs: 0 } };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      const group = tid === String(pid) ? out.main : nice > 0 ? out.niced : out.other;
      group.cpuMs += run / 1e6;
      group.waitMs += wait / 1e6;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}
