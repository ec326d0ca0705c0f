// The deltas of one active agent stream, applied strictly in seq order: durable before the ack,
// consecutive deltas grouped into one WAL write and fsync, a snapshot requested on a gap.
import { status } from '@grpc/grpc-js';
import type { Delta, HubMessage } from '../../generated/fleet/v1/agent.js';
import type { Logger } from '../../shared/logging/index.js';
import type { IngestRegistry } from './ingest-registry.js';
import { SnapshotPartError, SnapshotParts } from './snapshot-parts.js';

/** What the applier needs of its stream (AgentSession). */
export interface DeltaStream {
  /** The cluster the stream speaks for (set by the hello, before any delta). */
  cluster(): string;
  log(): Logger;
  closed(): boolean;
  /** A refusal is being audited: nothing more is applied. */
  refused(): boolean;
  write(msg: HubMessage): void;
  refuse(code: status, details: string): void;
  fail(code: status, details: string): void;
}

export class DeltaApplier {
  /** Deltas received and not yet applied, in arrival order; drained once per event-loop turn. */
  private queue: Delta[] = [];
  /** A drain loop runs (scheduled or waiting for a WAL fsync). */
  private draining = false;
  private awaitingSnapshot = false;
  /** A snapshot arriving in parts, held until its last part. */
  private readonly parts = new SnapshotParts();

  constructor(
    private readonly registry: IngestRegistry,
    private readonly stream: DeltaStream,
  ) {}

