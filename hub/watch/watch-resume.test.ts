// A watcher moving between hubs of a group (or across a restart) with Last-Event-ID: every hub
// applies each cluster's deltas in order, but interleaves clusters in its own way and may lag.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import type { Delta } from '../../shared/delta/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { FleetState } from '../fleet/index.js';
import { WatchFeed, type WatchEvent, type WatchFilter } from './watch-feed.js';

/** Delta `seq` of `cluster`: jobs get the state named for the seq, some are removed. */
function delta(cluster: string, seq: number, ids: number[], removed: number[] = [], snapshot = false): Delta {
  return jobDelta(ids.map((id) => testJob(id, { cluster, state: `S${seq}` })), { cluster, seq, snapshot, removedJobs: removed });
}

const history: Delta[] = [
  delta('a', 1, [1, 2, 3], [], true),
  delta('b', 1, [10, 11], [], true),
  delta('a', 2, [1, 4], [2]),
  delta('b', 2, [10, 12, 13]),
  delta('a', 3, [4, 5, 6]),
  delta('b', 3, [11], [10]),
  delta('a', 4, [1], [3, 5]),
  delta('b', 4, [14]),
];

let ticks = 0;
function hub(): { state: FleetState; feed: WatchFeed } {
  const state = new FleetState();
  // Each hub run its own boot id, as separate processes have.
  return { state, feed: new WatchFeed(state, { clock: new ManualClock(Date.parse('2026-01-01') + ++ticks * 1000) }) };
}

/** What a watcher holding the state learns from events: "cluster/job=state", or "-" when removed. */
function seen(events: WatchEvent[]): string[] {
  return events.filter((e) => e.type !== 'reset').map((e) => `${e.cluster}/${e.object_id}=${e.type === 'upsert' ? (e.object as { state: string }).state : '-'}`);
}

function perCluster(lines: string[], cluster: string): string[] {
  return lines.filter((l) => l.startsWith(`${cluster}/`));
}

function watch(feed: WatchFeed, lastId: string | undefined, filter: WatchFilter = {}): { events: WatchEvent[]; stop: () => void } {
  const events: WatchEvent[] = [];
  const stop = feed.subscribe(filter, lastId, (e) => events.push(e));
  return { events, stop };
}

