// Changes to the fleet as a resumable feed. Each event has an id "<boot>-<n>"; a watcher that
// reconnects with Last-Event-ID gets what it missed, or a "reset" event when the hub has
// restarted or the gap is older than the buffer (then it should list again).
// Fleet events (controller failover...) share the feed as type "event", only for watchers that
// ask for them (`filter.events`): the SSE watch does unless `kinds` leaves "event" out; the gRPC
// Watch does not (its message has no place for them).
import { systemClock, type Clock } from '../../shared/clock/index.js';
import type { EventView } from '../events/index.js';
import type { FleetChange, FleetState } from '../fleet/index.js';
import type { ObjectKey } from '../../shared/delta/index.js';
import type { KindName, KindTypes } from '../../shared/model/index.js';
import type { SpanContext } from '../../shared/tracing/index.js';

export interface WatchEvent {
  id: string;
  seq: number;
  type: 'upsert' | 'remove' | 'reset' | 'event' | 'cluster';
  kind?: KindName;
  cluster?: string;
  /** The object's id, or the event's for type "event". */
  object_id?: string;
  /** @internal The changed object's key (a job's is a number): object_id is made from it with the id (withId). */
  key?: ObjectKey;
  object?: KindTypes[KindName];
  /**
   * The object as it was: on removes, and on upserts that changed what row filters look at
   * (cluster, account, user, partition), so a filter can tell who may hear of it. Never sent.
   */
  previous?: KindTypes[KindName];
  /** Type "event": the fleet event. */
  event?: EventView;
  /** Type "cluster": its agent connected or went away (FleetState.onClusterStatus). */
  status?: ClusterStatusChange;
  /** @internal The apply span of the traced delta that made this change (delivery-trace.ts). Never sent. */
  cause?: SpanContext;
}

export interface ClusterStatusChange {
  connected: boolean;
  agent: string | null;
  last_delta_at: string | null;
}

export interface WatchFilter {
  cluster?: string;
  kinds?: ReadonlySet<KindName>;
  /** Deliver fleet events (type "event") too. */
  events?: boolean;
  /** Deliver cluster connects and disconnects (type "cluster") too. */
  clusters?: boolean;
  /**
   * The watcher's RBAC row filter: the event as this watcher may see it (an upsert that moves an
   * object out of its view becomes a remove), or undefined to drop it. Resets always pass.
   */
  visible?: (event: WatchEvent) => WatchEvent | undefined;
}

type Listener = (event: WatchEvent) => void;

export interface WatchFeedOptions {
  /** How many events a reconnecting watcher can catch up on (50,000 when omitted). */
  capacity?: number;
  /** For the boot id of event ids; systemClock when omitted. */
  clock?: Clock;
  /** Most events one resuming watcher is replayed (older: a reset); capacity when omitted. */
  replay?: number;
}

export class WatchFeed {
  /** Tells this run's event ids from an earlier run's: a watcher resuming across a restart gets a reset. */
  private readonly boot: string;
  private readonly capacity: number;
  private readonly replay: number;
  private next = 1;
  /** The newest `capacity` events, a ring: `start` is the oldest once it is full. */
  private readonly buffer: WatchEvent[] = [];
  private start = 0;
  private readonly listeners = new Set<Listener>();
  /** The apply span whose changes the state is handing over now (causedBy). */
  private cause: SpanContext | undefined;

  constructor(state: FleetState, opts: WatchFeedOptions = {}) {
    this.capacity = opts.capacity ?? 50_000;
    this.replay = opts.replay ?? this.capacity;
    this.boot = (opts.clock ?? systemClock).now().toString(36);
    state.onChanges((changes) => {
      for (const change of changes) this.push(change);
    });
    state.onClusterStatus((record) => {
      const seq = this.next++;
      this.emit({ id: `${this.boot}-${seq}`, seq, type: 'cluster', cluster: record.name, object_id: record.name, status: { connected: record.connected, agent: record.agent ?? null, last_delta_at: record.lastDeltaAt ?? null } });
    });
  }

  /** Runs `fn` (an apply) so that the changes it makes remember the traced apply span that caused them. */
  causedBy<T>(cause: SpanContext | undefined, fn: () => T): T {
    this.cause = cause;
    try {
      return fn();
    } finally {
      this.cause = undefined;
    }
  }

