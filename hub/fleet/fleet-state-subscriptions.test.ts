import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { FleetState, type ClusterRecord, type FleetChange } from './fleet-state.js';

describe('FleetState subscriptions', () => {
  it('delivers each applied batch of changes to onChanges listeners, until they unsubscribe', () => {
    const state = new FleetState();
    const heard: (readonly FleetChange[])[] = [];
    const statuses: string[] = [];
    const unsubscribe = state.onChanges((changes) => heard.push(changes));
    state.onClusterStatus((record) => statuses.push(record.name));
    state.apply(jobDelta([testJob(1), testJob(2)], { snapshot: true }));
    expect(heard).toHaveLength(1);
    expect(heard[0].map((c) => [c.cluster, c.kind, c.type, c.id])).toEqual([
      ['a', 'job', 'upsert', 1],
      ['a', 'job', 'upsert', 2],
    ]);
    expect(statuses).toEqual([]); // changes are not status
    unsubscribe();
    state.apply(jobDelta([testJob(3)], { seq: 2 }));
    expect(heard).toHaveLength(1);
  });

  it('tells no one of a rebuild (notify: false) nor of a delta that changes nothing', () => {
    const state = new FleetState();
    let calls = 0;
    state.onChanges(() => calls++);
    state.apply(jobDelta([testJob(1)], { snapshot: true }), { notify: false });
    state.apply(jobDelta([], { seq: 2 }));
    expect(calls).toBe(0);
    expect(state.clusters.get('a')!.objects.job.size).toBe(1);
  });

  it('a function subscribed twice hears twice, and each unsubscribe removes one', () => {
    const state = new FleetState();
    let calls = 0;
    const listener = (): void => void calls++;
    const first = state.onChanges(listener);
    state.onChanges(listener);
    state.apply(jobDelta([testJob(1)], { snapshot: true }));
    expect(calls).toBe(2);
    first();
    first(); // twice is harmless
    state.apply(jobDelta([testJob(2)], { seq: 2 }));
    expect(calls).toBe(3);
  });

  it('setAgentStatus updates the record and notifies cluster-status listeners, and only them', () => {
    const state = new FleetState();
    const statuses: Pick<ClusterRecord, 'name' | 'connected' | 'agent'>[] = [];
    let changes = 0;
    state.onChanges(() => changes++);
    const unsubscribe = state.onClusterStatus((r) => statuses.push({ name: r.name, connected: r.connected, agent: r.agent }));
    const record = state.setAgentStatus('a', { connected: true, agent: 'agent-1' });
    expect(record).toBe(state.clusters.get('a'));
    expect(record).toMatchObject({ connected: true, agent: 'agent-1' });
    // Gone: the agent is still named; unchanged: listeners still hear (a demotion).
    state.setAgentStatus('a', { connected: false });
    state.setAgentStatus('a', { connected: false });
    expect(statuses).toEqual([
      { name: 'a', connected: true, agent: 'agent-1' },
      { name: 'a', connected: false, agent: 'agent-1' },
      { name: 'a', connected: false, agent: 'agent-1' },
    ]);
    expect(changes).toBe(0);
    unsubscribe();
    state.setAgentStatus('a', { connected: true, agent: 'agent-2' });
    expect(statuses).toHaveLength(3);
    expect(state.clusters.get('a')).toMatchObject({ connected: true, agent: 'agent-2' });
  });

  it('is not an event bus: nothing outside can emit on it or listen by event name', () => {
    const state = new FleetState() as unknown as Record<string, unknown>;
    for (const name of ['emit', 'on', 'once', 'addListener', 'removeListener', 'off']) expect(state[name], name).toBeUndefined();
  });

  it('stamps lastDeltaAt from its clock', () => {
    const clock = new ManualClock(Date.parse('2026-03-01T10:00:00.000Z'));
    const state = new FleetState({ clock });
    state.apply(jobDelta([testJob(1)], { snapshot: true, observed_at: '2026-03-01T09:59:59.000Z' }));
    clock.advance(1_500);
    state.apply(jobDelta([testJob(2)], { seq: 2 }));
    expect(state.clusters.get('a')).toMatchObject({ lastDeltaAt: '2026-03-01T10:00:01.500Z', lastObservedAt: '' });
  });
});
