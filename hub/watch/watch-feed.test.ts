import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import type { Delta } from '../../shared/delta/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { FleetState } from '../fleet/index.js';
import { WatchFeed, type WatchEvent } from './watch-feed.js';

function delta(seq: number, ids: number[]): Delta {
  return jobDelta(ids.map((id) => testJob(id)), { seq, snapshot: seq === 1 });
}

describe('WatchFeed buffer', () => {
  it('replays exactly what a watcher missed after the buffer wrapped, and resets when the gap is older', () => {
    const state = new FleetState();
    const feed = new WatchFeed(state, { capacity: 5 });
    state.apply(delta(1, [1, 2, 3]));
    const resumeFrom = feed.lastId; // after event 3
    state.apply(delta(2, [4]));
    state.apply(delta(3, [5, 6]));
    // 6 events into a ring of 5: event 1 is gone, 2..6 are kept.
    const replayed: WatchEvent[] = [];
    feed.subscribe({}, resumeFrom, (e) => replayed.push(e))();
    expect(replayed.map((e) => [e.seq, e.object_id])).toEqual([[4, '4'], [5, '5'], [6, '6']]);
    // Recorded while nobody watched, replayed with the ids a watcher resumes from: this run's
    // number, then the cluster's place (after delta 2; one change into delta 3; after delta 3).
    const boot = resumeFrom.split('-')[0];
    expect(resumeFrom).toBe(`${boot}-3/a:1.1`);
    expect(replayed.map((e) => e.id)).toEqual([`${boot}-4/a:1.2`, `${boot}-5/a:1.2>1.3.1`, `${boot}-6/a:1.3`]);
    expect(feed.lastId).toBe(`${boot}-6/a:1.3`);

    const fromOldest: WatchEvent[] = [];
    feed.subscribe({}, `${boot}-1`, (e) => fromOldest.push(e))();
    expect(fromOldest.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6]);

    state.apply(delta(4, [7, 8, 9]));
    // Now 5..9 are kept: resuming after 3 would miss 4, so the watcher must list again.
    const late: WatchEvent[] = [];
    feed.subscribe({}, resumeFrom, (e) => late.push(e))();
    expect(late.map((e) => e.type)).toEqual(['reset']);
    const recent: WatchEvent[] = [];
    feed.subscribe({}, `${boot}-4`, (e) => recent.push(e))();
    expect(recent.map((e) => e.seq)).toEqual([5, 6, 7, 8, 9]);
  });

  it('streams new events to subscribers in order', () => {
    const state = new FleetState();
    const feed = new WatchFeed(state, { capacity: 2 });
    const seen: string[] = [];
    const ids: string[] = [];
    const stop = feed.subscribe({}, undefined, (e) => {
      seen.push(`${e.type}:${e.object_id}`);
      ids.push(e.id);
    });
    state.apply(delta(1, [1, 2, 3]));
    stop();
    state.apply(delta(2, [4]));
    expect(seen).toEqual(['upsert:1', 'upsert:2', 'upsert:3']);
    const boot = feed.lastId.split('-')[0];
    expect(ids).toEqual([`${boot}-1/a:0.0>1.1.1`, `${boot}-2/a:0.0>1.1.2`, `${boot}-3/a:1.1`]);
  });
  it('keeps no more events than a watcher can be replayed, however many go by', () => {
    const state = new FleetState();
    const feed = new WatchFeed(state, { replay: 20 });
    state.apply(delta(1, [1]));
    const old = feed.lastId;
    // A day of a quiet fleet's churn: each event holds its whole object, so the feed must not keep more than it can replay.
    for (let seq = 2; seq <= 2_000; seq++) state.apply(delta(seq, [seq % 50, 1_000 + seq]));
    expect(feed.buffered).toBe(20);
    const replayed: WatchEvent[] = [];
    const recent = `${feed.lastId.split('/')[0].replace(/-\d+$/, '')}-${feed.lastSeq - 20}`;
    feed.subscribe({}, recent, (e) => replayed.push(e))();
    expect(replayed.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => feed.lastSeq - 19 + i));
    const gone: WatchEvent[] = [];
    feed.subscribe({}, old, (e) => gone.push(e))();
    expect(gone.map((e) => e.type)).toEqual(['reset']);
  });
});

describe('WatchFeed boot id', () => {
  it('a watcher resuming with an id of an earlier run gets a reset, even for a seq this run has', () => {
    const clock = new ManualClock();
    const before = new WatchFeed(new FleetState(), { clock });
    clock.advance(1_000);
    const state = new FleetState();
    const feed = new WatchFeed(state, { clock });
    state.apply(delta(1, [1, 2, 3]));
    expect(before.lastId.split('-')[0]).not.toBe(feed.lastId.split('-')[0]);
    const seen: WatchEvent[] = [];
    feed.subscribe({}, before.lastId.replace(/-\d+$/, '-1'), (e) => seen.push(e))();
    expect(seen.map((e) => e.type)).toEqual(['reset']);
  });
});
