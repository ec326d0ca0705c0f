// The change log of the durable stores: every whole file the hub writes through AtRest (tokens,
// users, sessions, login counters, quota history, the security store's copy...) is appended here
// with its time (the hub's clock) and its path in the data directory, so a restore can bring a
// store to its content at any time between two backups (replay.ts). Records are sealed at rest
// like the files (RecordLog with the AtRest sealing). The audit chain needs no copy: its records
// carry their times and its segments only grow (the shipper reads them directly).
//
// Bounded: entries are kept in memory and on disk until they are shipped to every destination AND
// a backup taken after them completed (cut()); a backup interval's worth of writes at most. A hub
// that never ships (a group member that does not lead) would keep them for ever: past `maxBytes`
// the oldest half goes, and a destination whose cursor falls in what went starts a new chain
// (the shipper; a restore across the hole is refused).
import { mkdirSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Clock } from '../../../shared/clock/index.js';
import type { AtRest } from '../../../shared/crypto/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { RecordLog } from '../../../shared/record-log/index.js';

/** Where the change log and the shipping state live in the data directory (never in a backup). */
export const PITR_DIR = 'pitr';
const PURPOSE = 'hub/backup/changes';

/**
 * Not logged: live fleet state the agents send again (the fleet store's checkpoints) and the
 * export change journal, which follows the fleet on every update.
 */
