// Fleet events at the hub: things agents saw happen (controller failover, down, up), as they
// arrive inside applied deltas. Kept in memory (the newest `capacity`) and in
// `<data_dir>/events/events.log` (RecordLog framing, fsync'd before the delta is acked), so a
// restarted hub still lists recent events. Deduplicated by event id: a delta the agent resends
// after a hub crash brings the same ids again and adds nothing.
//
// Each event keeps where it entered (its position, for incremental exports that never skip one,
// hub/export/README.md): an agent's event the (epoch, seq) of the delta that carried it, the same
// on every hub of a group; an event the hub made itself (alerts, quota actions) a number of this
// hub that only grows, under the source `@<hub id>`. Positions are stored with the event.
// The log keeps the newest `capacity` events. For each source it remembers the highest position it
// dropped (with when it arrived and the clusters it was about), kept in events.log across
// rewrites and restarts, so an incremental export whose cursor is below it is refused as too old
// instead of silently skipping what was dropped (hub/export/log-export.ts).
import { join } from 'node:path';
import type { FleetEvent } from '../../generated/fleet/v1/agent.js';
import type { Logger } from '../../shared/logging/index.js';
import { parseDuration } from '../../shared/model/index.js';
import { AtRest, setAside, TamperedDataError } from '../../shared/crypto/index.js';
import { RecordLog, type OpenedLog } from '../../shared/record-log/index.js';
import { LostFileError, type WriteFaults } from '../../shared/durability/index.js';

/** An event as the API, the watch stream and the CLI show it (snake_case). */
export interface EventView {
  id: string;
  cluster: string;
  /** controller_failover | controller_down | controller_up (agents may add types). */
  type: string;
  /** info | warning | critical */
  severity: string;
  message: string;
  /** When the agent saw it (ISO-8601 UTC). */
  occurred_at: string;
  /** When this hub recorded it. */
  received_at: string;
  /** component, endpoint, from_endpoint, to_endpoint, controller, reason... */
  attributes: Record<string, string>;
}

/** Where an event entered: `source` is its cluster (a delta's [epoch, seq]) or `@<hub id>` ([n]). */
export interface EventPosition {
  source: string;
  at: readonly number[];
}

/** What the log dropped of one source: the highest position, when the newest dropped one arrived (ms), and the clusters they were about. */
export interface Evicted {
  at: readonly number[];
  receivedMs: number;
  clusters: ReadonlySet<string>;
}

/** A delta's position: the events it carries are positioned at it. */
export interface DeltaPosition {
  epoch: number;
  seq: number;
}

export interface EventQuery {
  cluster?: string;
  /** One type or a comma list. */
  types?: readonly string[];
  /** Only events that occurred at or after this time (ms since the epoch). */
  sinceMs?: number;
  /** The newest `limit` of the matches (still returned oldest first). */
  limit?: number;
  /** The caller's row filter: applied before `limit`, so a page is full of what the caller may see. */
  allow?: (event: EventView) => boolean;
}

export interface EventLogOptions {
  /** Persist under `<dataDir>/events/`; omit to keep events in memory only. */
  dataDir?: string;
  /** Events kept (in memory and after a restart); default 10,000. */
  capacity?: number;
  /** This hub's id: the source of the events it makes itself (default "hub"). */
  hubId?: string;
}

const SEVERITIES = new Set(['info', 'warning', 'critical']);
const MAX_TEXT = 2048;
const MAX_ATTRIBUTES = 32;

type Listener = (event: EventView) => void;

export class EventLog {
  private items: EventView[] = [];
  private readonly ids = new Set<string>();
  private readonly listeners = new Set<Listener>();
  private readonly capacity: number;
  private readonly log?: RecordLog;
  /** Records in the file: rewritten down to `capacity` when it reaches twice that. */
  private fileRecords = 0;
  /** Per event id, where it entered (events an earlier version wrote have none). */
  private readonly positions = new Map<string, EventPosition>();
  private readonly localSource: string;
  /** The last position of an event this hub made: the next is above it and at least the clock. */
  private lastLocal = 0;
  /** Per source, what the log has dropped (evicted past its capacity). */
  private readonly dropped = new Map<string, { at: number[]; receivedMs: number; clusters: Set<string> }>();
  /** Events kept in memory that a failed write left out of events.log: the next write is a rewrite. */
  private unsaved = false;

