// A /jobs or /nodes answer normalized while it streams in: ListStream (list-stream.ts) cuts the
// elements, the version adapter normalizes each one, and an ElementCache lets an element sent
// again byte for byte reuse its object from the previous poll.
import { hash as digestOf } from 'node:crypto';
import { SlurmResponseError } from '../../shared/errors/index.js';
import type { Job, Node } from '../../shared/model/index.js';
import type { VersionAdapter } from './adapter.js';
import { ListStream, type ListLimits } from './list-stream.js';
import { checkSlurmAnswer } from './response.js';
import { records } from './slurm-values.js';

/**
 * The objects of the previous full read of one list, by the SHA-256 of each element's bytes:
 * an element slurmrestd sends again byte for byte normalizes to the same object, so that
 * object is reused without JSON.parse or the adapter (and the diff sees the very same object).
 * Most jobs do not change between two polls.
 *
 * Entries are kept from poll to poll and stamped with the answer that saw them (instead of a
 * new map per answer): an unchanged job allocates nothing that outlives the poll, which keeps
 * the young-generation collections cheap.
 */
export class ElementCache<T> {
  private readonly entries = new Map<string, { value: T; seen: number }>();
  private answers = 0;

  constructor(readonly version: string) {}

  get size(): number {
    return this.entries.size;
  }

  /** @internal streamedList's: a number for one answer. */
  begin(): number {
    return ++this.answers;
  }

  /** @internal streamedList's: the object for these element bytes, marked as seen by `answer`. */
  lookup(key: string, answer: number): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    entry.seen = answer;
    return entry.value;
  }

  /**
   * @internal streamedList's: `answer` is complete and accepted. What it did not hold goes,
   * what it parsed comes in. A failed answer never gets here: the cache stays as it was.
   */
  commit(answer: number, parsed: Map<string, T>): void {
    for (const [key, entry] of this.entries) if (entry.seen !== answer) this.entries.delete(key);
    for (const [key, value] of parsed) this.entries.set(key, { value, seen: answer });
  }
}

/** A /jobs or /nodes answer normalized while it streams in. */
export interface StreamedList<T> {
  /** The body's chunks, in order. Throws (and the download should stop) on bad input. */
  write(chunk: Buffer): void;
  /** After a complete 2xx answer: the normalized list, or the error the answer deserves. */
  finish(status: number): T[];
}

export function streamedList(adapter: VersionAdapter, kind: 'job', cluster: string, limits: ListLimits, cache?: ElementCache<Job>): StreamedList<Job>;
export function streamedList(adapter: VersionAdapter, kind: 'node', cluster: string, limits: ListLimits, cache?: ElementCache<Node>): StreamedList<Node>;
export function streamedList(
  adapter: VersionAdapter,
  kind: 'job' | 'node',
  cluster: string,
  limits: ListLimits,
  cache?: ElementCache<Job | Node>,
): StreamedList<Job | Node> {
  const key = kind === 'job' ? 'jobs' : 'nodes';
  const out: (Job | Node)[] = [];
  const usable = cache !== undefined && cache.version === adapter.version ? cache : undefined;
  const answer = usable?.begin() ?? 0;
  /** Elements this answer parsed (not in the cache). */
  const parsed = usable ? new Map<string, Job | Node>() : undefined;
  let hash = '';
  // A bad record must not hide Slurm's own `errors`, which may come after the list: the
  // first one is kept and thrown once the rest of the answer is checked.
  let recordError: unknown;
  const reuse = (bytes: Buffer): boolean => {
    if (recordError !== undefined) return true;
    // One-shot: no Hash object per element (8,000 per poll at 8,000 jobs).
    hash = digestOf('sha256', bytes, 'base64');
    const known = usable!.lookup(hash, answer);
    if (known === undefined) return false;
    out.push(known);
    return true;
  };
  const scanner = new ListStream(
    key,
    key,
    limits,
    (value, index) => {
      if (recordError !== undefined) return;
      try {
        const item = kind === 'job' ? adapter.jobAt(value, index, cluster) : adapter.nodeAt(value, index, cluster);
        out.push(item);
        parsed?.set(hash, item);
      } catch (err) {
        recordError = err;
        out.length = 0;
      }
    },
    usable ? reuse : undefined,
  );
  return {
    write: (chunk) => scanner.write(chunk),
    finish(status) {
      const rest = scanner.end();
      if (rest === undefined) throw new SlurmResponseError(`slurmrestd sent an empty body for ${key} (HTTP ${status})`);
      checkSlurmAnswer(status, rest, key);
      // The list itself: present (emptied) or absent for a reason records() accepts.
      records(rest, key, adapter.version, kind);
      if (recordError !== undefined) throw recordError;
      if (parsed) usable!.commit(answer, parsed);
      return out;
    },
  };
}
