// The agent's durable spool. A delta counts as sent only once it is fsync'd here; it is freed
// only when the hub acks its seq. Files in the spool directory:
//   checkpoint.bin  a snapshot delta: the cluster state at (epoch, seq) the hub has confirmed
//   deltas.log      every delta after the checkpoint, in seq order (RecordLog framing)
// On open, checkpoint + log rebuild the exact state the stream has announced, so a restarted
// agent continues the same epoch without duplicates or gaps. When the unacked deltas outgrow
// max_bytes the spool compacts them into one snapshot in a new epoch: nothing is dropped.
// With encryption on (deps.atRest) both files are sealed; a file that fails authentication is
// set aside and the spool starts a new epoch (the hub then gets a snapshot).
// When the disk refuses (ENOSPC, EIO, a read-only filesystem) or a file is deleted or truncated
// under us, the spool goes on in memory ("unspooled"): deltas keep their seqs and the stream
// sends them to a connected hub, bounded by max_bytes like the disk (compacted to a snapshot in
// memory when full). maintain() retries every retry interval; the first write that works is a
// snapshot in a new epoch (checkpoint + log rewritten), so after the fault nothing is missing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  allObjects,
  applyDelta,
  countObjects,
  decodeDelta,
  emptyObjects,
  encodeDelta,
  type ClusterObjects,
  type Delta,
} from '../../shared/delta/index.js';
import type { FleetObject, ObjectRef } from '../../shared/model/index.js';
import type { FleetEvent } from '../../generated/fleet/v1/agent.js';
import { deltaChunks, joinRecords, snapshotParts, SNAPSHOT_PART_OBJECTS } from './snapshot-parts.js';
import { encodeForWire, wireOfRecord, type WireDelta } from './wire-delta.js';
import { AtRest, setAside, TamperedDataError } from '../../shared/crypto/index.js';
import { RecordLog } from '../../shared/record-log/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { LostFileError, type WriteFaults } from '../../shared/durability/index.js';

export interface SpoolOptions {
  cluster: string;
  maxBytes: number;
  /** Rewrite the checkpoint once the acked part of the log is this large. */
  checkpointBytes?: number;
  /** Objects per part of a snapshot, and per delta of a big poll (snapshot-parts.ts). */
  snapshotPartObjects?: number;
  /** While unspooled, try the disk again at most this often (ms). */
  retryMs?: number;
}

export interface SpoolDeps {
  logger: Logger;
  clock?: () => number;
  /** Seals checkpoint.bin and deltas.log; default: plaintext. */
  atRest?: AtRest;
  /** Where failed writes are counted and the degraded state kept (agent/health reads it). */
  faults?: WriteFaults;
}

/** The store name of the spool in WriteFaults and its metrics. */
export const SPOOL_STORE = 'spool';

const CHECKPOINT_PURPOSE = 'agent/spool/checkpoint';
const LOG_PURPOSE = 'agent/spool/deltas';

/**
 * An unacked delta as it is kept until the hub acks it: encoded once, ready for the stream (a
 * whole snapshot of 100k jobs is ~18 MB encoded, several times that as objects), plus its
 * events for a compaction. The spool record is the same bytes without the message prefix.
 */
interface PendingEntry {
  seq: number;
  snapshot: boolean;
  /** Part `part` of `parts` of a snapshot; 0 of 0 for a whole delta. */
  part: number;
  parts: number;
  events: FleetEvent[];
  /** W3C trace context of the poll that made it (this process's deltas only). */
  traceparent?: string | undefined;
  /** Encoded AgentMessage{delta}; built from `record` when the log was read at open. */
  wire?: WireDelta;
  /** The Delta's own encoding, as in deltas.log. */
  record: Uint8Array;
}

