// A cluster's whole state as one snapshot delta: what the store checkpoints, and what
// replication publishes and compacts into Redis. Applying it to an empty state rebuilds the
// cluster as it is (objects, epoch, seq, observed_at).
import { allObjects, type Delta } from '../../shared/delta/index.js';
import type { ClusterRecord } from './fleet-state.js';

export function snapshotOf(record: Readonly<ClusterRecord>): Delta {
  return {
    cluster: record.name,
    epoch: record.epoch,
    seq: record.seq,
    upserts: allObjects(record.objects),
    removals: [],
    observed_at: record.lastObservedAt ?? '',
    snapshot: true,
    events: [],
    snapshot_part: 0,
    snapshot_parts: 0,
  };
}
