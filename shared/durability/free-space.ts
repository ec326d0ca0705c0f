// Free space of the directories a process writes durably: a disk that fills up is seen coming
// (a gauge per directory) before the first ENOSPC.
import { statfsSync } from 'node:fs';

/** Bytes available to this (unprivileged) process in `dir`'s filesystem; undefined when it cannot be read. */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}
