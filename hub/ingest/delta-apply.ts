// The deltas of one active agent stream, applied strictly in seq order: durable before the ack,
// consecutive deltas grouped into one WAL write and fsync, a snapshot requested on a gap. The
// stages it runs each delta through are the hub's data path (DeltaPath, hub/pipeline.ts).
// While the data directory cannot be written, deltas are applied in memory and held, not acked
// (held-deltas.ts): the hub shows the changes, and acks them once a write works.
import type { Delta, HubMessage } from '../../generated/fleet/v1/agent.js';
import type { FleetError } from '../../shared/errors/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { endSpan, type Span, type SpanContext, type Tracing } from '../../shared/tracing/index.js';
import type { DeltaFit } from '../fleet/index.js';
import { ApplyFailedError, BadSnapshotPartError } from './errors.js';
import { HeldDeltas } from './held-deltas.js';
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
  /** The hub's deltas applied in memory and not yet durable (one per hub: a reconnect finds them). */
  held?: HeldDeltas;
}

/** How soon held deltas are written again when no delta comes to carry them. */
const HELD_RETRY_MS = 1_000;

export class DeltaApplier {
  /** Deltas received and not yet applied, in arrival order; drained once per event-loop turn. */
  private queue: Delta[] = [];
  /** A drain loop runs (scheduled or waiting for a WAL fsync). */
  private draining = false;
  private awaitingSnapshot = false;
  /** A snapshot arriving in parts, held until its last part. */
  private readonly parts = new SnapshotParts();
  private readonly held: HeldDeltas;
  /** Held deltas are waiting for a write that works: the next drain tries again. */
  private retryDue = false;
  private retryTimer?: NodeJS.Timeout;
  /** When writing held deltas last failed: a burst of resends does not retry the disk for each. */
  private heldFailedAt = 0;

  constructor(
    private readonly deps: DeltaApplierDeps,
    private readonly stream: DeltaStream,
  ) {
    this.held = deps.held ?? new HeldDeltas();
  }

  /** The position to name to the agent (acks, welcome): the durable one while deltas are held. */
  position(cluster = this.stream.cluster()): { epoch: number; seq: number } {
    return this.held.durableAt(cluster) ?? this.deps.path.position(cluster);
  }

  /**
   * Deltas are applied strictly one after another, in batches: every delta that arrived while
   * the previous batch was being made durable shares one WAL write and one fsync (group commit).
   */
  push(delta: Delta): void {
    this.queue.push(delta);
    this.kick();
  }

  private kick(): void {
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => void this.drain());
    }
  }

  /** Held deltas are written again in a while, if no delta carries them first. */
  private scheduleRetry(): void {
    if (this.retryTimer || this.stream.closed()) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stream.closed() || this.held.of(this.stream.cluster()).length === 0) return;
      this.retryDue = true;
      this.kick();
    }, HELD_RETRY_MS);
    this.retryTimer.unref();
  }

  /** Drops the deltas not yet durable (the stream was demoted: they are the agent's to resend). */
  clear(): void {
    this.queue = [];
    this.parts.reset();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async drain(): Promise<void> {
    try {
      while ((this.queue.length > 0 || this.retryDue) && !this.stream.closed() && !this.stream.refused()) {
        const batch = this.queue;
        this.queue = [];
        this.retryDue = false;
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
        // A resend of a held delta: a chance to make the held ones durable before answering
        // (at most once per retry interval: a reconnect resends up to the agent's whole window).
        if (Date.now() - this.heldFailedAt >= HELD_RETRY_MS) await this.commit([]);
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
    const { epoch, seq } = this.position();
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
   * Held deltas (applied while no write worked) are written first, in the same WAL write. If the
   * write fails, the deltas are applied in memory and held, not acked; past the hold's limit the
   * error ends the stream (the agent resends from its spool).
   */
  private async commit(deltas: Delta[]): Promise<void> {
    const cluster = this.stream.cluster();
    const held = [...this.held.of(cluster)];
    if ((deltas.length === 0 && held.length === 0) || this.stream.closed()) return;
    const { path, stats } = this.deps;
    const traced = this.applySpans(deltas);
    const spans = [...traced.values()];
    let saved = true;
    try {
      try {
        await path.durable(cluster, [...held, ...deltas]);
        stats.batches++;
      } catch (err) {
        if (!this.held.room(cluster, deltas.length)) throw err;
        saved = false;
        this.heldFailedAt = Date.now();
        if (held.length === 0) this.stream.log().warn({ err: (err as Error).message }, 'the data directory cannot be written: applying deltas in memory, acking them once a write works');
      }
      await new Promise<void>((resolve, reject) =>
        path.runSoon(() => {
          try {
            if (saved) this.savedHeld(cluster, held);
            this.applyDurable(deltas, traced, saved);
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
    if (!saved) this.scheduleRetry();
  }

  /** The held deltas written with this commit are durable: acked (cumulatively, by the last). */
  private savedHeld(cluster: string, written: readonly Delta[]): void {
    if (written.length === 0) return;
    this.held.saved(cluster, written);
    const last = written[written.length - 1];
    this.stream.log().info({ deltas: written.length, seq: last.seq }, 'held deltas are durable now: acked');
    this.stream.write({ body: { $case: 'ack', value: { epoch: last.epoch, seq: last.seq } } });
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

  /** Applies deltas in order: acked when they are in the WAL (`saved`), else held. */
  private applyDurable(deltas: Delta[], traced: ReadonlyMap<Delta, Span>, saved: boolean): void {
    const { path, stats } = this.deps;
    const log = this.stream.log();
    for (const delta of deltas) {
      // Another stream of this cluster (a stale one it replaced) may have applied it meanwhile.
      if (path.order(delta) !== 'apply') {
        this.ackPosition();
        continue;
      }
      const before = path.position(delta.cluster);
      const span = traced.get(delta);
      path.apply(delta, span?.isRecording() ? span.spanContext() : undefined);
      path.publish(delta);
      stats.deltasApplied++;
      if (!saved) {
        this.held.hold(delta.cluster, delta, before);
        continue;
      }
      path.checkpoint(delta.cluster);
      this.stream.write({ body: { $case: 'ack', value: { epoch: delta.epoch, seq: delta.seq } } });
      if (log.isLevelEnabled('debug')) log.debug({ seq: delta.seq, upserts: delta.upserts.length, removals: delta.removals.length }, 'delta applied');
    }
  }
}
