// The deltas of one active agent stream, applied strictly in seq order: durable before the ack,
// consecutive deltas grouped into one WAL write and fsync, a snapshot requested on a gap. The
// stages it runs each delta through are the hub's data path (DeltaPath, hub/pipeline.ts).
import type { Delta, HubMessage } from '../../generated/fleet/v1/agent.js';
import type { FleetError } from '../../shared/errors/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { endSpan, type Span, type SpanContext, type Tracing } from '../../shared/tracing/index.js';
import type { DeltaFit } from '../fleet/index.js';
import { ApplyFailedError, BadSnapshotPartError } from './errors.js';
import { SnapshotParts } from './snapshot-parts.js';
import type { IngestStats } from './stats.js';

/** What the applier needs of its stream (AgentSession). */
export interface DeltaStream {
  /** The cluster the stream speaks for (set by the hello, before any delta). */
  cluster(): string;
  log(): Logger;
  closed(): boolean;
  /** A refusal is being audited: nothing more is applied. */
  refused(): boolean;
  write(msg: HubMessage): void;
  /** Ends the stream after the refusal is audited. */
  refuse(err: FleetError): void;
  end(err: FleetError): void;
}


/** The hub's data path after decoding, stage by stage (implemented by HubPipeline). */
export interface DeltaPath {
  /** verify: the delta speaks for the stream's cluster only. */
  verify(cluster: string, delta: Delta): FleetError | undefined;
  /** order: does the delta follow what the hub holds (the next seq, a snapshot)? */
  order(delta: Delta): DeltaFit;
  /** What the hub holds for a cluster: the position an ack or a snapshot request names. */
  position(cluster: string): { epoch: number; seq: number };
  /** durable: the deltas' events, then the deltas in one WAL write and fsync. */
  durable(cluster: string, deltas: Delta[]): Promise<void>;
  /** Runs fn (applying durable deltas) on the event loop, in fair turns with the other streams'. */
  runSoon(fn: () => void): void;
  /** apply: into the fleet state; `cause`, the delta's apply span, for the watch deliveries it leads to. */
  apply(delta: Delta, cause?: SpanContext): void;
  /** publish: to whoever follows this hub's deltas (replication); watchers follow the state. */
  publish(delta: Delta): void;
  /** Now and then the cluster's whole state to the data directory (after publish: other hubs need not wait for it). */
  checkpoint(cluster: string): void;
}

export interface DeltaApplierDeps {
  path: DeltaPath;
  stats: IngestStats;
  /** Deltas an agent traced (Delta.traceparent) get an apply span, child of the agent's poll. */
  tracing?: Tracing;
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
    private readonly deps: DeltaApplierDeps,
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
      this.stream.end(new ApplyFailedError());
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
    const { path, stats } = this.deps;
    const cluster = this.stream.cluster();
    let run: Delta[] = [];
    for (let delta of batch) {
      if (this.stream.closed()) return;
      const wrong = path.verify(cluster, delta);
      if (wrong) {
        await this.commit(run);
        stats.rejected++;
        this.stream.refuse(wrong);
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
      const fit = path.order(delta);
      if (fit === 'duplicate') {
        stats.duplicates++;
        this.ackPosition();
        continue;
      }
      if (fit === 'gap') {
        stats.gaps++;
        if (!this.awaitingSnapshot) {
          this.awaitingSnapshot = true;
          const have = path.position(cluster);
          this.stream.log().info({ have: [have.epoch, have.seq], got: [delta.epoch, delta.seq] }, 'gap in the stream: asking for a snapshot');
          this.stream.write({ body: { $case: 'snapshot_request', value: { reason: `hub has epoch ${have.epoch} seq ${have.seq}, got epoch ${delta.epoch} seq ${delta.seq}` } } });
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
    const { epoch, seq } = this.deps.path.position(this.stream.cluster());
    this.stream.write({ body: { $case: 'ack', value: { epoch, seq } } });
  }

  /**
   * One delta while a snapshot may be arriving in parts: a part already applied is acked again
   * (a resend after a reconnect), the others are held until the last part makes the snapshot
   * whole. A plain delta in the middle of a snapshot's parts drops the half snapshot (the
   * delta then goes its usual way: most likely a gap, answered by a snapshot request).
   */
  private takePart(delta: Delta): Delta | undefined {
    if (delta.snapshot_parts === 0) {
      this.parts.reset();
      return delta;
    }
    if (this.deps.path.order(delta) === 'duplicate') {
      this.deps.stats.duplicates++;
      this.ackPosition();
      return undefined;
    }
    try {
      return this.parts.add(delta);
    } catch (err) {
      if (!(err instanceof BadSnapshotPartError)) throw err;
      this.deps.stats.rejected++;
      this.stream.end(err);
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
    const { path, stats } = this.deps;
    const traced = this.applySpans(deltas);
    const spans = [...traced.values()];
    try {
      await path.durable(this.stream.cluster(), deltas);
      stats.batches++;
      await new Promise<void>((resolve, reject) =>
        path.runSoon(() => {
          try {
            this.applyDurable(deltas, traced);
            resolve();
          } catch (err) {
            reject(err as Error);
          }
        }),
      );
    } catch (err) {
      for (const span of spans) endSpan(span, err);
      throw err;
    }
    for (const span of spans) endSpan(span);
  }

  /** One span per traced delta: durable write, apply and ack (the WAL write is shared by the batch). */
  private applySpans(deltas: Delta[]): Map<Delta, Span> {
    const spans = new Map<Delta, Span>();
    const tracing = this.deps.tracing;
    if (!tracing?.enabled) return spans;
    for (const d of deltas) {
      if (!d.traceparent) continue;
      spans.set(d, tracing.startSpan('hub.apply', { parent: d.traceparent, attributes: { 'sfleet.cluster': d.cluster, 'sfleet.epoch': d.epoch, 'sfleet.seq': d.seq, 'sfleet.upserts': d.upserts.length, 'sfleet.removals': d.removals.length, 'sfleet.batch': deltas.length } }));
    }
    return spans;
  }

  /** Applies and acks deltas that are in the WAL, in order. */
  private applyDurable(deltas: Delta[], traced: ReadonlyMap<Delta, Span>): void {
    const { path, stats } = this.deps;
    const log = this.stream.log();
    for (const delta of deltas) {
      // Another stream of this cluster (a stale one it replaced) may have applied it meanwhile.
      if (path.order(delta) !== 'apply') {
        this.ackPosition();
        continue;
      }
      const span = traced.get(delta);
      path.apply(delta, span?.isRecording() ? span.spanContext() : undefined);
      path.publish(delta);
      stats.deltasApplied++;
      path.checkpoint(delta.cluster);
      this.stream.write({ body: { $case: 'ack', value: { epoch: delta.epoch, seq: delta.seq } } });
      if (log.isLevelEnabled('debug')) log.debug({ seq: delta.seq, upserts: delta.upserts.length, removals: delta.removals.length }, 'delta applied');
    }
  }
}
