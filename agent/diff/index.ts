// The poll diff: what the new poll says, against what the agent has already put in its stream.
// Pure: no I/O. `known` is updated in place so the next poll diffs against this one.
import { objectKey, refOf, type ClusterObjects, type ObjectKey } from '../../shared/delta/index.js';
import { KINDS, wrapObject, type ClusterModel, type FleetObject, type KindName, type ObjectRef } from '../../shared/model/index.js';

export interface PollDiff {
  upserts: FleetObject[];
  removals: ObjectRef[];
}

export interface DiffInput {
  model: ClusterModel;
  /** Kinds Slurm reported unchanged (304): nothing to compare. */
  unchanged?: ReadonlySet<KindName>;
  /** Kinds that could not be read: keep what we had, never turn a failure into removals. */
  failed?: ReadonlySet<KindName> | ReadonlyMap<KindName, unknown>;
}

export function diffPoll(known: ClusterObjects, input: DiffInput): PollDiff {
  const upserts: FleetObject[] = [];
  const removals: ObjectRef[] = [];
  for (const kind of KINDS) {
    if (input.unchanged?.has(kind) || input.failed?.has(kind)) continue;
    const previous = known[kind] as Map<ObjectKey, unknown>;
    const seen = new Set<ObjectKey>();
    for (const value of input.model[kind]) {
      const id = objectKey(kind, value as never);
      seen.add(id);
      const before = previous.get(id);
      if (before === undefined || !sameObject(before, value)) {
        previous.set(id, value);
        upserts.push(wrapObject(kind, value as never));
      }
    }
    if (seen.size !== previous.size) {
      for (const id of previous.keys()) {
        if (!seen.has(id)) {
          previous.delete(id);
          removals.push(refOf(kind, id));
        }
      }
    }
  }
  return { upserts, removals };
}

/** Field-by-field equality of two model objects (flat values and arrays of scalars). */
export function sameObject(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let countA = 0;
  for (const key in ra) {
    const va = ra[key];
    if (va === undefined) continue;
    countA++;
    const vb = rb[key];
    if (va === vb) continue;
    if (Array.isArray(va) && Array.isArray(vb)) {
      if (va.length !== vb.length) return false;
      for (let i = 0; i < va.length; i++) if (va[i] !== vb[i]) return false;
      continue;
    }
    return false;
  }
  let countB = 0;
  for (const key in rb) if (rb[key] !== undefined) countB++;
  return countA === countB;
}
