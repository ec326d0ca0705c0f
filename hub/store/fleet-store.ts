// Standalone persistence: a data directory with, per cluster, a checkpoint (snapshot delta)
// and a write-ahead log of the deltas applied since. The hub writes a delta here (fsync)
// before applying and acking it, and a restarted hub serves the last state at once.
// With encryption on (deps.atRest) checkpoints and WALs are sealed, bound to their cluster; a
// file that fails authentication is set aside and the cluster resyncs from its agent.
// A write that fails (ENOSPC, EIO, EROFS) is counted in deps.faults and the delta is not acked
// (the agent sends it again). maintain(), once per flush interval, rewrites from memory every
// cluster whose WAL is broken (a failed write or fsync), deleted, replaced or truncated, or
// whose checkpoint is deleted, truncated or replaced: a checkpoint of the applied state and an empty WAL.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeDelta, type Delta } from '../../shared/delta/index.js';
import { FastDeltaDecoder } from '../ingest/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { AtRest, KeyServiceError, KeyUnavailableError, setAside, TamperedDataError } from '../../shared/crypto/index.js';
import { RecordLog } from '../../shared/record-log/index.js';
import { LostFileError, type WriteFaults } from '../../shared/durability/index.js';
import { snapshotOf, type ClusterRecord, type FleetChange, type FleetState } from '../fleet/index.js';

export interface FleetStoreOptions {
  dataDir: string;
  /** Fold the WAL into a new checkpoint once it is this large. */
  checkpointBytes?: number;
}

export class FleetStore {
  private readonly wals = new Map<string, RecordLog>();
  private readonly root: string;
  private readonly decoder = new FastDeltaDecoder();
  private readonly atRest: AtRest;
  /** Clusters whose checkpoint.bin exists (loaded or written), with its inode and size: its loss, a cut or a swap is a fault. */
  private readonly checkpointed = new Map<string, { ino: number; size: number }>();
  /** WAL writes running per cluster: maintain() leaves such a cluster alone. */
  private readonly writing = new Map<string, number>();

  constructor(
    private readonly opts: FleetStoreOptions,
    private readonly deps: { logger: Logger; atRest?: AtRest; faults?: WriteFaults },
  ) {
    this.atRest = deps.atRest ?? AtRest.plaintext();
    this.root = join(opts.dataDir, 'clusters');
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
  }

  private dir(cluster: string): string {
    return join(this.root, encodeURIComponent(cluster));
  }

  /**
   * Rebuilds every cluster from its checkpoint and WAL. `replayed` hears the changes of each
   * record applied (no watcher does): the export journal follows the WAL past its last save.
   */
  load(state: FleetState, replayed?: (cluster: string, changes: readonly FleetChange[]) => void): { clusters: number; deltas: number } {
    let deltas = 0;
    let clusters = 0;
    for (const entry of readdirSync(this.root)) {
      const dir = join(this.root, entry);
      const cluster = decodeURIComponent(entry);
      const checkpointPath = join(dir, 'checkpoint.bin');
      const walPath = join(dir, 'wal.log');
      if (existsSync(checkpointPath)) {
        try {
          const changes = state.apply(this.decoder.decodeDelta(this.atRest.readFile(checkpointPath, purpose(cluster, 'checkpoint'))!), { notify: false });
          replayed?.(cluster, changes);
          this.noteCheckpoint(cluster, checkpointPath);
        } catch (err) {
          // A missing key is the operator's to fix: never overwrite what it would open.
          if (err instanceof KeyUnavailableError || err instanceof KeyServiceError) throw err;
          if (err instanceof TamperedDataError) {
            setAside(checkpointPath);
            if (existsSync(walPath)) setAside(walPath);
          }
          this.deps.logger.error({ cluster, err: (err as Error).message }, 'store: unreadable checkpoint; the cluster will resync from its agent');
          continue;
        }
      }
      let opened;
      try {
        opened = RecordLog.open(walPath, { sealing: this.atRest.sealing(purpose(cluster, 'wal')) });
      } catch (err) {
        if (!(err instanceof TamperedDataError)) throw err;
        this.deps.logger.error({ cluster, moved_to: setAside(walPath), err: err.message }, 'store: the WAL failed authentication; set aside, the cluster resyncs from its agent');
        opened = RecordLog.open(walPath, { sealing: this.atRest.sealing(purpose(cluster, 'wal')) });
      }
      if (opened.truncatedBytes) this.deps.logger.warn({ cluster: entry, bytes: opened.truncatedBytes }, 'store: cut a torn record off the WAL');
      let malformed: { index: number; err: Error } | undefined;
      for (const [index, record] of opened.records.entries()) {
        let delta: Delta;
        try {
          delta = this.decoder.decodeDelta(record);
        } catch (err) {
          malformed = { index, err: err as Error };
          break;
        }
        if (state.fit(delta) !== 'apply') continue;
        const changes = state.apply(delta, { notify: false });
        replayed?.(delta.cluster, changes);
        deltas++;
      }
      this.wals.set(cluster, opened.log);
      if (malformed) this.dropMalformedWal(state, cluster, walPath, opened.records.length, malformed);
      clusters++;
    }
    return { clusters, deltas };
  }

