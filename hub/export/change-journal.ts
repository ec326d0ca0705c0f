// Which jobs and nodes changed after a given (epoch, seq) of their cluster, for incremental
// exports whose cursor any hub of a group can read: every hub applies a cluster's deltas under
// the same (epoch, seq) (agents make epochs from the clock, so positions order across epochs),
// while a per-process counter would mean nothing on another hub.
//
// The journal hears FleetState's changes. Each batch gets a local tick; per cluster it keeps the
// (epoch, seq) of each tick, per object the tick of its last change, and the objects removed
// (with the fields row filters read, so a tombstone is shown only to callers who could see the
// object). What it did not hear (the state loaded at start, a cluster first seen, changes
// trimmed away) is below the cluster's horizon: a cursor older than the horizon is refused as too
// old (fleet-export.ts), never answered with a silent gap. Saved while the hub runs and as it
// stops, and loaded as it starts (journal-file.ts): opened before the store loads the state, it
// hears the WAL's replay past the position it was saved at, so it goes on across a crash too.
import type { FleetChange, FleetState } from '../fleet/index.js';
import type { Job, Node } from '../../shared/model/index.js';

export type JournalKind = 'job' | 'node';
export type Position = readonly [epoch: number, seq: number];

/** What a tombstone keeps of a removed object: its key and the fields row filters and export filters read. */
export interface Removed {
  key: string | number;
  tick: number;
  fields: Record<string, unknown>;
}

interface ClusterJournal {
  /** Positions at or after this one are fully known. */
  horizon: Position;
  /** (epoch, seq, tick) per batch, ascending. */
  marks: [number, number, number][];
  changed: Record<JournalKind, Map<string | number, number>>;
  removed: Record<JournalKind, Map<string | number, Removed>>;
}

export interface JournalOptions {
  /** Batches remembered per cluster before the oldest half is dropped (the horizon moves up). */
  maxMarks?: number;
  /** Removals remembered per cluster and kind before the oldest are dropped (the horizon moves up). */
  maxRemoved?: number;
}

/** The journal as saved across a restart (journal-file.ts): per cluster, what it knew and the state position it had heard up to. */
export interface SavedJournal {
  v: 1;
  tick: number;
  clusters: Record<string, {
    /** The cluster's state position when saved: the journal is continuous only if the state loads at exactly this position. */
    heard: Position;
    horizon: Position;
    marks: [number, number, number][];
    changed: Record<JournalKind, [string | number, number][]>;
    removed: Record<JournalKind, Removed[]>;
  }>;
}

export const comparePositions = (a: Position, b: Position): number => (a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1]);

const JOB_FIELDS = ['cluster', 'id', 'user', 'account', 'partition', 'state', 'submit_time'] as const;
const NODE_FIELDS = ['cluster', 'name', 'partitions', 'state'] as const;

function keep(kind: JournalKind, o: Job | Node): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of kind === 'job' ? JOB_FIELDS : NODE_FIELDS) out[f] = (o as unknown as Record<string, unknown>)[f];
  return out;
}

/** Models are flat records of scalars and lists of strings: compared field by field (no allocation: this runs on every apply). */
function sameObject(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k in x) {
    const u = x[k];
    const v = y[k];
    if (u === v) continue;
    if (!Array.isArray(u) || !Array.isArray(v) || u.length !== v.length) return false;
    for (let i = 0; i < u.length; i++) if (u[i] !== v[i]) return false;
  }
  for (const k in y) if (!(k in x)) return false;
  return true;
}

function restored(was: SavedJournal['clusters'][string]): ClusterJournal {
  return {
    horizon: was.horizon,
    marks: was.marks,
    changed: { job: new Map(was.changed.job), node: new Map(was.changed.node) },
    removed: { job: new Map(was.removed.job.map((r) => [r.key, r])), node: new Map(was.removed.node.map((r) => [r.key, r])) },
  };
}

export class ChangeJournal {
  private readonly clusters = new Map<string, ClusterJournal>();
  private tick = 0;
  private readonly maxMarks: number;
  private readonly maxRemoved: number;
  private unsubscribe?: () => void;
  /** While the store loads the state (`replaying`): the saved clusters not yet reached. */
  private pending?: SavedJournal['clusters'];

  /**
   * `saved`: the journal of the last run (a hub restart). A cluster whose state reaches the very
   * position the saved journal had heard up to continues it: no change went unheard between. Any
   * other cluster (the store folded changes after the save into a checkpoint, or lost the
   * cluster) starts fresh.
   * `replaying`: opened before the store loads the state: the load passes each record it applies
   * to `replayed()` (a crash's WAL holds changes after the last save, heard that way), then calls
   * `loaded()`. Otherwise the state is loaded already and only a cluster at that position continues.
   */
  constructor(private readonly state: FleetState, opts: JournalOptions = {}, saved?: SavedJournal, replaying = false) {
    this.maxMarks = opts.maxMarks ?? 200_000;
    this.maxRemoved = opts.maxRemoved ?? 100_000;
    this.tick = saved?.tick ?? 0;
    if (replaying) {
      this.pending = saved?.clusters ?? {};
      return;
    }
    for (const record of state.clusters.values()) {
      const was = saved?.clusters[record.name];
      if (was && comparePositions(was.heard, [record.epoch, record.seq]) === 0) this.clusters.set(record.name, restored(was));
    }
    this.loaded();
  }

