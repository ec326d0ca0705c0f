// The fleet's live state: every cluster's objects, the (epoch, seq) applied for each, job
// indexes, and a feed of changes for watchers. apply() is pure state manipulation; the ingest
// layer decides what may be applied (seq order) and makes it durable first.
// Not an event bus: listeners subscribe to the two typed feeds (onChanges, onClusterStatus),
// and only FleetState itself notifies them, from apply() and setAgentStatus().
import { applyDelta, emptyObjects, objectKeyOfRef, type AppliedChange, type ClusterObjects, type Delta } from '../../shared/delta/index.js';
import { isoNow, systemClock, type Clock } from '../../shared/clock/index.js';
import { KINDS, type Job, type KindName, type KindTypes } from '../../shared/model/index.js';
import { JobIndex, type ClusterJobIndex } from './job-index.js';
import { JobOrder } from './job-order.js';
import { JobSortIndex } from './job-sort-index.js';

export interface ClusterRecord {
  name: string;
  epoch: number;
  seq: number;
  objects: ClusterObjects;
  lastDeltaAt?: string;
  lastObservedAt?: string;
  /** The agent currently streaming for this cluster, if any. */
  agent?: string;
  connected: boolean;
  slurmApiVersion: string;
}

export interface FleetChange extends AppliedChange {
  cluster: string;
}

/** How a delta relates to what the hub holds for its cluster. */
export type DeltaFit = 'apply' | 'duplicate' | 'gap';

/** Who streams for a cluster now, as setAgentStatus() takes it. */
export interface AgentStatus {
  /** An agent of the cluster streams to this hub, or (clustered) to another hub of the region. */
  connected: boolean;
  /** The agent streaming for it; omitted: the one named before stays (a gone agent is still named). */
  agent?: string;
}

/** Where a cluster stood: (epoch, seq). Every hub holds the same state at the same place. */
export interface StatePosition {
  epoch: number;
  seq: number;
}

/** Where the delta took its cluster (the watch feed's resumable ids use it). */
export interface AppliedDelta {
  from: StatePosition;
  to: StatePosition;
  snapshot: boolean;
}

export type ChangesListener = (changes: readonly FleetChange[], applied: AppliedDelta) => void;
export type ClusterStatusListener = (record: Readonly<ClusterRecord>) => void;

export interface FleetStateDeps {
  /** For lastDeltaAt; systemClock when omitted. */
  clock?: Clock;
}

export class FleetState {
  readonly clusters = new Map<string, ClusterRecord>();
  readonly jobs = new JobIndex();
  /** Per cluster, its jobs by ascending id (the jobs query pages through these). */
  readonly jobOrder = new Map<string, JobOrder>();
  /** Every job sorted per sort field, for the sorted, counted jobs query (built on first use). */
  readonly jobSort = new JobSortIndex();
  private readonly clock: Clock;
  private readonly changeListeners = new Listeners<readonly FleetChange[], AppliedDelta>();
  private readonly statusListeners = new Listeners<Readonly<ClusterRecord>>();

  constructor(deps: FleetStateDeps = {}) {
    this.clock = deps.clock ?? systemClock;
  }

  /** Every batch of changes apply() makes (not those of apply(..., { notify: false })). Returns unsubscribe. */
  onChanges(listener: ChangesListener): () => void {
    return this.changeListeners.add(listener);
  }

  /** Every setAgentStatus(), with the cluster's record as it is then. Returns unsubscribe. */
  onClusterStatus(listener: ClusterStatusListener): () => void {
    return this.statusListeners.add(listener);
  }

  /**
   * The cluster's agent connected, went away, or changed role: updates its record and tells the
   * cluster-status listeners, even when nothing in the record changed (a demoted agent's hub
   * stops announcing the cluster).
   */
  setAgentStatus(cluster: string, status: AgentStatus): ClusterRecord {
    const record = this.cluster(cluster);
    record.connected = status.connected;
    if (status.agent !== undefined) record.agent = status.agent;
    this.statusListeners.notify(record);
    return record;
  }