export class DeltaSpool {
  epoch: number;
  /** Newest seq written to the spool. */
  lastSeq: number;
  /** Newest seq the hub has acknowledged in this epoch. */
  ackedSeq: number;
  /** The state after every spooled delta: what the next poll is diffed against. */
  readonly objects: ClusterObjects;
  /** Times the spool was compacted into a snapshot because it was full. */
  compactions = 0;
  /** Deltas since the last write that worked live only in memory (the disk refused, or a file was lost). */
  unspooled = false;
  private lastRetryAt = 0;
  /** checkpoint.bin exists (read at open or written since): its loss is a fault. */
  private hasCheckpoint = false;

  private pending: PendingEntry[] = [];
  private pendingBytes = 0;
  private log: RecordLog;
  private readonly checkpointPath: string;
  private readonly atRest: AtRest;

  private constructor(
    private readonly dir: string,
    private readonly opts: SpoolOptions,
    private readonly deps: SpoolDeps,
  ) {
    this.checkpointPath = join(dir, 'checkpoint.bin');
    this.atRest = deps.atRest ?? AtRest.plaintext();
    this.objects = emptyObjects();
    this.epoch = 0;
    this.lastSeq = 0;
    this.ackedSeq = 0;
    let checkpointSeq = 0;
    const logPath = join(dir, 'deltas.log');
    const stored = this.readSealed(() => this.atRest.readFile(this.checkpointPath, CHECKPOINT_PURPOSE), this.checkpointPath);
    // Without its checkpoint the log's deltas apply to nothing: it goes aside too.
    if (stored === null && existsSync(logPath)) setAside(logPath);
    if (stored) {
      const checkpoint = decodeDelta(stored);
      if (checkpoint.cluster !== opts.cluster) {
        throw new Error(`spool ${dir} belongs to cluster "${checkpoint.cluster}", not "${opts.cluster}"`);
      }
      applyDelta(this.objects, checkpoint);
      this.hasCheckpoint = true;
      this.epoch = checkpoint.epoch;
      checkpointSeq = checkpoint.seq;
    }
    const sealing = this.atRest.sealing(LOG_PURPOSE);
    const opened = this.readSealed(() => RecordLog.open(logPath, { sealing }), logPath) ?? RecordLog.open(logPath, { sealing });
    this.log = opened.log;
    if (opened.truncatedBytes > 0) {
      deps.logger.warn({ bytes: opened.truncatedBytes }, 'spool: cut a torn record off the end of deltas.log (crash while writing)');
    }
    this.lastSeq = checkpointSeq;
    this.ackedSeq = checkpointSeq;
    for (const record of opened.records) {
      let delta = decodeDelta(record);
      if (delta.snapshot && delta.snapshot_part > 1) {
        // A later part of a snapshot adds to the first part's state.
        if (delta.epoch !== this.epoch || delta.seq !== this.lastSeq + 1) {
          deps.logger.warn({ epoch: delta.epoch, seq: delta.seq }, 'spool: snapshot part out of order, ignoring the rest of the log');
          break;
        }
        delta = { ...delta, snapshot: false };
      } else if (delta.snapshot) {
        // A compaction snapshot starts a new epoch inside the log.
        this.epoch = delta.epoch;
        this.pending = [];
        this.pendingBytes = 0;
        this.ackedSeq = 0;
      } else if (delta.epoch !== this.epoch || delta.seq !== this.lastSeq + 1) {
        deps.logger.warn({ epoch: delta.epoch, seq: delta.seq }, 'spool: record out of order, ignoring the rest of the log');
        break;
      }
      applyDelta(this.objects, delta);
      this.lastSeq = delta.seq;
      this.pending.push({ seq: delta.seq, snapshot: delta.snapshot || delta.snapshot_part > 1, part: delta.snapshot_part, parts: delta.snapshot_parts, events: delta.events, record });
      this.pendingBytes += record.length;
    }
    if (this.epoch === 0) this.startEpochInMemory();
    // Started on a full or read-only disk: polls and streams from memory until the disk works.
    if (this.log.broken) this.goUnspooled(this.log.broken);
  }