  /**
   * The store's load applied one record (checkpoint or WAL delta) of `cluster`. Until the cluster
   * reaches the position the saved journal heard, its changes were heard before the save; from
   * there on they are new (applied after the save, before the crash).
   */
  replayed(cluster: string, changes: readonly FleetChange[]): void {
    if (!this.pending) return;
    if (this.clusters.has(cluster)) {
      this.hear(changes);
      return;
    }
    const record = this.state.clusters.get(cluster);
    const was = this.pending[cluster];
    if (record && was && comparePositions(was.heard, [record.epoch, record.seq]) === 0) this.clusters.set(cluster, restored(was));
  }

  /** The state is loaded: what it holds and the journal did not follow was not heard (known from its current position on); changes are heard from now. */
  loaded(): void {
    this.pending = undefined;
    for (const record of this.state.clusters.values()) if (!this.clusters.has(record.name)) this.clusters.set(record.name, this.fresh([record.epoch, record.seq]));
    this.unsubscribe ??= this.state.onChanges((changes) => this.hear(changes));
  }

  /** Stops hearing changes. */
  close(): void {
    this.unsubscribe?.();
  }

  /** Everything it knows, with each cluster's state position now (to be saved as the hub stops). */
  save(): SavedJournal {
    const clusters: SavedJournal['clusters'] = {};
    for (const [name, j] of this.clusters) {
      const record = this.state.clusters.get(name);
      if (!record) continue;
      clusters[name] = {
        heard: [record.epoch, record.seq],
        horizon: j.horizon,
        marks: j.marks,
        changed: { job: [...j.changed.job], node: [...j.changed.node] },
        removed: { job: [...j.removed.job.values()], node: [...j.removed.node.values()] },
      };
    }
    return { v: 1, tick: this.tick, clusters };
  }

  private fresh(horizon: Position): ClusterJournal {
    return { horizon, marks: [], changed: { job: new Map(), node: new Map() }, removed: { job: new Map(), node: new Map() } };
  }

  private hear(changes: readonly FleetChange[]): void {
    const tick = ++this.tick;
    const seen = new Set<string>();
    for (const c of changes) {
      if (c.kind !== 'job' && c.kind !== 'node') continue;
      const record = this.state.clusters.get(c.cluster);
      if (!record) continue;
      let j = this.clusters.get(c.cluster);
      // A cluster first heard now: its earlier changes (if any) were not, so positions before this one are not known.
      if (!j) this.clusters.set(c.cluster, (j = this.fresh([record.epoch, record.seq])));
      if (!seen.has(c.cluster)) {
        seen.add(c.cluster);
        j.marks.push([record.epoch, record.seq, tick]);
        if (j.marks.length > this.maxMarks) this.trim(j, j.marks.length >> 1);
      }
      const kind = c.kind;
      if (c.type === 'upsert') {
        // A snapshot upserts every object again: one that is the same as before did not change.
        if (c.previous && c.value && sameObject(c.previous, c.value)) continue;
        j.changed[kind].set(c.id, tick);
        j.removed[kind].delete(c.id);
      } else {
        j.changed[kind].delete(c.id);
        const removed = j.removed[kind];
        removed.set(c.id, { key: c.id, tick, fields: c.previous ? keep(kind, c.previous as Job | Node) : { cluster: c.cluster } });
        if (removed.size > this.maxRemoved) {
          const oldest = removed.values().next().value!;
          removed.delete(oldest.key);
          this.raiseHorizon(j, oldest.tick);
        }
      }
    }
  }

  /** Forget the first `n` marks: positions before the next one are no longer fully known. */
  private trim(j: ClusterJournal, n: number): void {
    const last = j.marks[n - 1];
    j.marks.splice(0, n);
    this.raiseHorizon(j, last[2]);
  }

  /** Changes at or before `tick` may be lost: the horizon becomes that tick's position. */
  private raiseHorizon(j: ClusterJournal, tick: number): void {
    const mark = j.marks.find((m) => m[2] >= tick);
    const at: Position = mark ? [mark[0], mark[1]] : j.horizon;
    if (comparePositions(at, j.horizon) > 0) j.horizon = at;
    for (const kind of ['job', 'node'] as const) for (const [key, r] of j.removed[kind]) if (r.tick <= tick) j.removed[kind].delete(key);
  }

  /**
   * What changed in `cluster` after `after`: 'all' when the journal cannot say (no cursor
   * position, or one before the horizon), else the keys upserted and the objects removed since.
   */
  since(cluster: string, kind: JournalKind, after: Position | undefined): 'all' | { changed: Set<string | number>; removed: Removed[] } {
    const j = this.clusters.get(cluster);
    if (!after || !j || comparePositions(after, j.horizon) < 0) return 'all';
    // The first tick whose position is past the cursor; everything from it on is new.
    let lo = 0;
    let hi = j.marks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (comparePositions([j.marks[mid][0], j.marks[mid][1]], after) > 0) hi = mid;
      else lo = mid + 1;
    }
    const from = lo < j.marks.length ? j.marks[lo][2] : Infinity;
    const changed = new Set<string | number>();
    for (const [key, tick] of j.changed[kind]) if (tick >= from) changed.add(key);
    const removed = [...j.removed[kind].values()].filter((r) => r.tick >= from);
    return { changed, removed };
  }
}