  /**
   * A WAL record that passed the log's checksum but is not a delta (a bug or a disk that returned
   * other bytes): the hub still starts. What came before it is applied; the WAL is kept beside for
   * inspection and the cluster goes on from a checkpoint of that state. Later records cannot be
   * applied past the bad one (their sequence would have a gap), so the agent's next delta finds
   * the gap and the cluster resyncs from a snapshot.
   */
  private dropMalformedWal(state: FleetState, cluster: string, walPath: string, records: number, malformed: { index: number; err: Error }): void {
    const wal = this.wals.get(cluster)!;
    wal.close();
    this.wals.delete(cluster);
    const movedTo = setAside(walPath, 'malformed');
    this.deps.logger.error(
      { cluster, record: malformed.index + 1, of: records, skipped: records - malformed.index, moved_to: movedTo, err: malformed.err.message },
      'store: a WAL record is not a delta; applied what came before it, set the WAL aside, the cluster resyncs from its agent',
    );
    const record = state.clusters.get(cluster);
    try {
      if (record) this.checkpoint(record);
      else this.wal(cluster);
    } catch (err) {
      // The next maintain() rewrites it; until then the cluster is served from memory.
      this.deps.faults?.failed(STORE, err, { cluster });
    }
  }

  /**
   * Durable when it returns. A snapshot replaces checkpoint and WAL. `encoded`: the delta's bytes
   * when the caller has them (as received), so they are not encoded again.
   */
  append(delta: Delta, encoded?: Uint8Array): void {
    if (delta.snapshot) {
      this.writeCheckpoint(delta.cluster, delta, encoded);
      return;
    }
    this.wal(delta.cluster).append(encoded ?? encodeDelta(delta));
  }

  /**
   * Several deltas, durable when it returns: consecutive deltas of one cluster share one WAL
   * write and one fsync (group commit). Same files as appending them one by one.
   */
  appendBatch(batch: { delta: Delta; encoded?: Uint8Array }[]): void {
    for (const run of runs(batch)) {
      if (run.snapshot) this.append(run.snapshot, run.encoded);
      else this.wal(run.cluster).append(...run.bodies);
    }
  }

  /**
   * appendBatch, durable when the promise resolves: written now, the WAL fsync runs on the
   * thread pool so the event loop is not blocked by the disk (a snapshot still writes its
   * checkpoint at once). Batches of one cluster must not overlap: await each before the next.
   */
  async appendBatchDurable(batch: { delta: Delta; encoded?: Uint8Array }[]): Promise<void> {
    const clusters = [...new Set(batch.map((b) => b.delta.cluster))];
    for (const c of clusters) this.writing.set(c, (this.writing.get(c) ?? 0) + 1);
    try {
      const syncs: Promise<void>[] = [];
      for (const run of runs(batch)) {
        if (run.snapshot) this.append(run.snapshot, run.encoded);
        else syncs.push(this.wal(run.cluster).appendDurable(...run.bodies));
      }
      await Promise.all(syncs);
      this.deps.faults?.ok(STORE);
    } catch (err) {
      this.deps.faults?.failed(STORE, err, { clusters });
      throw err;
    } finally {
      for (const c of clusters) this.writing.set(c, this.writing.get(c)! - 1);
    }
  }

