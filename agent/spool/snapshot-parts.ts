// A big snapshot is spooled and sent in parts of a few thousand objects (Delta.snapshot_part of
// snapshot_parts, consecutive seqs). Small messages keep the stream live while a busy hub reads
// them (heartbeats are not stuck behind one 20 MB message), and the hub applies the parts as
// one snapshot when the last is in. Delta records are protobuf messages, so the records of
// all parts laid end to end decode as the whole snapshot (repeated fields append, the last
// part's seq wins): that is what a hub without parts gets, and what the checkpoint holds.
import type { Delta } from '../../shared/delta/index.js';

/** Objects per part: ~1.5 MB of a v0.0.38-sized job each, a few ms for the hub to decode. */
export const SNAPSHOT_PART_OBJECTS = 5_000;

/** The snapshot as parts from `firstSeq` on (one part, numbered 0 of 0, when it is small). */
export function snapshotParts(whole: Delta, firstSeq: number, partObjects = SNAPSHOT_PART_OBJECTS): Delta[] {
  const total = Math.max(1, Math.ceil(whole.upserts.length / partObjects));
  if (total === 1) return [{ ...whole, seq: firstSeq, snapshot: true, snapshot_part: 0, snapshot_parts: 0 }];
  const parts: Delta[] = [];
  for (let i = 0; i < total; i++) {
    parts.push({
      ...whole,
      seq: firstSeq + i,
      upserts: whole.upserts.slice(i * partObjects, (i + 1) * partObjects),
      removals: [],
      snapshot: true,
      // Events travel with the last part: the hub records them when the snapshot is whole.
      events: i === total - 1 ? whole.events : [],
      snapshot_part: i + 1,
      snapshot_parts: total,
    });
  }
  return parts;
}

/**
 * A plain delta of more than `partObjects` upserts (the first full poll after an events-only
 * delta took seq 1, a poll that saw most jobs change) as consecutive plain deltas: each is
 * applied and acked on its own, so no hub needs to know about it. Removals and events go with
 * the last one, which completes the poll.
 */
export function deltaChunks(delta: Delta, partObjects = SNAPSHOT_PART_OBJECTS): Delta[] {
  if (delta.snapshot || delta.upserts.length <= partObjects) return [delta];
  const chunks: Delta[] = [];
  const total = Math.ceil(delta.upserts.length / partObjects);
  for (let i = 0; i < total; i++) {
    const last = i === total - 1;
    chunks.push({
      ...delta,
      seq: delta.seq + i,
      upserts: delta.upserts.slice(i * partObjects, (i + 1) * partObjects),
      removals: last ? delta.removals : [],
      events: last ? delta.events : [],
    });
  }
  return chunks;
}

/** The records of a snapshot's parts as one record of the whole snapshot. */
export function joinRecords(records: Uint8Array[]): Uint8Array {
  if (records.length === 1) return records[0];
  return Buffer.concat(records);
}
