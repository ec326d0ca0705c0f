// Changes to the fleet as a resumable feed. Each event's id is "<boot>-<n>/<places>": a watcher
// that reconnects with Last-Event-ID gets what it missed, or a "reset" event when that cannot be
// served exactly (the gap is older than the buffer; then it should list again). "<boot>-<n>"
// resumes on the same hub run; the places (per cluster, where its state stood: feed-positions.ts)
// resume on any hub of the group and after a restart.
// Fleet events (controller failover...) share the feed as type "event", only for watchers that
// ask for them (`filter.events`): the SSE watch does unless `kinds` leaves "event" out; the gRPC
// Watch does not (its message has no place for them). They and cluster connects are this hub's
// own: replayed on the same hub run only.
import { systemClock, type Clock } from '../../shared/clock/index.js';
import type { EventView } from '../events/index.js';
import type { AppliedDelta, FleetChange, FleetState } from '../fleet/index.js';
import type { ObjectKey } from '../../shared/delta/index.js';
import type { KindName, KindTypes } from '../../shared/model/index.js';
import type { SpanContext } from '../../shared/tracing/index.js';
import { catchUp, parseVector, placeAfter, PositionIndex, positionKey, vectorText, ZERO, type FeedBatch, type Place } from './feed-positions.js';

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
  /** @internal The applied delta this change came from (its place in the cluster's history). Never sent. */
  batch?: FeedBatch;
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
  /**
   * The clusters whose place this watcher's event ids may carry (those it may know of: a
   * tenant's); all when omitted. With it or `cluster`, the watcher gets ids of its own.
   */
  names?: (cluster: string) => boolean;
}

type Listener = (event: WatchEvent) => void;

export interface WatchFeedOptions {
  /** How many events the feed keeps for reconnecting watchers (`replay`, or 50,000 when both are omitted). */
  capacity?: number;
  /** For the boot id of event ids; systemClock when omitted. */
  clock?: Clock;
  /** Most events one resuming watcher is replayed (older: a reset); capacity when omitted. */
  replay?: number;
}

export class WatchFeed {
  /** Tells this run's event ids from an earlier run's: "<boot>-<n>" resumes on this run only. */
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
  private readonly positions = new PositionIndex();
  /** Per cluster, its place after the newest event (what ids carry). */
  private readonly live = new Map<string, string>();
  /** The same just before the buffer's oldest event: replays rebuild ids from it. */
  private readonly base = new Map<string, string>();
  /** Watchers that came with a Last-Event-ID: replayed what they missed, or told to list again (a metric). */
  readonly resumes = { replayed: 0, reset: 0 };

