// A cluster's objects by kind and id, and the one way deltas change them. The agent replays
// its spool with it and the hub applies ingested deltas with it, so both agree exactly.
import type { Delta } from '../../generated/fleet/v1/agent.js';
import type { FleetObject, Job, ObjectRef } from '../../generated/fleet/v1/model.js';
import { enumToKind, kindToEnum, KINDS, objectId, wrapObject, type KindName, type KindTypes } from '../model/objects.js';

/**
 * How an object is keyed in its cluster: a job by its numeric id (no string to build and hash
 * per job update), every other kind by its string id (objectId). ObjectRef ids stay strings on
 * the wire: objectKeyOfRef converts them once.
 */
export type ObjectKey<K extends KindName = KindName> = K extends 'job' ? number : string;

export type ClusterObjects = { [K in KindName]: Map<ObjectKey<K>, KindTypes[K]> };

/** The key of an object in its kind's map. */
export function objectKey<K extends KindName>(kind: K, value: KindTypes[K]): ObjectKey<K> {
  return (kind === 'job' ? (value as Job).id : objectId(kind, value)) as ObjectKey<K>;
}

/**
 * The map key an ObjectRef's id names. A job id must be the decimal digits String(id) makes
 * ("007" or "7.0" name no job): NaN otherwise, which no map holds.
 */
export function objectKeyOfRef<K extends KindName>(kind: K, id: string): ObjectKey<K> {
  if (kind !== 'job') return id as ObjectKey<K>;
  const n = Number(id);
  return (id !== '' && String(n) === id ? n : NaN) as ObjectKey<K>;
}

export function emptyObjects(): ClusterObjects {
  return {
    job: new Map(),
    node: new Map(),
    partition: new Map(),
    reservation: new Map(),
    qos: new Map(),
    account: new Map(),
    association: new Map(),
    controller: new Map(),
  };
}

export interface AppliedChange {
  type: 'upsert' | 'remove';
  kind: KindName;
  /** The object's key (ObjectKey: a number for jobs). String(id) is its ObjectRef id. */
  id: ObjectKey;
  value?: KindTypes[KindName];
  previous?: KindTypes[KindName];
  /** Set when applyDelta was given the cluster (the hub's changes carry it). */
  cluster?: string;
}

/**
 * Applies a delta in place. A snapshot delta replaces everything (objects absent from it are
 * removed). Returns what changed, for indexes and watchers; with `cluster`, each change names it.
 */
export function applyDelta(objects: ClusterObjects, delta: Pick<Delta, 'upserts' | 'removals' | 'snapshot'>, cluster?: string): AppliedChange[] {
  const changes: AppliedChange[] = [];
  if (delta.snapshot && countObjects(objects) > 0) {
    // Ids the snapshot keeps, per kind (nothing to remove from an empty cluster: skipped).
    const keep = new Map<KindName, Set<ObjectKey>>();
    for (const obj of delta.upserts) {
      if (!obj.kind) continue;
      let ids = keep.get(obj.kind.$case);
      if (!ids) keep.set(obj.kind.$case, (ids = new Set()));
      ids.add(objectKey(obj.kind.$case, obj.kind.value as never));
    }
    for (const kind of KINDS) {
      const ids = keep.get(kind);
      const map = objects[kind] as Map<ObjectKey, KindTypes[KindName]>;
      for (const [id, previous] of map) {
        if (!ids?.has(id)) {
          map.delete(id);
          changes.push(cluster === undefined ? { type: 'remove', kind, id, previous } : { type: 'remove', kind, id, previous, cluster });
        }
      }
    }
  } else if (!delta.snapshot) {
    for (const ref of delta.removals) {
      const kind = enumToKind(ref.kind);
      if (!kind) continue;
      const map = objects[kind] as Map<ObjectKey, KindTypes[KindName]>;
      const id = objectKeyOfRef(kind, ref.id);
      const previous = map.get(id);
      if (previous === undefined) continue;
      map.delete(id);
      changes.push(cluster === undefined ? { type: 'remove', kind, id, previous } : { type: 'remove', kind, id, previous, cluster });
    }
  }
  for (const obj of delta.upserts) {
    if (!obj.kind) continue;
    const kind = obj.kind.$case;
    const value = obj.kind.value;
    const id = kind === 'job' ? (value as Job).id : objectId(kind, value as never);
    const map = objects[kind] as Map<ObjectKey, KindTypes[KindName]>;
    const previous = map.get(id);
    map.set(id, value);
    changes.push(cluster === undefined ? { type: 'upsert', kind, id, value, previous } : { type: 'upsert', kind, id, value, previous, cluster });
  }
  return changes;
}

/** Every object of a cluster as the upserts of a snapshot delta. */
export function allObjects(objects: ClusterObjects): FleetObject[] {
  const out: FleetObject[] = [];
  for (const kind of KINDS) {
    for (const value of objects[kind].values()) out.push(wrapObject(kind, value as never));
  }
  return out;
}

export function refOf(kind: KindName, id: ObjectKey | string): ObjectRef {
  return { kind: kindToEnum(kind), id: String(id) };
}

export function countObjects(objects: ClusterObjects): number {
  let n = 0;
  for (const kind of KINDS) n += objects[kind].size;
  return n;
}