  /** A sealed file that fails authentication is set aside (the spool then starts a new epoch). */
  private readSealed<T>(read: () => T, path: string): T | undefined | null {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof TamperedDataError)) throw err;
      const aside = setAside(path);
      this.deps.logger.error({ file: path, moved_to: aside, err: err.message }, 'spool: a sealed file failed authentication; set aside, starting a new epoch');
      return null;
    }
  }

  static open(dir: string, opts: SpoolOptions, deps: SpoolDeps): DeltaSpool {
    return new DeltaSpool(dir, opts, deps);
  }

  private now(): number {
    return (this.deps.clock ?? Date.now)();
  }

  /**
   * Time-based (a standby agent that takes over starts above the old active's) and always above
   * this spool's current epoch: a new epoch in the same millisecond with a smaller random part
   * would look older to the hubs, which drop a delta of an older epoch as a duplicate.
   */
  private newEpoch(): number {
    return Math.max(this.now() * 1000 + Math.floor(Math.random() * 1000), this.epoch + 1);
  }

  private startEpochInMemory(): void {
    this.epoch = this.newEpoch();
    this.lastSeq = 0;
    this.ackedSeq = 0;
  }

  /** Unacked deltas in seq order (decoded: for tests and tools; the stream sends unackedWire()). */
  unacked(): Delta[] {
    return this.pending.filter((p) => p.seq > this.ackedSeq).map((p) => decodeDelta(p.record));
  }

  get unackedCount(): number {
    return this.pending.length;
  }

  /** Unacked deltas in seq order, encoded as the stream sends them (no re-encoding per send). */
  *unackedWire(): Generator<{ seq: number; wire: WireDelta; part: number; parts: number; traceparent?: string | undefined }> {
    for (const p of this.pending) {
      if (p.seq <= this.ackedSeq) continue;
      p.wire ??= wireOfRecord(p.record);
      yield { seq: p.seq, wire: p.wire, part: p.part, parts: p.parts, traceparent: p.traceparent };
    }
  }

  /**
   * The parts of the unacked snapshot ending at `lastPartSeq` as one message (for a hub that
   * does not take parts): their records end to end decode as the whole snapshot.
   */
  joinedWire(lastPartSeq: number): WireDelta {
    const last = this.pending.find((p) => p.seq === lastPartSeq);
    if (!last || last.part === 0 || last.part !== last.parts) throw new Error(`spool: seq ${lastPartSeq} is not the last part of a snapshot`);
    const parts = this.pending.filter((p) => p.seq > lastPartSeq - last.parts && p.seq <= lastPartSeq);
    return wireOfRecord(joinRecords(parts.map((p) => p.record)));
  }

  /** The unacked deltas start with this epoch's snapshot: a hub of any position can take them as they are. */
  startsWithSnapshot(): boolean {
    const first = this.pending[0];
    return this.ackedSeq === 0 && first !== undefined && first.seq === 1 && first.snapshot && first.part <= 1;
  }

  get unackedBytes(): number {
    return this.pendingBytes;
  }

  get objectCount(): number {
    return countObjects(this.objects);
  }

  /**
   * Spools a delta whose changes are already applied to `objects` (the diff does that).
   * Durable when it returns.
   */
  append(upserts: FleetObject[], removals: ObjectRef[], events: FleetEvent[] = [], traceparent?: string): Delta {
    const delta: Delta = {
      cluster: this.opts.cluster,
      epoch: this.epoch,
      seq: this.lastSeq + 1,
      upserts,
      removals,
      observed_at: new Date(this.now()).toISOString(),
      // The first delta of an epoch is diffed against nothing, so it holds everything.
      snapshot: this.lastSeq === 0,
      events,
      snapshot_part: 0,
      snapshot_parts: 0,
      ...(traceparent ? { traceparent } : {}),
    };
    const entries = delta.snapshot ? this.encodeSnapshot(delta) : deltaChunks(delta, this.partObjects).map((d) => this.encodeEntry(d));
    const bytes = entries.reduce((n, e) => n + e.record.length, 0);
    if (this.pendingBytes + bytes > this.opts.maxBytes) {
      // The objects are already in `objects`; the events must travel in the snapshot too.
      return this.compactToSnapshot('spool full', events);
    }
    if (!this.unspooled) {
      try {
        this.log.append(...entries.map((e) => e.record));
        this.deps.faults?.ok(SPOOL_STORE);
      } catch (err) {
        this.goUnspooled(err);
      }
    }
    this.lastSeq = entries[entries.length - 1].seq;
    for (const e of entries) this.pending.push(e);
    this.pendingBytes += bytes;
    return { ...delta, seq: this.lastSeq };
  }

  private encodeEntry(delta: Delta): PendingEntry {
    const { wire, record } = encodeForWire(delta);
    return { seq: delta.seq, snapshot: delta.snapshot, part: delta.snapshot_part, parts: delta.snapshot_parts, events: delta.events, traceparent: delta.traceparent, wire, record };
  }

  /** A snapshot starting at its seq, encoded in parts when it is big. */
  private encodeSnapshot(whole: Delta): PendingEntry[] {
    return snapshotParts(whole, whole.seq, this.partObjects).map((part) => this.encodeEntry(part));
  }

  private get partObjects(): number {
    return this.opts.snapshotPartObjects ?? SNAPSHOT_PART_OBJECTS;
  }

  /** The hub has this epoch up to seq: free what it holds. */
  ack(epoch: number, seq: number): void {
    if (epoch !== this.epoch || seq <= this.ackedSeq) return;
    this.ackedSeq = Math.min(seq, this.lastSeq);
    let freed = 0;
    const done: PendingEntry[] = [];
    while (this.pending.length && this.pending[0].seq <= this.ackedSeq) {
      const entry = this.pending.shift()!;
      done.push(entry);
      freed += entry.record.length;
    }
    this.pendingBytes -= freed;
    if (this.unspooled) return;
    if (this.pending.length === 0 && this.log.bytes > (this.opts.checkpointBytes ?? 8 * 1024 * 1024)) {
      // The newest delta is the epoch's snapshot (the first poll, a compaction): it holds the
      // whole state, so its bytes (all its parts') are the checkpoint; encoding everything
      // again would double the peak memory right after the biggest delta there is.
      const last = done[done.length - 1];
      const parts = last?.snapshot && last.seq === this.lastSeq ? done.slice(-Math.max(1, last.parts)) : [];
      const whole = parts.length > 0 && parts[0].part <= 1 && parts.every((p) => p.snapshot);
      try {
        if (whole) this.writeCheckpoint(joinRecords(parts.map((p) => p.record)));
        else this.checkpoint();
      } catch (err) {
        // The log still holds every delta after the old checkpoint: nothing to repair but the fault.
        this.deps.faults?.failed(SPOOL_STORE, err, { file: this.checkpointPath });
      }
    }
  }

  /**
   * Once per poll: while unspooled, try the disk again (every retry interval); otherwise check
   * that the spool's files are still there and whole. Never throws.
   */
  maintain(): void {
    if (this.unspooled) {
      if (this.now() - this.lastRetryAt < (this.opts.retryMs ?? 5_000)) return;
      this.recover();
      return;
    }
    const checkpointLost = this.hasCheckpoint && !existsSync(this.checkpointPath);
    const how = checkpointLost ? 'deleted' : this.log.check();
    if (how === 'ok') return;
    this.goUnspooled(new LostFileError(checkpointLost ? this.checkpointPath : this.log.path, how));
    this.recover();
  }

  private goUnspooled(err: unknown): void {
    this.unspooled = true;
    this.lastRetryAt = this.now();
    this.deps.faults?.failed(SPOOL_STORE, err, { dir: this.dir, keeping_in_memory: this.pending.length + 1 });
  }

  /** Writes what memory holds to disk: the acked state as a checkpoint, or a snapshot in a new epoch. */
  private recover(): void {
    this.lastRetryAt = this.now();
    if (this.pending.length > 0) {
      this.compactToSnapshot('spool writable again');
      return;
    }
    try {
      this.checkpoint();
      this.unspooled = false;
      this.deps.faults?.ok(SPOOL_STORE);
    } catch (err) {
      this.goUnspooled(err);
    }
  }

  /** Writes the acked state as the new checkpoint and empties the log. Only with nothing pending. */
  checkpoint(): void {
    if (this.pending.length > 0) return;
    const snapshot: Delta = {
      cluster: this.opts.cluster,
      epoch: this.epoch,
      seq: this.lastSeq,
      upserts: allObjects(this.objects),
      removals: [],
      observed_at: new Date(this.now()).toISOString(),
      snapshot: true,
      events: [],
      snapshot_part: 0,
      snapshot_parts: 0,
    };
    this.writeCheckpoint(encodeDelta(snapshot));
  }

  private writeCheckpoint(bytes: Uint8Array): void {
    this.atRest.writeFile(this.checkpointPath, CHECKPOINT_PURPOSE, bytes);
    this.hasCheckpoint = true;
    this.log.rewrite([]);
  }

  /**
   * Starts a new epoch whose first delta is a snapshot of everything: when the hub asks for it,
   * when the hub's position does not fit ours, or when the spool is full.
   */
  compactToSnapshot(reason: string, newEvents: FleetEvent[] = []): Delta {
    const previousEpoch = this.epoch;
    // Events are not state: the snapshot must carry the ones the hub has not acked yet.
    const events = [...this.pending.filter((p) => p.seq > this.ackedSeq).flatMap((p) => p.events), ...newEvents];
    this.startEpochInMemory();
    const snapshot: Delta = {
      cluster: this.opts.cluster,
      epoch: this.epoch,
      seq: 1,
      upserts: allObjects(this.objects),
      removals: [],
      observed_at: new Date(this.now()).toISOString(),
      snapshot: true,
      events,
      snapshot_part: 0,
      snapshot_parts: 0,
    };
    const entries = this.encodeSnapshot(snapshot);
    const bytes = entries.reduce((n, e) => n + e.record.length, 0);
    // Empty checkpoint for the new epoch, then the snapshot as its first logged delta(s). When
    // the disk refuses, the snapshot lives in memory like the deltas before it.
    try {
      this.atRest.writeFile(
        this.checkpointPath,
        CHECKPOINT_PURPOSE,
        encodeDelta({ cluster: this.opts.cluster, epoch: this.epoch, seq: 0, upserts: [], removals: [], observed_at: snapshot.observed_at, snapshot: true, events: [], snapshot_part: 0, snapshot_parts: 0 }),
      );
      this.hasCheckpoint = true;
      this.log.rewrite(entries.map((e) => e.record));
      if (this.unspooled) this.deps.logger.warn({ epoch: this.epoch }, 'spool: writable again; spooled a snapshot of what was kept in memory');
      this.unspooled = false;
      this.deps.faults?.ok(SPOOL_STORE);
    } catch (err) {
      this.goUnspooled(err);
    }
    this.lastSeq = entries[entries.length - 1].seq;
    this.ackedSeq = 0;
    this.pending = entries;
    this.pendingBytes = bytes;
    if (reason === 'spool full') this.compactions++;
    this.deps.logger.info({ reason, previousEpoch, epoch: this.epoch, objects: snapshot.upserts.length, parts: entries.length, bytes }, 'spool: new epoch from a snapshot');
    return { ...snapshot, seq: this.lastSeq };
  }

  close(): void {
    this.log.close();
  }
}