  constructor(state: FleetState, opts: WatchFeedOptions = {}) {
    // Kept no longer than it can be replayed: each event holds the whole object, so 50,000 kept
    // behind a replay limit of 10,000 held ~60 MB that no resume on this run could use (the
    // soak's heap growth: the ring fills for an hour and more at a quiet fleet's pace).
    this.capacity = Math.max(1, opts.capacity ?? opts.replay ?? 50_000);
    this.replay = opts.replay ?? this.capacity;
    this.boot = (opts.clock ?? systemClock).now().toString(36);
    // What the state held before this feed (a restart's load) is a place too: ids resume from it.
    for (const record of state.clusters.values()) {
      const at = { epoch: record.epoch, seq: record.seq };
      this.positions.start(record.name, at, 0);
      this.live.set(record.name, positionKey(at));
      this.base.set(record.name, positionKey(at));
    }
    state.onChanges((changes, applied) => this.pushBatch(changes, applied));
    state.onClusterStatus((record) => {
      const seq = this.next++;
      this.emit({ id: '', seq, type: 'cluster', cluster: record.name, object_id: record.name, status: { connected: record.connected, agent: record.agent ?? null, last_delta_at: record.lastDeltaAt ?? null } });
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
    this.emit({ id: '', seq, type: 'event', cluster: fleetEvent.cluster, object_id: fleetEvent.id, event: fleetEvent });
  }

  private pushBatch(changes: readonly FleetChange[], applied: AppliedDelta): void {
    const cluster = changes[0].cluster;
    let unordered = 0;
    if (applied.snapshot) while (unordered < changes.length && changes[unordered].type === 'remove') unordered++;
    const batch: FeedBatch = { cluster, from: applied.from, to: applied.to, first: this.next, n: changes.length, unordered };
    this.positions.note(batch);
    // The other clusters' places, once per delta (only when someone watches: ids are made then).
    const others = this.listeners.size ? vectorText(this.live, cluster) : '';
    for (let i = 0; i < changes.length; i++) this.push(changes[i], batch, others, i);
    this.live.set(cluster, positionKey(batch.to));
  }

  private push(change: FleetChange, batch: FeedBatch, others: string, index: number): void {
    const seq = this.next++;
    // Built field by field (no spreads): one event per ingested update. Same keys, same order.
    // The id and object_id strings are made when a watcher gets the event: most never reach one.
    const event: WatchEvent = { id: '', seq, type: change.type, kind: change.kind, cluster: change.cluster, object_id: undefined, key: change.id, batch };
    if (change.type === 'upsert') event.object = change.value;
    if (change.previous && (change.type === 'remove' || movesRows(change.previous, change.value))) event.previous = change.previous;
    if (this.cause) event.cause = this.cause;
    if (this.listeners.size) {
      const own = `${encodeURIComponent(batch.cluster)}:${placeAfter(batch, index)}`;
      event.id = `${this.boot}-${seq}/${others}${others ? ',' : ''}${own}`;
    }
    this.emit(event);
  }

  private emit(event: WatchEvent): void {
    // A ring, not push + splice: dropping the oldest of 50,000 must not move the other 49,999.
    if (this.buffer.length < this.capacity) this.buffer.push(event);
    else {
      this.forget(this.buffer[this.start]);
      this.buffer[this.start] = event;
      this.start = (this.start + 1) % this.capacity;
      if (this.start === 0) this.positions.prune(this.buffer[0].seq);
    }
    if (this.listeners.size === 0) return;
    if (event.id === '') event.id = this.idOf(event, this.live);
    if (event.key !== undefined) event.object_id ??= String(event.key);
    for (const listener of this.listeners) listener(event);
  }

  /**
   * An event's id: this run's number, then the places of the clusters `named` allows, as
   * `places` holds them (the event's own cluster is given from the event: its change may be
   * part-way through its delta).
   */
  private idOf(event: Pick<WatchEvent, 'seq' | 'batch'>, places: ReadonlyMap<string, string>, named?: (cluster: string) => boolean): string {
    const batch = event.batch;
    let text = vectorText(places, batch?.cluster, named);
    if (batch && (!named || named(batch.cluster))) text += `${text ? ',' : ''}${encodeURIComponent(batch.cluster)}:${placeAfter(batch, event.seq - batch.first)}`;
    return `${this.boot}-${event.seq}${slash(text)}`;
  }

  /** Which clusters a watcher's ids name, or undefined for every one (the shared ids). */
  private namedBy(filter: WatchFilter): ((cluster: string) => boolean) | undefined {
    const { cluster, names } = filter;
    if (cluster === undefined && !names) return undefined;
    return (c) => (cluster === undefined || c === cluster) && (!names || names(c));
  }

  /** An event leaves the buffer: the replay base moves past it. */
  private forget(event: WatchEvent): void {
    if (event.batch) this.base.set(event.batch.cluster, placeAfter(event.batch, event.seq - event.batch.first));
  }

  /** Replays what the watcher missed after lastEventId, then streams. Returns unsubscribe. */
  subscribe(filter: WatchFilter, lastEventId: string | undefined, listener: Listener): () => void {
    let pending: Map<string, Place> | undefined;
    const named = this.namedBy(filter);
    if (lastEventId) {
      const resumed = this.resume(filter, lastEventId, listener);
      if (resumed === 'reset') {
        this.resumes.reset++;
        listener(this.reset(named));
      } else {
        this.resumes.replayed++;
        pending = resumed;
      }
    }
    const wrapped: Listener = (shared) => {
      if (!matches(filter, shared)) return;
      // Synchronous with emit(): `live` holds the places as they were for this event.
      const event = named ? { ...shared, id: this.idOf(shared, this.live, named) } : shared;
      const place = pending && event.batch ? pending.get(event.batch.cluster) : undefined;
      if (place) {
        // This hub had not reached the watcher's place in the cluster when it resumed.
        const verdict = catchUp(place, event.batch!, event.seq);
        if (verdict === 'reset') {
          pending = undefined;
          listener(this.reset(named));
        } else {
          if (verdict !== 'drop') pending!.delete(event.batch!.cluster);
          if (verdict !== 'deliver') return;
        }
      }
      deliver(filter, event, listener);
    };
    this.listeners.add(wrapped);
    return () => this.listeners.delete(wrapped);
  }

  private reset(named: ((cluster: string) => boolean) | undefined): WatchEvent {
    return { id: this.idOf({ seq: this.next - 1 }, this.live, named), seq: this.next - 1, type: 'reset' };
  }

  /** Replays after the id; 'reset' when that cannot be done exactly; else the clusters this hub has still to reach. */
  private resume(filter: WatchFilter, lastEventId: string, listener: Listener): 'reset' | Map<string, Place> | undefined {
    const m = /^([a-z0-9]+)-(\d+)(?:\/(.*))?$/.exec(lastEventId);
    if (!m) return 'reset';
    const seq = Number(m[2]);
    const oldest = this.buffer.length ? this.buffer[this.start].seq : this.next;
    if (m[1] === this.boot && seq >= oldest - 1 && seq < this.next && this.next - 1 - seq <= this.replay) {
      this.replayAfter(() => seq, filter, listener);
      return undefined;
    }
    // Another hub's id, an earlier run's, or older than this run's buffer: by the places.
    const places = m[3] === undefined ? undefined : parseVector(m[3]);
    if (!places) return 'reset';
    const after = new Map<string, number>();
    const pending = new Map<string, Place>();
    const clusters = new Set([...places.keys(), ...this.positions.current.keys()]);
    const named = this.namedBy(filter);
    for (const cluster of clusters) {
      if (named && !named(cluster)) continue;
      const place = places.get(cluster) ?? { at: ZERO };
      const r = this.positions.resolve(cluster, place, oldest, this.next - 1);
      if (r === 'unknown') return 'reset';
      if (r === 'behind') pending.set(cluster, place);
      else after.set(cluster, r.after);
    }
    let count = 0;
    for (const event of this.buffer) if (event.batch && event.seq > (after.get(event.batch.cluster) ?? Infinity)) count++;
    if (count > this.replay) return 'reset';
    this.replayAfter((event) => (event.batch ? (after.get(event.batch.cluster) ?? Infinity) : Infinity), filter, listener);
    return pending.size ? pending : undefined;
  }

  /** Delivers the buffered events past the seq `since` gives for each, with the ids they had (rebuilt from the base). */
  private replayAfter(since: (event: WatchEvent) => number, filter: WatchFilter, listener: Listener): void {
    const places = new Map(this.base);
    const named = this.namedBy(filter);
    const n = this.buffer.length;
    for (let i = 0; i < n; i++) {
      const event = this.buffer[(this.start + i) % n];
      if (event.batch) places.set(event.batch.cluster, placeAfter(event.batch, event.seq - event.batch.first));
      if (event.seq <= since(event) || !matches(filter, event)) continue;
      if (event.key !== undefined) event.object_id ??= String(event.key);
      if (named) deliver(filter, { ...event, id: this.idOf(event, places, named) }, listener);
      else {
        if (event.id === '') event.id = this.idOf(event, places);
        deliver(filter, event, listener);
      }
    }
  }

  /** Events kept for resuming watchers (at most the capacity). */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Open watchers (SSE and gRPC Watch): a metric. */
  get watchers(): number {
    return this.listeners.size;
  }

  /** The id of the newest event (a watcher starting now resumes from it). */
  get lastId(): string {
    return this.idOf({ seq: this.next - 1 }, this.live);
  }

  /** The same as a watcher with this filter is given it (naming only the clusters it may know of). */
  lastIdFor(filter: WatchFilter): string {
    return this.idOf({ seq: this.next - 1 }, this.live, this.namedBy(filter));
  }

  /** The newest event's number on this hub run (the gRPC Watch's `since`). */
  get lastSeq(): number {
    return this.next - 1;
  }

  /** The id of this run's event number `seq` as subscribe() reads it (gRPC Watch's `since`: this run only). */
  localId(seq: number | string): string {
    return `${this.boot}-${seq}`;
  }
}

function slash(places: string): string {
  return places ? `/${places}` : '';
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
