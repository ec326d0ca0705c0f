// Event ids any hub of a group can resume from. Every hub applies each cluster's deltas in
// (epoch, seq) order and holds the same state at the same (epoch, seq) (the spine's invariant),
// and a delta applied to the same state makes the same changes in the same order. So a
// watcher's place is, per cluster, a state position ("the state at e.s") or, in the middle of a
// delta, "k changes of the delta from F to T". An event id carries that vector after this hub's
// own "<boot>-<n>" (which still resumes exactly on the same hub run, fleet events included):
//   <boot>-<n>/<cluster>:<e>.<s>,<cluster>:<fe>.<fs>><te>.<ts>.<k>   (numbers in base 36)
// Another hub (or this hub after a restart) replays, per cluster, its events after that place,
// if its buffer still holds them; one that has not reached the place yet skips its events up to
// it; anything else (its history jumped over the place through a snapshot) is a reset.
// A snapshot's removals come first, in the order of the hub's map, which may differ between
// hubs: a place among them is given as the state before the snapshot (replayed whole).
// The id grows with the number of clusters (about 20 bytes each).
import type { StatePosition } from '../fleet/index.js';

/** One applied delta's changes in the feed: the watch events [first, first + n) share it. */
export interface FeedBatch {
  cluster: string;
  from: StatePosition;
  to: StatePosition;
  /** Feed seq of its first event. */
  first: number;
  n: number;
  /** How many of its first changes come in this hub's own order (a snapshot's removals). */
  unordered: number;
}

/** A watcher's place in one cluster. */
export type Place = { at: StatePosition } | { from: StatePosition; to: StatePosition; k: number };

export const ZERO: StatePosition = { epoch: 0, seq: 0 };

export function positionKey(p: StatePosition): string {
  return `${p.epoch.toString(36)}.${p.seq.toString(36)}`;
}

export function comparePositions(a: StatePosition, b: StatePosition): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

/** The place after the event at `index` of the batch (as its id gives it). */
export function placeAfter(batch: FeedBatch, index: number): string {
  if (index >= batch.n - 1) return positionKey(batch.to);
  if (index + 1 < batch.unordered) return positionKey(batch.from);
  return `${positionKey(batch.from)}>${positionKey(batch.to)}.${(index + 1).toString(36)}`;
}

/** "<cluster>:<place>" joined by ",": all but `skip`, of the clusters `named` allows. */
export function vectorText(places: ReadonlyMap<string, string>, skip?: string, named?: (cluster: string) => boolean): string {
  let out = '';
  for (const [cluster, place] of places) {
    if (cluster === skip || (named && !named(cluster))) continue;
    out += `${out ? ',' : ''}${encodeURIComponent(cluster)}:${place}`;
  }
  return out;
}

const POSITION = /^([0-9a-z]+)\.([0-9a-z]+)$/;
const MID = /^([0-9a-z]+\.[0-9a-z]+)>([0-9a-z]+\.[0-9a-z]+)\.([0-9a-z]+)$/;

function parsePosition(text: string): StatePosition | undefined {
  const m = POSITION.exec(text);
  if (!m) return undefined;
  const epoch = parseInt(m[1], 36);
  const seq = parseInt(m[2], 36);
  return Number.isSafeInteger(epoch) && Number.isSafeInteger(seq) ? { epoch, seq } : undefined;
}

/** The vector of an id, or undefined when it is not one (then the watcher gets a reset). */
export function parseVector(text: string): Map<string, Place> | undefined {
  const out = new Map<string, Place>();
  if (text === '') return out;
  for (const part of text.split(',')) {
    const colon = part.lastIndexOf(':');
    if (colon <= 0) return undefined;
    let cluster: string;
    try {
      cluster = decodeURIComponent(part.slice(0, colon));
    } catch {
      return undefined;
    }
    const place = part.slice(colon + 1);
    const at = parsePosition(place);
    if (at) {
      out.set(cluster, { at });
      continue;
    }
    const m = MID.exec(place);
    const from = m && parsePosition(m[1]);
    const to = m && parsePosition(m[2]);
    const k = m ? parseInt(m[3], 36) : NaN;
    if (!from || !to || !(k > 0)) return undefined;
    out.set(cluster, { from, to, k });
  }
  return out;
}

