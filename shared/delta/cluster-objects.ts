// A cluster's objects by kind and id, and the one way deltas change them. The agent replays
// its spool with it and the hub applies ingested deltas with it, so both agree exactly.
import type { Delta } from '../../generated/fleet/v1/agent.js';
import type { FleetObject, ObjectRef } from '../../generated/fleet/v1/model.js';
import { enumToKind, kindToEnum, KINDS, objectId, wrapObject, type KindName, type KindTypes } from '../model/objects.js';

export type ClusterObjects = { [K in KindName]: Map<string, KindTypes[K]> };

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
  id: string;
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
    const keep = new Map<KindName, Set<string>>();
    for (const obj of delta.upserts) {
      if (!obj.kind) continue;
      let ids = keep.get(obj.kind.$case);
      if (!ids) keep.set(obj.kind.$case, (ids = new Set()));
      ids.add(objectId(obj.kind.$case, obj.kind.value as never));
    }
    for (const kind of KINDS) {
      const ids = keep.get(kind);
      for (const [id, previous] of objects[kind]) {
        if (!ids?.has(id)) {
          objects[kind].delete(id);
          changes.push(cluster === undefined ? { type: 'remove', kind, id, previous } : { type: 'remove', kind, id, previous, cluster });
        }
      }
    }
  } else if (!delta.snapshot) {
    for (const ref of delta.removals) {
      const kind = enumToKind(ref.kind);
      if (!kind) continue;
      const previous = objects[kind].get(ref.id);
      if (previous === undefined) continue;
      objects[kind].delete(ref.id);
      changes.push(cluster === undefined ? { type: 'remove', kind, id: ref.id, previous } : { type: 'remove', kind, id: ref.id, previous, cluster });
    }
  }
  for (const obj of delta.upserts) {
    if (!obj.kind) continue;
    const kind = obj.kind.$case;
    const value = obj.kind.value;
    const id = objectId(kind, value as never);
    const map = objects[kind] as Map<string, KindTypes[KindName]>;
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

export function refOf(kind: KindName, id: string): ObjectRef {
  return { kind: kindToEnum(kind), id };
}

export function countObjects(objects: ClusterObjects): number {
  let n = 0;
  for (const kind of KINDS) n += objects[kind].size;
  return n;
}