  constructor(
    opts: EventLogOptions,
    private readonly deps: { logger: Logger; clock?: () => number; atRest?: AtRest; faults?: WriteFaults },
  ) {
    this.capacity = Math.max(1, opts.capacity ?? 10_000);
    this.localSource = `@${opts.hubId ?? 'hub'}`;
    if (!opts.dataDir) return;
    // Sealed when encryption is on; a log that fails authentication is set aside, not a crash loop.
    const path = join(opts.dataDir, 'events', 'events.log');
    const sealing = (deps.atRest ?? AtRest.plaintext()).sealing('hub/events');
    let opened: OpenedLog;
    try {
      opened = RecordLog.open(path, { sealing });
    } catch (err) {
      if (!(err instanceof TamperedDataError)) throw err;
      deps.logger.error({ moved_to: setAside(path), err: err.message }, 'events: events.log failed authentication; set aside, starting empty');
      opened = RecordLog.open(path, { sealing });
    }
    this.log = opened.log;
    if (opened.truncatedBytes) deps.logger.warn({ bytes: opened.truncatedBytes }, 'events: cut a torn record off events.log');
    let unreadable = 0;
    for (const record of opened.records) {
      try {
        const { _src, _at, _evicted, ...view } = JSON.parse(Buffer.from(record).toString('utf8')) as EventView & { _src?: unknown; _at?: unknown; _evicted?: unknown };
        if (_evicted !== undefined) this.loadDropped(_evicted);
        if (typeof view?.id !== 'string' || this.ids.has(view.id)) continue;
        this.keep(view);
        if (typeof _src === 'string' && Array.isArray(_at) && _at.every((n) => Number.isSafeInteger(n))) this.place(view.id, { source: _src, at: _at as number[] });
      } catch {
        unreadable++;
      }
    }
    this.fileRecords = opened.records.length;
    if (unreadable) deps.logger.warn({ unreadable }, 'events: skipped unreadable records in events.log');
  }

  /**
   * Records the events of one applied delta from `cluster`'s agent. Durable when it returns.
   * An agent speaks for its own cluster only: the cluster field is the stream's, whatever the
   * event says. `delta`: the delta that carried them (absent: events this hub made itself).
   * Returns the events that were new.
   */
  record(cluster: string, events: readonly FleetEvent[], delta?: DeltaPosition): EventView[] {
    if (events.length === 0) return [];
    const receivedAt = new Date((this.deps.clock ?? Date.now)()).toISOString();
    const fresh: EventView[] = [];
    const seen = new Set<string>();
    for (const e of events) {
      const view = toView(cluster, e, receivedAt);
      if (!view.id || this.ids.has(view.id) || seen.has(view.id)) continue;
      seen.add(view.id);
      fresh.push(view);
    }
    if (fresh.length === 0) {
      // A resend of a delta whose events are held in memory: durable only once they are written.
      if (this.unsaved) this.saveAll();
      return [];
    }
    const at = (): EventPosition => {
      if (delta) return { source: cluster, at: [delta.epoch, delta.seq] };
      this.lastLocal = Math.max(this.lastLocal + 1, (this.deps.clock ?? Date.now)());
      return { source: this.localSource, at: [this.lastLocal] };
    };
    const placed = fresh.map(at);
    let failed: unknown;
    if (this.log && !this.unsaved) {
      try {
        this.log.append(...fresh.map((v, i) => this.stored(v, placed[i])));
        this.deps.faults?.ok(EVENTS_STORE);
        this.fileRecords += fresh.length;
      } catch (err) {
        failed = err;
      }
    }
    // Kept and shown even when not written: the hub shows what happened during a disk fault. The
    // caller does not ack the delta (the error below); a rewrite from memory saves them later.
    fresh.forEach((view, i) => {
      this.keep(view);
      this.place(view.id, placed[i]);
    });
    for (const view of fresh) for (const listener of this.listeners) listener(view);
    if (failed !== undefined) {
      this.unsaved = true;
      this.deps.faults?.failed(EVENTS_STORE, failed);
      throw failed;
    }
    if (this.unsaved) this.saveAll();
    if (this.log && this.fileRecords >= 2 * this.capacity) {
      this.log.rewrite(this.contents());
      this.fileRecords = this.items.length;
    }
    return fresh;
  }

  /** Events are kept in memory that events.log lacks: rewritten from memory, or the write's error. */
  private saveAll(): void {
    try {
      this.log!.rewrite(this.contents());
    } catch (err) {
      this.deps.faults?.failed(EVENTS_STORE, err);
      throw err;
    }
    this.unsaved = false;
    this.fileRecords = this.items.length;
    this.deps.faults?.ok(EVENTS_STORE);
  }

  list(q: EventQuery = {}): EventView[] {
    const types = q.types?.length ? new Set(q.types) : undefined;
    const out = this.items.filter(
      (e) => (!q.cluster || e.cluster === q.cluster) && (!types || types.has(e.type)) && (q.sinceMs === undefined || Date.parse(e.occurred_at) >= q.sinceMs) && (!q.allow || q.allow(e)),
    );
    return q.limit !== undefined && out.length > q.limit ? out.slice(out.length - q.limit) : out;
  }

  /** Per source, the highest position dropped past the capacity (and when, and about which clusters). */
  evicted(): ReadonlyMap<string, Evicted> {
    return this.dropped;
  }

  /** Where `event` entered; undefined for an event an earlier version recorded. */
  positionOf(event: EventView): EventPosition | undefined {
    return this.positions.get(event.id);
  }

  get size(): number {
    return this.items.length;
  }