  /**
   * Once per flush interval: a cluster whose files were lost or whose WAL is broken is written
   * again from the applied state. Never throws; a rewrite that fails is retried next time.
   */
  maintain(state: FleetState): void {
    for (const [cluster, wal] of this.wals) {
      if ((this.writing.get(cluster) ?? 0) > 0) continue;
      const record = state.clusters.get(cluster);
      if (!record) continue;
      const checkpointPath = join(this.dir(cluster), 'checkpoint.bin');
      let problem: Error | undefined = wal.broken;
      if (!problem) problem = this.checkpointProblem(cluster, checkpointPath);
      const how = problem ? 'ok' : wal.check();
      if (how !== 'ok') problem = new LostFileError(wal.path, how);
      if (!problem) continue;
      if (problem instanceof LostFileError) this.deps.faults?.failed(STORE, problem, { cluster });
      try {
        this.checkpoint(record);
        this.deps.logger.warn({ cluster, why: problem.message }, 'store: rewrote the checkpoint and WAL from memory');
        this.deps.faults?.ok(STORE);
      } catch (err) {
        this.deps.faults?.failed(STORE, err, { cluster });
      }
    }
  }

  /** After apply: fold a grown WAL into a checkpoint of the current state. */
  maybeCheckpoint(record: ClusterRecord): void {
    const wal = this.wals.get(record.name);
    if (wal && wal.bytes > (this.opts.checkpointBytes ?? 64 * 1024 * 1024)) this.checkpoint(record);
  }

  checkpoint(record: ClusterRecord): void {
    this.writeCheckpoint(record.name, snapshotOf(record));
  }

  private writeCheckpoint(cluster: string, snapshot: Delta, encoded?: Uint8Array): void {
    const path = join(this.dir(cluster), 'checkpoint.bin');
    this.atRest.writeFile(path, purpose(cluster, 'checkpoint'), encoded ?? encodeDelta(snapshot));
    this.noteCheckpoint(cluster, path);
    this.wal(cluster).rewrite([]);
  }

  private noteCheckpoint(cluster: string, path: string): void {
    try {
      const st = statSync(path);
      this.checkpointed.set(cluster, { ino: st.ino, size: st.size });
    } catch {
      // written a moment ago: a file gone already is found by the next check
      this.checkpointed.set(cluster, { ino: -1, size: 0 });
    }
  }

  /** The checkpoint written or loaded is no longer whole at its path (deleted, cut, or another file put there). */
  private checkpointProblem(cluster: string, path: string): LostFileError | undefined {
    const known = this.checkpointed.get(cluster);
    if (!known) return undefined;
    let st;
    try {
      st = statSync(path);
    } catch {
      return new LostFileError(path, 'deleted');
    }
    if (st.size < known.size) return new LostFileError(path, 'truncated');
    if (known.ino >= 0 && st.ino !== known.ino) return new LostFileError(path, 'replaced');
    return undefined;
  }

  private wal(cluster: string): RecordLog {
    let wal = this.wals.get(cluster);
    if (!wal) {
      wal = RecordLog.open(join(this.dir(cluster), 'wal.log'), { sealing: this.atRest.sealing(purpose(cluster, 'wal')) }).log;
      this.wals.set(cluster, wal);
    }
    return wal;
  }

  close(state: FleetState): void {
    for (const [cluster, wal] of this.wals) {
      const record = state.clusters.get(cluster);
      try {
        if (record && wal.bytes > 0) this.checkpoint(record);
      } catch (err) {
        // The WAL still holds what the checkpoint would have: the next start replays it.
        this.deps.logger.error({ cluster, err: (err as Error).message }, 'store: could not write the checkpoint at close');
      }
      wal.close();
    }
    this.wals.clear();
  }
}

/** The store's name in WriteFaults and sfleet_hub_durable_write_errors_total. */
export const STORE = 'store';

/** Bound into every sealed record: a cluster's files cannot be swapped for another's. */
function purpose(cluster: string, file: 'checkpoint' | 'wal'): string {
  return `hub/store/${cluster}/${file}`;
}

type Run = { snapshot: Delta; encoded?: Uint8Array; cluster?: undefined; bodies?: undefined } | { snapshot?: undefined; encoded?: undefined; cluster: string; bodies: Uint8Array[] };

/** A batch as snapshots (each alone: it replaces the checkpoint) and runs of one cluster's deltas. */
function runs(batch: { delta: Delta; encoded?: Uint8Array }[]): Run[] {
  const out: Run[] = [];
  let i = 0;
  while (i < batch.length) {
    const { delta, encoded } = batch[i];
    if (delta.snapshot) {
      out.push({ snapshot: delta, encoded });
      i++;
      continue;
    }
    const bodies: Uint8Array[] = [];
    let j = i;
    for (; j < batch.length && !batch[j].delta.snapshot && batch[j].delta.cluster === delta.cluster; j++) {
      bodies.push(batch[j].encoded ?? encodeDelta(batch[j].delta));
    }
    out.push({ cluster: delta.cluster, bodies });
    i = j;
  }
  return out;
}
