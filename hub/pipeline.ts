// The hub's data path, top-down, for every delta an agent sends:
//
//   decode  -> verify -> order -> durable -> apply -> publish
//
// - decode: AgentMessage bytes to a Delta (the fast decoder, ingest/decode/), keeping the
//   delta's bytes for the WAL;
// - verify: the stream speaks for its certificate's cluster only: the certificate and the hello
//   are checked once per stream (AgentSession, ingest/verify.ts), each delta here;
// - order: strictly by (epoch, seq): the next seq applies, an older one is acked again, a gap
//   asks the agent for a snapshot, a snapshot in parts waits for its last part (DeltaApplier);
// - durable: its events, then the deltas in one WAL write and fsync, before any ack;
// - apply: into the fleet state, in fair turns with other streams;
// - publish: to the other hubs of the region (replication); the watch feed follows the fleet
//   state's changes, and the events the event log. Then, now and then, the cluster's
//   checkpoint (after publishing, so the other hubs do not wait for a big one), and the ack.
//
// IngestRegistry (ingest/) serves the agent streams and runs each delta through these stages.
import type { AgentMessage, Delta } from '../generated/fleet/v1/agent.js';
import type { EventLog } from './events/index.js';
import type { FleetState } from './fleet/index.js';
import { ApplyTurns, checkDelta, FastDeltaDecoder, type DeltaFit, type IngestPath } from './ingest/index.js';
import type { FleetStore } from './store/index.js';
import type { SpanContext } from '../shared/tracing/index.js';
import type { WatchFeed } from './watch/index.js';

export interface HubPipelineDeps {
  state: Pick<FleetState, 'clusters' | 'cluster' | 'fit' | 'apply'>;
  /** The data directory (absent: nothing is durable, as in some tests). */
  store?: Pick<FleetStore, 'appendBatchDurable' | 'maybeCheckpoint'>;
  /** Where the events a delta carries go (deduplicated by id). */
  events?: Pick<EventLog, 'record'>;
  /** The watch feed: a traced delta's changes remember its apply span (watch delivery spans link to it). */
  watch?: Pick<WatchFeed, 'causedBy'>;
  /** After each delta is durable and applied (clustered hubs publish it to the others here). */
  onApplied?: (delta: Delta) => void;
}

export class HubPipeline implements IngestPath {
  readonly decoder = new FastDeltaDecoder();
  /** Each received delta's bytes, so the WAL stores them instead of encoding the delta again. */
  private readonly encoded = new WeakMap<Delta, Uint8Array>();
  private readonly turns = new ApplyTurns();
  /** cluster -> the span of its newest apply, while that apply was traced (alerting's cause of what it finds next). */
  private readonly causes = new Map<string, SpanContext>();

  constructor(private readonly deps: HubPipelineDeps) {
    // Decoded jobs and nodes reuse the strings of their stored versions that the update repeats
    // (an update changes a few fields): fewer strings to make, hash and collect.
    const { state } = deps;
    this.decoder.previous = {
      job: (cluster, id) => state.clusters.get(cluster)?.objects.job.get(id),
      node: (cluster, name) => state.clusters.get(cluster)?.objects.node.get(name),
    };
  }

  decode(bytes: Buffer): AgentMessage {
    return this.decoder.decodeAgentMessage(bytes, (delta, encoded) => this.encoded.set(delta, encoded));
  }

  verify(cluster: string, delta: Delta) {
    return checkDelta(cluster, delta);
  }

  order(delta: Delta): DeltaFit {
    return this.deps.state.fit(delta);
  }

  position(cluster: string): { epoch: number; seq: number } {
    const { epoch, seq } = this.deps.state.cluster(cluster);
    return { epoch, seq };
  }

  async durable(cluster: string, deltas: Delta[]): Promise<void> {
    const { events, store } = this.deps;
    // Events first: durable and deduplicated by id, so a crash before the ack only means the
    // agent resends them and nothing is recorded twice.
    for (const delta of deltas) events?.record(cluster, delta.events, delta);
    await store?.appendBatchDurable(deltas.map((delta) => ({ delta, encoded: this.encoded.get(delta) })));
  }

  runSoon(fn: () => void): void {
    this.turns.runSoon(fn);
  }

  apply(delta: Delta, cause?: SpanContext): void {
    const { state, watch } = this.deps;
    if (cause) this.causes.set(delta.cluster, cause);
    else this.causes.delete(delta.cluster);
    if (cause && watch) watch.causedBy(cause, () => state.apply(delta));
    else state.apply(delta);
  }

  /** The span of the cluster's newest apply, if it was traced. */
  applyCause(cluster: string): SpanContext | undefined {
    return this.causes.get(cluster);
  }

  publish(delta: Delta): void {
    this.deps.onApplied?.(delta);
  }

  checkpoint(cluster: string): void {
    const { state, store } = this.deps;
    store?.maybeCheckpoint(state.cluster(cluster));
  }
}