  /**
   * Deltas are applied strictly one after another, in batches: every delta that arrived while
   * the previous batch was being made durable shares one WAL write and one fsync (group commit).
   */
  push(delta: Delta): void {
    this.queue.push(delta);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => void this.drain());
    }
  }

  /** Drops the deltas not yet durable (the stream was demoted: they are the agent's to resend). */
  clear(): void {
    this.queue = [];
    this.parts.reset();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.stream.closed() && !this.stream.refused()) {
        const batch = this.queue;
        this.queue = [];
        await this.applyBatch(batch);
      }
    } catch (err) {
      this.stream.log().error({ err: (err as Error).message }, 'applying a delta failed');
      this.stream.fail(status.INTERNAL, 'SF_INGEST_APPLY_FAILED: the hub could not store the delta');
    } finally {
      this.draining = false;
    }
  }

  /**
   * Exactly what applying the deltas one by one does (check, durable write, apply, ack each),
   * except that a run of consecutive deltas is written to the WAL with one fsync before any of
   * them is applied or acked: still "ack only after a durable apply".
   */
  private async applyBatch(batch: Delta[]): Promise<void> {
    const { state } = this.registry.deps;
    const stats = this.registry.stats;
    const cluster = this.stream.cluster();
    let run: Delta[] = [];
    for (let delta of batch) {
      if (this.stream.closed()) return;
      if (delta.cluster !== cluster || delta.upserts.some((o) => o.kind && o.kind.value.cluster !== cluster)) {
        await this.commit(run);
        stats.rejected++;
        this.stream.refuse(status.PERMISSION_DENIED, `SF_INGEST_WRONG_CLUSTER: this stream speaks for cluster "${cluster}" only`);
        return;
      }
      if (delta.snapshot_parts > 0 || this.parts.collecting) {
        await this.commit(run);
        run = [];
        if (this.stream.closed()) return;
        const whole = this.takePart(delta);
        if (!whole) continue;
        delta = whole;
      }
      // The next seq after the run's last delta fits without asking the state (not applied yet).
      const last = run[run.length - 1];
      if (last && !delta.snapshot && delta.epoch === last.epoch && delta.seq === last.seq + 1) {
        run.push(delta);
        continue;
      }
      await this.commit(run);
      run = [];
      if (this.stream.closed()) return;
      const fit = state.fit(delta);
      if (fit === 'duplicate') {
        stats.duplicates++;
        this.ackPosition();
        continue;
      }
      if (fit === 'gap') {
        stats.gaps++;
        if (!this.awaitingSnapshot) {
          this.awaitingSnapshot = true;
          const record = state.cluster(cluster);
          this.stream.log().info({ have: [record.epoch, record.seq], got: [delta.epoch, delta.seq] }, 'gap in the stream: asking for a snapshot');
          this.stream.write({ body: { $case: 'snapshot_request', value: { reason: `hub has epoch ${record.epoch} seq ${record.seq}, got epoch ${delta.epoch} seq ${delta.seq}` } } });
        }
        continue;
      }
      if (delta.snapshot) {
        // A snapshot replaces the checkpoint: it is committed on its own.
        this.awaitingSnapshot = false;
        stats.snapshots++;
        await this.commit([delta]);
      } else run.push(delta);
    }
    await this.commit(run);
  }

  /** Acks what the hub holds for the cluster (the answer to a delta it already has). */
  private ackPosition(): void {
    const record = this.registry.deps.state.cluster(this.stream.cluster());
    this.stream.write({ body: { $case: 'ack', value: { epoch: record.epoch, seq: record.seq } } });
  }

  /**
   * One delta while a snapshot may be arriving in parts: a part already applied is acked again
   * (a resend after a reconnect), the others are held until the last part makes the snapshot
   * whole. A plain delta in the middle of a snapshot's parts drops the half snapshot (the
   * delta then goes its usual way: most likely a gap, answered by a snapshot request).
   */
  private takePart(delta: Delta): Delta | undefined {
    const { state } = this.registry.deps;
    if (delta.snapshot_parts === 0) {
      this.parts.reset();
      return delta;
    }
    if (state.fit(delta) === 'duplicate') {
      this.registry.stats.duplicates++;
      this.ackPosition();
      return undefined;
    }
    try {
      return this.parts.add(delta);
    } catch (err) {
      if (!(err instanceof SnapshotPartError)) throw err;
      this.registry.stats.rejected++;
      this.stream.fail(status.INVALID_ARGUMENT, err.message);
      return undefined;
    }
  }

  /**
   * Durable first (events, then the deltas in one WAL write and fsync), then apply and ack each.
   * The fsync runs off the event loop; what is durable is applied even if the stream closed
   * meanwhile (the state must hold what the WAL holds), and only acked on a live stream.
   */
  private async commit(deltas: Delta[]): Promise<void> {
    if (deltas.length === 0 || this.stream.closed()) return;
    const { store, events } = this.registry.deps;
    const cluster = this.stream.cluster();
    // Events first: durable and deduplicated by id, so a crash before the ack only means the
    // agent resends them and nothing is recorded twice.
    for (const delta of deltas) events?.record(cluster, delta.events);
    await store?.appendBatchDurable(deltas.map((delta) => ({ delta, encoded: this.registry.encodedBytes(delta) })));
    this.registry.stats.batches++;
    await new Promise<void>((resolve, reject) =>
      this.registry.runSoon(() => {
        try {
          this.applyDurable(deltas);
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      }),
    );
  }

  /** Applies and acks deltas that are in the WAL, in order. */
  private applyDurable(deltas: Delta[]): void {
    const { state, store, logger, onApplied } = this.registry.deps;
    const stats = this.registry.stats;
    const cluster = this.stream.cluster();
    for (const delta of deltas) {
      // Another stream of this cluster (a stale one it replaced) may have applied it meanwhile.
      if (state.fit(delta) !== 'apply') {
        this.ackPosition();
        continue;
      }
      state.apply(delta);
      onApplied?.(delta);
      stats.deltasApplied++;
      const record = state.cluster(cluster);
      store?.maybeCheckpoint(record);
      this.stream.write({ body: { $case: 'ack', value: { epoch: delta.epoch, seq: delta.seq } } });
      if (logger.isLevelEnabled('debug')) this.stream.log().debug({ seq: delta.seq, upserts: delta.upserts.length, removals: delta.removals.length }, 'delta applied');
    }
  }
}
