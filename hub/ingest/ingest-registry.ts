// The hub's agent streams by cluster: which one may write (active), which wait (standby), and the
// hooks through which the region-wide cluster ownership (etcd) promotes and demotes them.
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { AgentServiceService, type AgentMessage, type Delta, type HubMessage } from '../../generated/fleet/v1/agent.js';
import { FastDeltaDecoder } from './decode/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { AuditLog } from '../audit/index.js';
import type { CommandRouter } from '../commands/index.js';
import type { EventLog } from '../events/index.js';
import type { FleetState } from '../fleet/index.js';
import type { ClusterOwnership, OwnershipTarget } from '../leader/index.js';
import type { FleetStore } from '../store/index.js';
import { AgentSession } from './agent-session.js';
import { ApplyTurns } from './apply-turns.js';
import type { AgentCertificates } from './certificate-renewal.js';

export interface IngestDeps {
  state: FleetState;
  store?: FleetStore;
  commands: CommandRouter;
  logger: Logger;
  hubId: string;
  heartbeatMs: number;
  /** Missed heartbeats after which an agent counts as gone and its standby is promoted. */
  failoverThreshold?: number;
  helloTimeoutMs?: number;
  /** Where the events a delta carries go (deduplicated by id). */
  events?: EventLog;
  /** After each delta is durable and applied (clustered hubs publish it to the others here). */
  onApplied?: (delta: Delta) => void;
  /** Revocation checks and certificate renewal for agent streams. */
  certificates?: AgentCertificates;
  /** Refusals (wrong certificate, wrong cluster) are audited before the stream closes. */
  audit?: Pick<AuditLog, 'record'>;
  /** Clustered hubs: which hub of the region may have the cluster's active agent (etcd). */
  ownership?: ClusterOwnership;
}

/** Streams by cluster: the one that may write. A newer stream replaces an older one. */
export class IngestRegistry {
  /** The one stream per cluster that may write. */
  readonly active = new Map<string, AgentSession>();
  /** Other agents of the cluster (the backup head node), in connection order: promoted in turn. */
  readonly standby = new Map<string, AgentSession[]>();
  readonly stats = { deltasApplied: 0, duplicates: 0, gaps: 0, snapshots: 0, rejected: 0, batches: 0 };
  readonly decoder = new FastDeltaDecoder();
  /** Each received delta's bytes, so the WAL stores them instead of encoding the delta again. */
  private readonly encoded = new WeakMap<Delta, Uint8Array>();
  /**
   * The AgentService definition to serve: the generated one, with a request decoder that is
   * faster for deltas (same result) and remembers their bytes.
   */
  readonly service: typeof AgentServiceService = {
    ...AgentServiceService,
    connect: {
      ...AgentServiceService.connect,
      requestDeserialize: (bytes: Buffer): AgentMessage => this.decoder.decodeAgentMessage(bytes, (delta, encoded) => this.encoded.set(delta, encoded)),
    },
  };

  private readonly turns = new ApplyTurns();

  constructor(readonly deps: IngestDeps) {
    // Decoded jobs and nodes reuse the strings of their stored versions that the update repeats
    // (an update changes a few fields): fewer strings to make, hash and collect.
    const { state } = deps;
    this.decoder.previous = {
      job: (cluster, id) => state.clusters.get(cluster)?.objects.job.get(id),
      node: (cluster, name) => state.clusters.get(cluster)?.objects.node.get(name),
    };
  }

  /** Runs fn (applying one stream's durable deltas) on the event loop, in fair turns with the other streams'. */
  runSoon(fn: () => void): void {
    this.turns.runSoon(fn);
  }

  /** The bytes a received delta was decoded from (undefined for deltas made in this process). */
  encodedBytes(delta: Delta): Uint8Array | undefined {
    return this.encoded.get(delta);
  }

  handle(call: ServerDuplexStream<AgentMessage, HubMessage>): void {
    new AgentSession(call, this).start();
  }

  /** The first standby of the cluster that still beats (the next to promote), left in the list. */
  liveStandby(cluster: string): AgentSession | undefined {
    return this.standby.get(cluster)?.find((s) => !s.silent());
  }

  /** liveStandby, taken out of the standby list (it is about to be activated). */
  takeStandby(cluster: string): AgentSession | undefined {
    const list = this.standby.get(cluster);
    const next = this.liveStandby(cluster);
    if (next) list!.splice(list!.indexOf(next), 1);
    return next;
  }

  /** Clustered hubs: one active agent per cluster fleet-wide, by the ownership in etcd. */
  useOwnership(ownership: ClusterOwnership & { attach(target: OwnershipTarget): void }): void {
    this.deps.ownership = ownership;
    ownership.attach({
      activeAgents: () => new Map([...this.active].map(([cluster, s]) => [cluster, s.agentName])),
      waitingClusters: () => {
        const waiting = new Map<string, string>();
        for (const cluster of this.standby.keys()) {
          const next = this.liveStandby(cluster);
          if (next && !this.active.has(cluster)) waiting.set(cluster, next.agentName);
        }
        return waiting;
      },
      promote: (cluster, reason) => {
        if (this.active.has(cluster)) return false;
        const next = this.takeStandby(cluster);
        if (!next) return false;
        next.activate(reason);
        return true;
      },
      demote: (cluster, reason) => this.active.get(cluster)?.demote(reason),
    });
  }
}