  /** Calls `listener` with each new event; returns unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Once per flush interval: a log broken by a failed write or fsync, deleted, replaced or
   * truncated under the hub is rewritten from memory; after a failed write (the disk full) the
   * rewrite is also the probe that ends the fault. Never throws.
   */
  maintain(): void {
    const log = this.log;
    if (!log) return;
    let problem: Error | undefined = log.broken;
    const how = problem ? 'ok' : log.check();
    if (how !== 'ok') {
      problem = new LostFileError(log.path, how);
      this.deps.faults?.failed(EVENTS_STORE, problem);
    }
    if (!problem && !this.unsaved && !this.deps.faults?.degraded().some((f) => f.store === EVENTS_STORE)) return;
    try {
      log.rewrite(this.contents());
      this.unsaved = false;
      this.fileRecords = this.items.length;
      this.deps.faults?.ok(EVENTS_STORE);
      if (problem) this.deps.logger.warn({ why: problem.message, events: this.items.length }, 'events: rewrote events.log from memory');
    } catch (err) {
      this.deps.faults?.failed(EVENTS_STORE, err);
    }
  }

  close(): void {
    this.listeners.clear();
    this.log?.close();
  }

  private keep(view: EventView): void {
    this.items.push(view);
    this.ids.add(view.id);
    if (this.items.length > this.capacity) {
      for (const old of this.items.splice(0, this.items.length - this.capacity)) {
        this.ids.delete(old.id);
        const pos = this.positions.get(old.id);
        this.positions.delete(old.id);
        if (pos) this.drop(pos, old);
      }
    }
  }

  private place(id: string, pos: EventPosition): void {
    if (!this.ids.has(id)) return;
    this.positions.set(id, pos);
    if (pos.source === this.localSource && pos.at[0] > this.lastLocal) this.lastLocal = pos.at[0];
  }

  private drop(pos: EventPosition, view: EventView): void {
    const received = Date.parse(view.received_at);
    const was = this.dropped.get(pos.source);
    if (!was) return void this.dropped.set(pos.source, { at: [...pos.at], receivedMs: received, clusters: new Set([view.cluster]) });
    if (comparePositions(pos.at, was.at) > 0) was.at = [...pos.at];
    if (received > was.receivedMs) was.receivedMs = received;
    was.clusters.add(view.cluster);
  }

  private loadDropped(saved: unknown): void {
    if (typeof saved !== 'object' || saved === null) return;
    for (const [source, d] of Object.entries(saved as Record<string, { at?: unknown; ms?: unknown; c?: unknown }>)) {
      if (!Array.isArray(d?.at) || !d.at.every((n) => Number.isSafeInteger(n)) || !Number.isSafeInteger(d.ms) || !Array.isArray(d.c)) continue;
      const clusters = d.c.filter((c): c is string => typeof c === 'string');
      for (const cluster of clusters) this.drop({ source, at: d.at as number[] }, { cluster, received_at: new Date(d.ms as number).toISOString() } as EventView);
    }
  }

  /** What events.log holds after a rewrite: what was dropped (first), then the events kept. */
  private contents(): Buffer[] {
    const records = this.items.map((v) => this.stored(v));
    if (this.dropped.size === 0) return records;
    const dropped: Record<string, { at: number[]; ms: number; c: string[] }> = {};
    for (const [source, d] of this.dropped) dropped[source] = { at: d.at, ms: d.receivedMs, c: [...d.clusters] };
    return [Buffer.from(JSON.stringify({ _evicted: dropped })), ...records];
  }

  /** A record of events.log: the view and its position (`_src`, `_at`, left out of every view). */
  private stored(view: EventView, pos = this.positions.get(view.id)): Buffer {
    return Buffer.from(JSON.stringify(pos ? { ...view, _src: pos.source, _at: pos.at } : view));
  }
}

/** Orders two positions of one source: lexicographic. */
export function comparePositions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** events.log's name in WriteFaults and the metrics. */
export const EVENTS_STORE = 'events';

/** Bounded and well-typed, whatever the agent sent. */
function toView(cluster: string, e: FleetEvent, receivedAt: string): EventView {
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.attributes ?? {}).slice(0, MAX_ATTRIBUTES)) attributes[k.slice(0, 128)] = String(v).slice(0, MAX_TEXT);
  const occurred = Date.parse(e.occurred_at);
  return {
    id: String(e.id ?? '').slice(0, 128),
    cluster,
    type: String(e.type || 'unknown').slice(0, 64),
    severity: SEVERITIES.has(e.severity) ? e.severity : 'info',
    message: String(e.message ?? '').slice(0, MAX_TEXT),
    occurred_at: Number.isFinite(occurred) ? new Date(occurred).toISOString() : receivedAt,
    received_at: receivedAt,
    attributes,
  };
}

/**
 * `since` as the API and the CLI take it: an ISO-8601 time or a duration back from now
 * ("15m", "2h", "1d"). Undefined for a value that is neither.
 */
export function parseSince(text: string, now: number): number | undefined {
  const value = text.trim();
  if (/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(value)) {
    try {
      return now - parseDuration(value);
    } catch {
      return undefined;
    }
  }
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  return Number.isFinite(t) ? t : undefined;
}
