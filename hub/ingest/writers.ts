// Which agent stream may write each cluster: one active writer per cluster, the others standby
// in connection order (the backup head node), promoted in turn. The role machine lives here and
// only here:
//
//   hello -> claim: no writer here -> active (standalone), or pending while the region-wide
//                   ownership (etcd) is asked -> active | standby
//                   a live writer of another agent -> standby
//                   the same agent again, or a silent writer -> the new stream takes over
//   demote (another hub owns the cluster)   active -> standby
//   release (the stream ended)              active -> the first live standby, or nobody
//
// Clustered hubs: the ownership asks this (as its OwnershipTarget) to promote and demote.
import type { FleetError } from '../../shared/errors/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { FleetState } from '../fleet/index.js';
import type { ClusterOwnership, OwnershipTarget } from '../leader/index.js';
import { AgentSilentError, SupersededError } from './errors.js';

export type WriterRole = 'active' | 'standby' | 'pending';

/** What the role machine needs of a stream (AgentSession). */
export interface Writer {
  /** The cluster it spoke for in its hello, and its agent's name. */
  readonly cluster: string;
  readonly agentName: string;
  /** Missed more heartbeats than the failover threshold allows. */
  silent(): boolean;
  /** Ended (closed, refused): it takes no role any more. */
  ended(): boolean;
  /** Tells the agent its role (welcome, or a role change) and starts or stops its writing. */
  takeRole(role: 'active' | 'standby', reason: string): void;
  /** Ends the stream with this error. */
  end(err: FleetError): void;
}

/** The region-wide ownership, when clustered; attach() hands it this hub's side. */
export type AttachableOwnership = ClusterOwnership & { attach(target: OwnershipTarget): void };

export interface ClusterWritersDeps {
  logger: Logger;
  state: Pick<FleetState, 'cluster' | 'setAgentStatus'>;
  /** Clustered hubs: which hub of the region may have the cluster's active agent (etcd). */
  ownership?: AttachableOwnership;
}

export class ClusterWriters<W extends Writer = Writer> implements OwnershipTarget {
  /** The one stream per cluster that may write. */
  private readonly active = new Map<string, W>();
  /** Other agents of the cluster, in connection order: promoted in turn. */
  private readonly standby = new Map<string, W[]>();
  private readonly roles = new WeakMap<W, WriterRole>();

  constructor(private readonly deps: ClusterWritersDeps) {
    deps.ownership?.attach(this);
  }

  /** The cluster's active writer on this hub. */
  writerOf(cluster: string): W | undefined {
    return this.active.get(cluster);
  }

  /** The active writers by cluster (read-only view). */
  get writers(): ReadonlyMap<string, W> {
    return this.active;
  }

  roleOf(w: W): WriterRole | undefined {
    return this.roles.get(w);
  }

  /** A stream said hello: it becomes the writer, waits as a standby, or waits for the ownership. */
  claim(w: W): void {
    const current = this.active.get(w.cluster);
    if (current && current !== w) {
      if (current.agentName !== w.agentName && !current.silent()) {
        this.standBy(w);
        return;
      }
      // This hub owns the cluster already: the new stream takes over before the old one
      // ends, so the ownership is not released in between.
      this.active.set(w.cluster, w);
      // The same agent again (a restart, a new connection): the old stream is stale.
      current.end(current.agentName === w.agentName ? new SupersededError(w.agentName, w.cluster) : AgentSilentError.replaced());
      this.activate(w, 'connected');
      return;
    }
    const ownership = this.deps.ownership;
    if (!ownership) {
      this.activate(w, 'connected');
      return;
    }
    // No agent of the cluster is active here: another hub of the region may have one.
    this.roles.set(w, 'pending');
    void ownership.acquire(w.cluster, w.agentName).then(
      (owned) => this.settle(w, owned),
      () => this.settle(w, false),
    );
  }

  private settle(w: W, owned: boolean): void {
    const other = this.active.get(w.cluster);
    if (w.ended()) {
      if (owned && !other) this.deps.ownership?.release(w.cluster);
      return;
    }
    // Another agent of the cluster may have become active here meanwhile.
    if (owned && !other) this.activate(w, 'connected');
    else this.standBy(w);
  }

  private standBy(w: W): void {
    this.roles.set(w, 'standby');
    this.queue(w.cluster).push(w);
    w.takeRole('standby', 'another agent of the cluster is active');
  }

  /** Makes the stream the cluster's writer: on connect (welcome) or on promotion (role change). */
  private activate(w: W, reason: string): void {
    this.roles.set(w, 'active');
    this.active.set(w.cluster, w);
    w.takeRole('active', reason);
    this.deps.state.setAgentStatus(w.cluster, { connected: true, agent: w.agentName });
  }

  /** Another hub owns the cluster now: its writer here stops writing and waits first in line. */
  demote(cluster: string, reason: string): void {
    const w = this.active.get(cluster);
    if (!w || w.ended()) return;
    this.roles.set(w, 'standby');
    this.active.delete(cluster);
    this.queue(cluster).unshift(w);
    w.takeRole('standby', reason);
    // Still connected (to the region, through the owning hub); watchers hear of the change.
    this.deps.state.setAgentStatus(cluster, { connected: this.deps.state.cluster(cluster).connected });
  }

  /** The stream ended: its first live standby takes over, or the cluster has no agent here. */
  release(w: W): void {
    this.roles.delete(w);
    const standby = this.standby.get(w.cluster);
    if (standby?.includes(w)) standby.splice(standby.indexOf(w), 1);
    if (!w.cluster || this.active.get(w.cluster) !== w) return;
    this.active.delete(w.cluster);
    const next = this.takeStandby(w.cluster);
    if (next) {
      this.activate(next, `agent ${w.agentName} went away`);
      return;
    }
    this.deps.state.setAgentStatus(w.cluster, { connected: false });
    this.deps.ownership?.release(w.cluster);
    this.deps.logger.info({ cluster: w.cluster, agent: w.agentName }, 'agent disconnected');
  }

  // ---- OwnershipTarget: what the region-wide ownership sees and asks of this hub -----------

  activeAgents(): Map<string, string> {
    return new Map([...this.active].map(([cluster, w]) => [cluster, w.agentName]));
  }

  waitingClusters(): Map<string, string> {
    const waiting = new Map<string, string>();
    for (const cluster of this.standby.keys()) {
      const next = this.liveStandby(cluster);
      if (next && !this.active.has(cluster)) waiting.set(cluster, next.agentName);
    }
    return waiting;
  }

  promote(cluster: string, reason: string): boolean {
    if (this.active.has(cluster)) return false;
    const next = this.takeStandby(cluster);
    if (!next) return false;
    this.activate(next, reason);
    return true;
  }

  private queue(cluster: string): W[] {
    let list = this.standby.get(cluster);
    if (!list) this.standby.set(cluster, (list = []));
    return list;
  }

  /** The first standby of the cluster that still beats (the next to promote). */
  private liveStandby(cluster: string): W | undefined {
    return this.standby.get(cluster)?.find((w) => !w.silent());
  }

  /** liveStandby, taken out of the standby list (it is about to be activated). */
  private takeStandby(cluster: string): W | undefined {
    const list = this.standby.get(cluster);
    const next = this.liveStandby(cluster);
    if (next) list!.splice(list!.indexOf(next), 1);
    return next;
  }
}