describe('WatchFeed: resuming on another hub of the group', () => {
  it('misses no change and gets no reset, whichever event it stopped at, while the hubs interleave clusters differently', () => {
    // The whole history as one watcher on hub A sees it.
    const reference = hub();
    const all = watch(reference.feed, undefined);
    for (const d of history) reference.state.apply(d);
    const expected = seen(all.events);
    expect(expected).toHaveLength(all.events.length);

    for (let stopAt = 1; stopAt < all.events.length; stopAt++) {
      const a = hub();
      const b = hub();
      const onA = watch(a.feed, undefined);
      // Hub A ingests cluster a itself and follows b; hub B the other way round: B applies b's
      // deltas at once and a's late, A applies a's at once and b's late.
      const order = [0, 2, 1, 4, 3, 6, 5, 7];
      const orderB = [1, 3, 0, 5, 2, 7, 4, 6];
      for (const i of order) a.state.apply(history[i]);
      for (const i of orderB) b.state.apply(history[i]);
      onA.stop();
      // The watcher got `stopAt` events on A, then its hub went away.
      const got = onA.events.slice(0, stopAt);
      const onB = watch(b.feed, got[got.length - 1].id);
      onB.stop();
      expect(onB.events.map((e) => e.type), `stopped after event ${stopAt}`).not.toContain('reset');
      const lines = [...seen(got), ...seen(onB.events)];
      for (const cluster of ['a', 'b']) expect(perCluster(lines, cluster), `cluster ${cluster}, stopped after event ${stopAt}`).toEqual(perCluster(expected, cluster));
    }
  });

  it('waits on a hub that has not reached its place yet, then goes on without a duplicate', () => {
    const a = hub();
    const b = hub();
    const onA = watch(a.feed, undefined);
    for (const d of history.slice(0, 6)) a.state.apply(d);
    onA.stop();
    // B is two deltas behind (replication lag) when the watcher arrives.
    for (const d of history.slice(0, 4)) b.state.apply(d);
    const onB = watch(b.feed, onA.events[onA.events.length - 1].id);
    expect(onB.events).toEqual([]);
    for (const d of history.slice(4)) b.state.apply(d);
    onB.stop();
    expect(onB.events.map((e) => e.type)).not.toContain('reset');
    const full = hub();
    const all = watch(full.feed, undefined);
    for (const d of history) full.state.apply(d);
    expect([...seen(onA.events), ...seen(onB.events)].sort()).toEqual(seen(all.events).sort());
    expect(seen(onB.events)).toEqual(['a/3=-', 'a/5=-', 'a/1=S4', 'b/14=S4']);
  });

  it('resets when the other hub jumped over the place by a snapshot, or no longer holds what follows it', () => {
    const a = hub();
    const onA = watch(a.feed, undefined);
    for (const d of history.slice(0, 3)) a.state.apply(d);
    onA.stop();
    const last = onA.events[onA.events.length - 1].id;
    // B missed a's seq 2 and 3 and caught up through a snapshot at seq 3.
    const b = hub();
    b.state.apply(history[0]);
    b.state.apply(history[1]);
    b.state.apply(delta('a', 3, [1, 4, 5, 6], [], true));
    expect(watch(b.feed, last).events.map((e) => e.type)).toEqual(['reset']);
    // A hub whose buffer lost what came after the place.
    const small = new FleetState();
    const feed = new WatchFeed(small, { capacity: 3, clock: new ManualClock(1) });
    for (const d of history) small.apply(d);
    expect(watch(feed, last).events.map((e) => e.type)).toEqual(['reset']);
  });

  it('keeps the replay bound: more than `replay` events to catch up on is a reset', () => {
    const a = hub();
    const first = watch(a.feed, undefined);
    a.state.apply(history[0]);
    first.stop();
    const state = new FleetState();
    const b = new WatchFeed(state, { replay: 5, clock: new ManualClock(2) });
    for (const d of history) state.apply(d);
    const from = first.events[first.events.length - 1].id;
    expect(watch(b, from).events.map((e) => e.type)).toEqual(['reset']);
    const wide = new FleetState();
    const c = new WatchFeed(wide, { clock: new ManualClock(3) });
    for (const d of history) wide.apply(d);
    expect(watch(c, from).events.map((e) => e.type)).not.toContain('reset');
  });

  it('reads only the watched cluster’s place when the watcher filters one cluster', () => {
    const a = hub();
    const onA = watch(a.feed, undefined, { cluster: 'b' });
    for (const d of history.slice(0, 4)) a.state.apply(d);
    onA.stop();
    // This hub never saw cluster a (it could not serve a watcher of a), which does not matter for b.
    const fresh = hub();
    for (const d of [history[1], history[3], history[5], history[7]]) fresh.state.apply(d);
    const onFresh = watch(fresh.feed, onA.events[onA.events.length - 1].id, { cluster: 'b' });
    expect(seen(onFresh.events)).toEqual(['b/10=-', 'b/11=S3', 'b/14=S4']);
  });

  it('a standalone hub restarted on the same state resumes with no reset; ids it cannot read are a reset', () => {
    const before = hub();
    const w = watch(before.feed, undefined);
    for (const d of history.slice(0, 4)) before.state.apply(d);
    w.stop();
    // The restart: the state is loaded from the data directory (no watcher hears it), a new feed.
    const state = new FleetState();
    for (const d of history.slice(0, 4)) state.apply(d, { notify: false });
    const feed = new WatchFeed(state, { clock: new ManualClock(99_000) });
    const resumed = watch(feed, w.events[w.events.length - 1].id);
    expect(resumed.events).toEqual([]);
    state.apply(history[4]);
    resumed.stop();
    expect(seen(resumed.events)).toEqual(['a/4=S3', 'a/5=S3', 'a/6=S3']);
    for (const bad of ['zz-1', 'zz-1/a:1.x', 'zz-1/a', 'zz-1/%:1.1', 'zz-1/a:1.1>1.2.0', 'previous-release-id']) {
      expect(watch(feed, bad).events.map((e) => e.type), bad).toEqual(['reset']);
    }
    // Counted for sfleet_watch_resumes_total: one watcher replayed, the six unreadable ids reset.
    expect(feed.resumes).toEqual({ replayed: 1, reset: 6 });
  });

  it("inside a snapshot's removals (whose order is each hub's own) resumes from before the snapshot", () => {
    const a = hub();
    const b = hub();
    a.state.apply(delta('a', 1, [1, 2, 3], [], true));
    // B holds the same state, its objects inserted in another order.
    b.state.apply(delta('a', 1, [3, 2, 1], [], true));
    const onA = watch(a.feed, undefined);
    const restart = { ...delta('a', 1, [4], [], true), epoch: 2 };
    a.state.apply(restart);
    b.state.apply(restart);
    onA.stop();
    expect(seen(onA.events)).toEqual(['a/1=-', 'a/2=-', 'a/3=-', 'a/4=S1']);
    const onB = watch(b.feed, onA.events[0].id);
    expect(onB.events.map((e) => e.type)).not.toContain('reset');
    // The whole snapshot again: the one removal seen comes twice, nothing is missed.
    expect(new Set([...seen(onA.events.slice(0, 1)), ...seen(onB.events)])).toEqual(new Set(seen(onA.events)));
    // Past the removals, the place is exact.
    expect(seen(watch(b.feed, onA.events[2].id).events)).toEqual(['a/4=S1']);
  });

  it('a watcher waiting for a hub that then jumps over its place by a snapshot gets a reset', () => {
    const a = hub();
    const onA = watch(a.feed, undefined);
    for (const d of history.slice(0, 3)) a.state.apply(d);
    onA.stop();
    const b = hub();
    b.state.apply(history[0]);
    const onB = watch(b.feed, onA.events[onA.events.length - 1].id);
    expect(onB.events).toEqual([]);
    b.state.apply(delta('a', 3, [1, 4, 5], [], true));
    expect(onB.events.map((e) => e.type)).toEqual(['reset', 'remove', 'remove', 'upsert', 'upsert', 'upsert']);
  });

  it('gives a watcher limited to some clusters ids naming only those, and resumes from them', () => {
    const a = hub();
    const named = (cluster: string): boolean => cluster === 'b';
    const onA = watch(a.feed, undefined, { names: named, visible: (e) => (e.cluster === 'b' ? e : undefined) });
    for (const d of history.slice(0, 4)) a.state.apply(d);
    onA.stop();
    expect(onA.events.length).toBeGreaterThan(0);
    for (const e of onA.events) expect(e.id).not.toMatch(/[/,]a:/);
    expect(a.feed.lastIdFor({ names: named })).not.toMatch(/[/,]a:/);
    expect(a.feed.lastId).toMatch(/[/,]a:/);
    const b = hub();
    for (const d of history) b.state.apply(d);
    const onB = watch(b.feed, onA.events[onA.events.length - 1].id, { names: named, visible: (e) => (e.cluster === 'b' ? e : undefined) });
    expect(seen(onB.events)).toEqual(['b/10=-', 'b/11=S3', 'b/14=S4']);
  });
});