  cluster(name: string): ClusterRecord {
    let record = this.clusters.get(name);
    if (!record) {
      record = { name, epoch: 0, seq: 0, objects: emptyObjects(), connected: false, slurmApiVersion: '' };
      this.clusters.set(name, record);
    }
    return record;
  }

  /** Snapshots always fit; otherwise only the next seq of the same epoch. */
  fit(delta: Delta): DeltaFit {
    const record = this.clusters.get(delta.cluster);
    if (delta.snapshot) {
      if (record && record.epoch === delta.epoch && delta.seq <= record.seq) return 'duplicate';
      return 'apply';
    }
    if (!record || record.epoch !== delta.epoch) return 'gap';
    if (delta.seq <= record.seq) return 'duplicate';
    return delta.seq === record.seq + 1 ? 'apply' : 'gap';
  }

  /** notify: false for rebuilding the state (a restart's load), which no watcher is to hear of. */
  apply(delta: Delta, opts: { notify?: boolean } = {}): FleetChange[] {
    const record = this.cluster(delta.cluster);
    const cluster = delta.cluster;
    const from: StatePosition = { epoch: record.epoch, seq: record.seq };
    // Each change names its cluster (what watchers get), made so by applyDelta itself.
    const changes = applyDelta(record.objects, delta, cluster) as FleetChange[];
    record.epoch = delta.epoch;
    record.seq = delta.seq;
    record.lastObservedAt = delta.observed_at;
    record.lastDeltaAt = isoNow(this.clock);
    let order: JobOrder | undefined;
    let index: ClusterJobIndex | undefined;
    for (const change of changes) {
      if (change.kind !== 'job') continue;
      const next = change.type === 'upsert' ? (change.value as Job) : undefined;
      const id = change.id as number;
      index ??= this.jobs.of(cluster);
      index.change(id, change.previous as Job | undefined, next);
      this.jobSort.note(cluster, id, change.previous as Job | undefined, next);
      order ??= this.orderOf(cluster);
      if (next) order.set(id, next);
      else order.delete(id);
    }
    if (opts.notify !== false && changes.length) this.changeListeners.notify(changes, { from, to: { epoch: delta.epoch, seq: delta.seq }, snapshot: delta.snapshot });
    return changes;
  }

  private orderOf(cluster: string): JobOrder {
    let order = this.jobOrder.get(cluster);
    if (!order) this.jobOrder.set(cluster, (order = new JobOrder()));
    return order;
  }

  /** A job by its id as the API spells it (decimal digits). */
  job(cluster: string, id: string): Job | undefined {
    return this.clusters.get(cluster)?.objects.job.get(objectKeyOfRef('job', id));
  }

  list<K extends KindName>(kind: K, cluster?: string): KindTypes[K][] {
    const out: KindTypes[K][] = [];
    for (const record of this.clusters.values()) {
      if (cluster && record.name !== cluster) continue;
      for (const value of (record.objects[kind] as Map<unknown, KindTypes[K]>).values()) out.push(value);
    }
    return out;
  }

  counts(cluster: string): Record<KindName, number> {
    const record = this.clusters.get(cluster);
    const out = {} as Record<KindName, number>;
    for (const kind of KINDS) out[kind] = record ? record.objects[kind].size : 0;
    return out;
  }
}

/** One typed feed. Each subscription is its own entry: the same function subscribed twice hears twice. */
class Listeners<T, U = undefined> {
  private readonly entries = new Set<{ listener: (value: T, extra: U) => void }>();

  add(listener: (value: T, extra: U) => void): () => void {
    const entry = { listener };
    this.entries.add(entry);
    return () => void this.entries.delete(entry);
  }

  notify(value: T, ...extra: U extends undefined ? [] : [U]): void {
    for (const entry of this.entries) entry.listener(value, extra[0] as U);
  }
}