/** Where a cluster's replay starts: after this feed seq; or not reached yet here; or not servable. */
export type Resolution = { after: number } | 'behind' | 'unknown';

/**
 * Per cluster, the feed seq at which this hub's state stood at each position its buffer still
 * covers, and the batches by the position they lead to.
 */
export class PositionIndex {
  /** Where each cluster's state stands, as the feed last heard. */
  readonly current = new Map<string, StatePosition>();
  private readonly at = new Map<string, Map<string, number>>();
  private readonly batches = new Map<string, Map<string, FeedBatch>>();

  /** The state a cluster had before the feed heard of it (a restart's load): seq 0 comes before every event. */
  start(cluster: string, position: StatePosition, seq: number): void {
    this.current.set(cluster, position);
    this.mapOf(this.at, cluster).set(positionKey(position), seq);
  }

  note(batch: FeedBatch): void {
    const at = this.mapOf(this.at, batch.cluster);
    const fromKey = positionKey(batch.from);
    if (!at.has(fromKey)) at.set(fromKey, batch.first - 1);
    const toKey = positionKey(batch.to);
    at.delete(toKey); // kept in order of seq, for prune()
    at.set(toKey, batch.first + batch.n - 1);
    const batches = this.mapOf(this.batches, batch.cluster);
    batches.delete(toKey);
    batches.set(toKey, batch);
    this.current.set(batch.cluster, batch.to);
  }

  /** Forgets what lies before the buffer's oldest event. */
  prune(oldest: number): void {
    for (const at of this.at.values()) {
      for (const [key, seq] of at) {
        if (seq >= oldest - 1) break;
        at.delete(key);
      }
    }
    for (const batches of this.batches.values()) {
      for (const [key, batch] of batches) {
        if (batch.first >= oldest) break;
        batches.delete(key);
      }
    }
  }

  resolve(cluster: string, place: Place, oldest: number, last: number): Resolution {
    const current = this.current.get(cluster) ?? ZERO;
    if ('at' in place) {
      if (comparePositions(current, place.at) === 0) return { after: last };
      const seq = this.at.get(cluster)?.get(positionKey(place.at));
      if (seq !== undefined && seq >= oldest - 1) return { after: seq };
      return comparePositions(current, place.at) < 0 ? 'behind' : 'unknown';
    }
    const batch = this.batches.get(cluster)?.get(positionKey(place.to));
    if (batch && comparePositions(batch.from, place.from) === 0 && place.k < batch.n && batch.first >= oldest) return { after: batch.first + place.k - 1 };
    return comparePositions(current, place.to) < 0 ? 'behind' : 'unknown';
  }

  private mapOf<V>(maps: Map<string, Map<string, V>>, cluster: string): Map<string, V> {
    let map = maps.get(cluster);
    if (!map) maps.set(cluster, (map = new Map()));
    return map;
  }
}

/**
 * A watcher resumed on a hub that has not reached its place in a cluster yet: drops that
 * cluster's events up to the place, then lets them through. 'reset' when this hub's history
 * jumped over the place (a snapshot), 'drop' for an event the watcher has had.
 */
export function catchUp(place: Place, batch: FeedBatch, seq: number): 'drop' | 'done-drop' | 'deliver' | 'reset' {
  const index = seq - batch.first;
  const last = index === batch.n - 1;
  if ('at' in place) {
    const c = comparePositions(batch.to, place.at);
    if (c < 0) return 'drop';
    if (c === 0) return last ? 'done-drop' : 'drop';
    return comparePositions(batch.from, place.at) === 0 ? 'deliver' : 'reset';
  }
  if (comparePositions(batch.to, place.to) < 0) return 'drop';
  if (comparePositions(batch.to, place.to) === 0 && comparePositions(batch.from, place.from) === 0) {
    if (index < place.k) return last ? 'done-drop' : 'drop';
    return 'deliver';
  }
  return 'reset';
}
