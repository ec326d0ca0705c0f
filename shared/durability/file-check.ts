// A file we hold open can be deleted or truncated under us (an operator, a cleanup job, a
// restore). Writes to a deleted file succeed and vanish; so each store compares the file at its
// path with the one it writes, once per flush interval, and rewrites itself from memory.
import { fstatSync, statSync } from 'node:fs';

export type FileCheck = 'ok' | 'deleted' | 'replaced' | 'truncated';

/** How the file at `path` compares with the open `fd` that should be it, holding at least `expectedSize` bytes. */
export function checkOpenFile(fd: number, path: string, expectedSize: number): FileCheck {
  let open;
  try {
    open = fstatSync(fd);
  } catch {
    return 'deleted';
  }
  let named;
  try {
    named = statSync(path);
  } catch {
    return 'deleted';
  }
  if (named.ino !== open.ino || named.dev !== open.dev) return 'replaced';
  if (open.size < expectedSize) return 'truncated';
  return 'ok';
}

/** A file lost under a store, as an error for WriteFaults and the logs. */
export class LostFileError extends Error {
  readonly code: string;
  constructor(
    readonly path: string,
    readonly how: Exclude<FileCheck, 'ok'>,
  ) {
    super(`${path} was ${how} while open; rewriting it from memory`);
    this.name = 'LostFileError';
    this.code = `FILE_${how.toUpperCase()}`;
  }
}
