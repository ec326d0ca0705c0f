import { describe, expect, it } from 'vitest';
import { allObjects, applyDelta, decodeDelta, emptyObjects, encodeDelta, type Delta } from '../../shared/delta/index.js';
import { jobDelta, testJob, testNode } from '../../shared/delta/testdata/fleet-fixtures.js';
import { wrapObject } from '../../shared/model/index.js';
import { FleetState, type ClusterRecord } from './fleet-state.js';
import { queryJobs } from './queries.js';
import { snapshotOf } from './snapshot-of.js';

/** The snapshot literal that hub/store/fleet-store.ts, replication/compaction.ts and replication/publisher.ts each built by hand. */
function handBuilt(record: ClusterRecord): Delta {
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

function busyState(): FleetState {
  const state = new FleetState();
  state.apply({ ...jobDelta([testJob(1), testJob(2, { state: 'RUNNING', nodes: ['n1'] })], { epoch: 7, seq: 1, snapshot: true, observed_at: '2026-03-01T10:00:00.000Z' }), upserts: [wrapObject('job', testJob(1)), wrapObject('job', testJob(2)), wrapObject('node', testNode('n1'))] });
  state.apply(jobDelta([testJob(3)], { epoch: 7, seq: 2, removedJobs: [1], observed_at: '2026-03-01T10:00:05.000Z' }));
  return state;
}

describe('snapshotOf', () => {
  it('is what the three hand-built literals were', () => {
    const record = busyState().clusters.get('a')!;
    const snapshot = snapshotOf(record);
    expect(snapshot).toEqual(handBuilt(record));
    expect(snapshot).toMatchObject({ cluster: 'a', epoch: 7, seq: 2, snapshot: true, observed_at: '2026-03-01T10:00:05.000Z' });
    // A cluster that never had a delta (known only from its agent) still makes a valid snapshot.
    const empty = new FleetState().cluster('b');
    expect(snapshotOf(empty)).toEqual(handBuilt(empty));
    expect(snapshotOf(empty)).toMatchObject({ epoch: 0, seq: 0, observed_at: '', upserts: [] });
  });

  it('round-trips: applied (after encoding, as stored and published) it rebuilds the same cluster', () => {
    const source = busyState();
    const record = source.clusters.get('a')!;
    const decoded = decodeDelta(encodeDelta(snapshotOf(record)));

    const objects = emptyObjects();
    applyDelta(objects, decoded);
    expect(objects).toEqual(record.objects);

    const copy = new FleetState();
    copy.apply(jobDelta([testJob(9)], { epoch: 3, seq: 4, snapshot: true })); // replaced, not merged
    copy.apply(decoded);
    const rebuilt = copy.clusters.get('a')!;
    expect({ epoch: rebuilt.epoch, seq: rebuilt.seq, lastObservedAt: rebuilt.lastObservedAt }).toEqual({ epoch: 7, seq: 2, lastObservedAt: '2026-03-01T10:00:05.000Z' });
    expect(rebuilt.objects).toEqual(record.objects);
    for (const filter of [{}, { state: 'RUNNING' }, { state: 'PENDING' }]) expect(queryJobs(copy, filter).items, JSON.stringify(filter)).toEqual(queryJobs(source, filter).items);
  });
});