  /** A fleet event (from the event log) for the watchers that want them. */
  publishEvent(fleetEvent: EventView): void {
    const seq = this.next++;
    this.emit({ id: `${this.boot}-${seq}`, seq, type: 'event', cluster: fleetEvent.cluster, object_id: fleetEvent.id, event: fleetEvent });
  }

  private push(change: FleetChange): void {
    const seq = this.next++;
    // Built field by field (no spreads): one event per ingested update. Same keys, same order.
    // The id and object_id strings are made when a watcher gets the event (withId): most never reach one.
    const event: WatchEvent = { id: '', seq, type: change.type, kind: change.kind, cluster: change.cluster, object_id: undefined, key: change.id };
    if (change.type === 'upsert') event.object = change.value;
    if (change.previous && (change.type === 'remove' || movesRows(change.previous, change.value))) event.previous = change.previous;
    if (this.cause) event.cause = this.cause;
    this.emit(event);
  }

  private emit(event: WatchEvent): void {
    // A ring, not push + splice: dropping the oldest of 50,000 must not move the other 49,999.
    if (this.buffer.length < this.capacity) this.buffer.push(event);
    else {
      this.buffer[this.start] = event;
      this.start = (this.start + 1) % this.capacity;
    }
    if (this.listeners.size === 0) return;
    this.withId(event);
    for (const listener of this.listeners) listener(event);
  }

  /** Sets an event's id ("<boot>-<seq>", the same whenever it is made) and object_id before anyone sees it. */
  private withId(event: WatchEvent): WatchEvent {
    if (event.id === '') {
      event.id = `${this.boot}-${event.seq}`;
      if (event.key !== undefined) event.object_id = String(event.key);
    }
    return event;
  }

  /** Replays what the watcher missed after lastEventId, then streams. Returns unsubscribe. */
  subscribe(filter: WatchFilter, lastEventId: string | undefined, listener: Listener): () => void {
    if (lastEventId) {
      const m = /^([a-z0-9]+)-(\d+)$/.exec(lastEventId);
      const seq = m ? Number(m[2]) : NaN;
      const oldest = this.buffer.length ? this.buffer[this.start].seq : this.next;
      if (!m || m[1] !== this.boot || seq < oldest - 1 || seq >= this.next || this.next - 1 - seq > this.replay) {
        listener({ id: `${this.boot}-${this.next - 1}`, seq: this.next - 1, type: 'reset' });
      } else {
        const n = this.buffer.length;
        for (let i = 0; i < n; i++) {
          const event = this.buffer[(this.start + i) % n];
          if (event.seq > seq && matches(filter, event)) deliver(filter, this.withId(event), listener);
        }
      }
    }
    const wrapped: Listener = (event) => {
      if (matches(filter, event)) deliver(filter, event, listener);
    };
    this.listeners.add(wrapped);
    return () => this.listeners.delete(wrapped);
  }

  /** Open watchers (SSE and gRPC Watch): a metric. */
  get watchers(): number {
    return this.listeners.size;
  }

  get lastId(): string {
    return `${this.boot}-${this.next - 1}`;
  }
}

function deliver(filter: WatchFilter, event: WatchEvent, listener: Listener): void {
  if (!filter.visible || event.type === 'reset') {
    listener(event);
    return;
  }
  const seen = filter.visible(event);
  if (seen) listener(seen);
}

/** The fields row filters read (policy/rbac/row-filter.ts): did this upsert change any? */
function movesRows(previous: unknown, value: unknown): boolean {
  const a = previous as Record<string, unknown>;
  const b = (value ?? {}) as Record<string, unknown>;
  return a.cluster !== b.cluster || a.account !== b.account || a.user !== b.user || a.partition !== b.partition || !sameText(a.partitions, b.partitions);
}

/** String(x) === String(y), without joining two equal arrays (a node update's partitions) first. */
function sameText(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (Array.isArray(x) && Array.isArray(y) && x.length === y.length) {
    let i = 0;
    while (i < x.length && x[i] === y[i]) i++;
    if (i === x.length) return true;
  }
  return String(x) === String(y);
}

function matches(filter: WatchFilter, event: WatchEvent): boolean {
  if (event.type === 'reset') return true;
  if (event.type === 'event') return !!filter.events && (!filter.cluster || event.cluster === filter.cluster);
  if (event.type === 'cluster') return !!filter.clusters && (!filter.cluster || event.cluster === filter.cluster);
  if (filter.cluster && event.cluster !== filter.cluster) return false;
  if (filter.kinds && event.kind && !filter.kinds.has(event.kind)) return false;
  return true;
}
