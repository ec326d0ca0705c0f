import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { FleetState } from '../fleet/index.js';
import { replicationKeys } from './keys.js';
import { ReplicationPresence, type StreamProgress } from './presence.js';
import type { OwnerRecord } from './publisher.js';

const STALE_AFTER = 5_000;

function setup(opts: { ingesting?: string[] } = {}) {
  const clock = new ManualClock();
  const keys = replicationKeys('sfleet', 'eu');
  const state = new FleetState({ clock });
  state.apply(jobDelta([testJob(1)], { cluster: 'alpha', epoch: 3, seq: 2, snapshot: true }));
  const owners = new Map<string, OwnerRecord>();
  const redis = { mget: async (ks: string[]) => ks.map((k) => (owners.has(k) ? JSON.stringify(owners.get(k)) : null)) } as unknown as Redis;
  const resyncs: string[] = [];
  const stream: StreamProgress & { lastReadAt: number; lastError: string | null; catchingUpTo: string | null; caughtUpOnce: boolean; gaps: Map<string, number> } = {
    lastReadAt: clock.now(),
    lastError: null,
    catchingUpTo: null,
    caughtUpOnce: true,
    gaps: new Map(),
    askResync: (cluster) => void resyncs.push(cluster),
  };
  const ingesting = new Set(opts.ingesting ?? []);
  const presence = new ReplicationPresence({ redis, keys, hubId: 'hub-b', state, ingesting: () => ingesting, stream, clock }, { staleAfterMs: STALE_AFTER });
  const own = (cluster: string, owner: OwnerRecord | undefined): void => void (owner ? owners.set(keys.owner(cluster), owner) : owners.delete(keys.owner(cluster)));
  return { clock, state, stream, presence, resyncs, own };
}

describe('ReplicationPresence', () => {
  it('names the agent streaming to another hub, and keeps naming it once it is gone', async () => {
    const { state, presence, own } = setup();
    const heard: [string, boolean, string | undefined][] = [];
    state.onClusterStatus((r) => heard.push([r.name, r.connected, r.agent]));
    own('alpha', { hub: 'hub-a', agent: 'agent-1', epoch: 3, seq: 2, at: 0 });
    await presence.pollOwners();
    await presence.pollOwners(); // nothing changed: nobody is told again
    own('alpha', undefined);
    await presence.pollOwners();
    expect(heard).toEqual([
      ['alpha', true, 'agent-1'],
      ['alpha', false, 'agent-1'],
    ]);
    expect(presence.stale()).toEqual(new Map());
  });

  it('a cluster behind its ingesting hub is stale only once behind for more than stale_after', async () => {
    const { clock, stream, presence, own, resyncs } = setup();
    own('alpha', { hub: 'hub-a', agent: 'agent-1', epoch: 3, seq: 5, at: 0 });
    await presence.pollOwners();
    clock.advance(STALE_AFTER);
    stream.lastReadAt = clock.now(); // the stream keeps answering
    await presence.pollOwners();
    expect(presence.behindFor('alpha')).toBe(STALE_AFTER);
    expect(presence.stale()).toEqual(new Map()); // exactly stale_after: still fresh
    expect(resyncs).toEqual([]);
    clock.advance(1);
    stream.lastReadAt = clock.now();
    expect(presence.stale()).toEqual(new Map([['alpha', 'behind hub hub-a (it has seq 5, this hub 2)']]));
    // Behind that long with the stream read to its end: deltas were lost, a snapshot is asked for.
    await presence.pollOwners();
    expect(resyncs).toEqual(['alpha']);
    // Caught up: no longer behind, no longer stale.
    own('alpha', { hub: 'hub-a', agent: 'agent-1', epoch: 3, seq: 2, at: 0 });
    await presence.pollOwners();
    expect(presence.behindFor('alpha')).toBe(0);
    expect(presence.stale()).toEqual(new Map());
  });

  it('the stream silent for more than stale_after makes every followed cluster stale, and "*"', () => {
    const { clock, stream, presence } = setup();
    clock.advance(STALE_AFTER);
    expect(presence.streamHealthy()).toBe(true);
    expect(presence.stale()).toEqual(new Map());
    clock.advance(1);
    expect(presence.streamHealthy()).toBe(false);
    expect(presence.streamReadAgeMs()).toBe(STALE_AFTER + 1);
    stream.lastError = 'connection closed';
    expect(presence.stale()).toEqual(
      new Map([
        ['*', 'replication stream unreadable (connection closed): clusters of other hubs may be missing or old'],
        ['alpha', 'replication stream unreadable since 5 s ago (connection closed)'],
      ]),
    );
    stream.lastReadAt = 0;
    expect(presence.streamReadAgeMs()).toBeNull();
    expect(presence.stale().get('alpha')).toBe('replication stream unreadable since start ago (connection closed)');
  });

  it('catching up, or a gap, makes followed clusters stale; a cluster ingested here never is', () => {
    const { state, stream, presence } = setup({ ingesting: ['beta'] });
    state.apply(jobDelta([testJob(1)], { cluster: 'beta', epoch: 1, seq: 1, snapshot: true }));
    stream.catchingUpTo = '100-0';
    expect(presence.stale()).toEqual(
      new Map([
        ['*', 'catching up with the replication stream: clusters of other hubs may be missing or old'],
        ['alpha', 'catching up with the replication stream'],
      ]),
    );
    stream.catchingUpTo = null;
    stream.gaps.set('alpha', 0);
    expect(presence.stale()).toEqual(new Map([['alpha', 'deltas missing: waiting for a snapshot from the ingesting hub']]));
    stream.gaps.clear();
    stream.caughtUpOnce = false;
    expect([...presence.stale().keys()]).toEqual(['*']);
  });
});
