// The hub's agent streams: the AgentService it serves (decoding through the data path's first
// stage), one AgentSession per stream, and the ClusterWriters that decide which stream of each
// cluster may write. Everything it needs comes in its constructor.
import { ConnectionActivity } from '../limits/index.js';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { AgentServiceService, type AgentMessage, type HubMessage } from '../../generated/fleet/v1/agent.js';
import { systemClock, type Clock } from '../../shared/clock/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { Tracing } from '../../shared/tracing/index.js';
import type { AuditLog } from '../audit/index.js';
import type { CommandRouter } from '../commands/index.js';
import type { FleetState } from '../fleet/index.js';
import { AgentSession } from './agent-session.js';
import { AgentReports } from './agent-reports.js';
import type { AgentCertificates } from './certificate-renewal.js';
import type { DeltaPath } from './delta-apply.js';
import { HeldDeltas, HELD_MAX_AGE_IN_GROUP_MS } from './held-deltas.js';
import { newIngestStats, type IngestStats } from './stats.js';
import { ClusterWriters, type AttachableOwnership } from './writers.js';

/** The data path as ingest uses it: decode first, then the stages a DeltaApplier runs. */
export interface IngestPath extends DeltaPath {
  /** decode: AgentMessage bytes (a delta's bytes are kept for the WAL). */
  decode(bytes: Buffer): AgentMessage;
}

export interface IngestDeps {
  /** The hub's data path (HubPipeline, hub/pipeline.ts). */
  path: IngestPath;
  /** The clusters' records: positions for welcomes, agent status, Slurm API version. */
  state: Pick<FleetState, 'cluster' | 'setAgentStatus'>;
  commands: Pick<CommandRouter, 'attach' | 'resolve'>;
  logger: Logger;
  hubId: string;
  heartbeatMs: number;
  /** Missed heartbeats after which an agent counts as gone and its standby is promoted (3). */
  failoverThreshold?: number;
  helloTimeoutMs?: number;
  /** Revocation checks and certificate renewal for agent streams. */
  certificates?: AgentCertificates;
  /** Refusals (wrong certificate, wrong cluster) are audited before the stream closes. */
  audit?: Pick<AuditLog, 'record'>;
  /** Clustered hubs: which hub of the region may have the cluster's active agent (etcd). */
  ownership?: AttachableOwnership;
  /** Where heartbeats and silences read the time (default: the system clock). */
  clock?: Clock;
  /** Apply spans for the deltas agents traced. */
  tracing?: Tracing;
  /** Deltas per cluster applied in memory while the data directory cannot be written (default HELD_DELTAS_LIMIT). */
  heldLimit?: number;
}

export class IngestRegistry {
  readonly stats: IngestStats = newIngestStats();
  /** The last heartbeat report of each agent streaming here (per-agent metrics). */
  readonly reports: AgentReports;
  readonly writers: ClusterWriters<AgentSession>;
  /** The AgentService definition to serve: the generated one, decoding through the data path. */
  readonly service: typeof AgentServiceService;
  /** Bytes read per gRPC connection (the listener tracks them): an agent sending is heard. */
  readonly connections = new ConnectionActivity();
  /** Deltas applied in memory while the data directory could not be written, not yet acked. */
  readonly held: HeldDeltas;

  constructor(private readonly deps: IngestDeps) {
    const { path } = deps;
    this.reports = new AgentReports(deps.clock ?? systemClock);
    // In a group another hub can take the agent: the hold is bounded in time (held-deltas.ts).
    this.held = new HeldDeltas(deps.heldLimit, deps.ownership ? HELD_MAX_AGE_IN_GROUP_MS : Number.POSITIVE_INFINITY);
    this.service = { ...AgentServiceService, connect: { ...AgentServiceService.connect, requestDeserialize: (bytes: Buffer) => path.decode(bytes) } };
    this.writers = new ClusterWriters<AgentSession>({ logger: deps.logger, state: deps.state, ownership: deps.ownership });
  }

  /** The cluster's active stream on this hub, by cluster. */
  get active(): ReadonlyMap<string, AgentSession> {
    return this.writers.writers;
  }

  /** Clusters whose active agent streams to this hub. */
  ingesting(): ReadonlySet<string> {
    return new Set(this.writers.writers.keys());
  }

  handle(call: ServerDuplexStream<AgentMessage, HubMessage>): void {
    const { deps } = this;
    new AgentSession(call, {
      writers: this.writers,
      applier: { path: deps.path, stats: this.stats, held: this.held, ...(deps.tracing ? { tracing: deps.tracing } : {}) },
      state: deps.state,
      commands: deps.commands,
      certificates: deps.certificates,
      audit: deps.audit,
      logger: deps.logger,
      clock: deps.clock ?? systemClock,
      stats: this.stats,
      reports: this.reports,
      hubId: deps.hubId,
      heartbeatMs: deps.heartbeatMs,
      failoverThreshold: deps.failoverThreshold ?? 3,
      helloTimeoutMs: deps.helloTimeoutMs ?? 10_000,
      connectionBytes: (peer) => this.connections.bytesRead(peer),
    }).start();
  }
}