const NOT_LOGGED = [/^clusters\//, /^export\//, new RegExp(`^${PITR_DIR}/`)];

export interface ChangeEntry {
  /** Position in the log, from 1; never reused. */
  seq: number;
  /** The hub's clock when the write completed (ms). */
  t: number;
  /** The store's path in the data directory ("tokens.json"), "/"-separated. */
  path: string;
  purpose: string;
  /** Whether the store was sealed at rest (a restore seals it again under its own key). */
  sealed: boolean;
  data: Buffer;
}

export function encodeEntry(e: ChangeEntry): Buffer {
  return Buffer.from(JSON.stringify({ seq: e.seq, t: e.t, path: e.path, purpose: e.purpose, sealed: e.sealed, data: e.data.toString('base64') }));
}

export function decodeEntry(raw: Uint8Array, where: string): ChangeEntry {
  const e = JSON.parse(Buffer.from(raw).toString('utf8')) as Omit<ChangeEntry, 'data'> & { data: string };
  if (typeof e?.seq !== 'number' || typeof e.t !== 'number' || typeof e.path !== 'string' || typeof e.data !== 'string') throw new Error(`${where}: not a change-log entry`);
  return { seq: e.seq, t: e.t, path: e.path, purpose: String(e.purpose), sealed: !!e.sealed, data: Buffer.from(e.data, 'base64') };
}

export class ChangeLog {
  private entries: ChangeEntry[];
  private lastSeq: number;
  private readonly log: RecordLog;
  private readonly dataDir: string;
  private bytes: number;
  /** Past this many bytes of entries, the oldest are dropped down to half of it. */
  maxBytes = 64 * 1024 * 1024;
  /** Why the last append failed (a write the log may miss): the shipper reports it. */
  failure?: string;

  private constructor(
    private readonly deps: { dataDir: string; atRest: AtRest; clock: Clock; logger: Logger },
    log: RecordLog,
    entries: ChangeEntry[],
    shippedSeq: number,
  ) {
    this.dataDir = resolve(deps.dataDir);
    this.log = log;
    this.entries = entries;
    this.bytes = entries.reduce((n, e) => n + e.data.length, 0);
    // A log cut empty restarts after what was shipped: a seq is never reused.
    this.lastSeq = Math.max(entries.at(-1)?.seq ?? 0, shippedSeq);
  }

  /** `shippedSeq`: the highest seq any destination holds (the shipping state). */
  static open(deps: { dataDir: string; atRest: AtRest; clock: Clock; logger: Logger }, shippedSeq = 0): ChangeLog {
    mkdirSync(join(deps.dataDir, PITR_DIR), { recursive: true, mode: 0o700 });
    const path = join(deps.dataDir, PITR_DIR, 'changes.log');
    const opened = RecordLog.open(path, { sealing: deps.atRest.sealing(PURPOSE) });
    const entries = opened.records.map((r, i) => decodeEntry(r, `${path} record ${i}`));
    const changes = new ChangeLog(deps, opened.log, entries, shippedSeq);
    deps.atRest.onWrite((file, purpose, data, sealed) => changes.record(file, purpose, data, sealed));
    return changes;
  }

  /** The path of a write in the data directory, or undefined when it is not a logged store. */
  storePath(file: string): string | undefined {
    const abs = resolve(file);
    if (!abs.startsWith(this.dataDir + sep)) return undefined;
    const rel = relative(this.dataDir, abs).split(sep).join('/');
    return NOT_LOGGED.some((re) => re.test(rel)) ? undefined : rel;
  }

  /** Appends one write (called by AtRest after the write succeeded). Never throws into the store's write. */
  record(file: string, purpose: string, data: Uint8Array, sealed: boolean): void {
    const path = this.storePath(file);
    if (path) this.append(path, purpose, data, sealed);
  }

  /** Appends a state that is not a file of the data directory (a group's etcd state: etcd-changes.ts); `name` is its backup object. */
  recordObject(name: string, purpose: string, data: Uint8Array): void {
    this.append(name, purpose, data, false);
  }

  private append(path: string, purpose: string, data: Uint8Array, sealed: boolean): void {
    const entry: ChangeEntry = { seq: this.lastSeq + 1, t: this.deps.clock.now(), path, purpose, sealed, data: Buffer.from(data) };
    try {
      this.log.append(encodeEntry(entry));
    } catch (err) {
      // The store's own write is done; the point-in-time copy of it is not. Reported until a later append works.
      this.failure = `${path}: ${(err as Error).message}`;
      this.deps.logger.error({ store: path, err: (err as Error).message }, 'change log: a write could not be logged; point-in-time recovery misses it');
      return;
    }
    this.failure = undefined;
    this.lastSeq = entry.seq;
    this.entries.push(entry);
    this.bytes += entry.data.length;
    if (this.bytes > this.maxBytes) this.shed();
  }

  /** Drops the oldest entries down to half of maxBytes (nothing ships them: see the header). */
  private shed(): void {
    let drop = 0;
    for (let bytes = this.bytes; bytes > this.maxBytes / 2 && drop < this.entries.length; drop++) bytes -= this.entries[drop].data.length;
    this.deps.logger.warn({ dropped: drop, bytes: this.bytes, max_bytes: this.maxBytes }, 'change log: too large and not shipped (this hub does not take the backups); the oldest entries are dropped');
    this.keep(this.entries.slice(drop));
  }

  private keep(kept: ChangeEntry[]): void {
    this.log.rewrite(kept.map(encodeEntry));
    this.entries = kept;
    this.bytes = kept.reduce((n, e) => n + e.data.length, 0);
  }

  /** The first seq still in the log (lastSeq + 1 when empty). */
  get first(): number {
    return this.entries[0]?.seq ?? this.lastSeq + 1;
  }

  /** The entries after `seq`, oldest first. */
  since(seq: number): ChangeEntry[] {
    return this.entries.filter((e) => e.seq > seq);
  }

  get last(): number {
    return this.lastSeq;
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * A backup taken at `backupAt` completed: entries at or before it that every destination has
   * (seq <= shippedSeq) are dropped. What is not shipped yet stays.
   */
  cut(backupAt: number, shippedSeq: number): number {
    const kept = this.entries.filter((e) => e.seq > shippedSeq || e.t > backupAt);
    const dropped = this.entries.length - kept.length;
    if (dropped === 0) return 0;
    this.keep(kept);
    return dropped;
  }

  close(): void {
    this.log.close();
  }
}
