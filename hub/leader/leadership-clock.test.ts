import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { healthOf, StandaloneLeadership, type MemberView } from './leadership.js';

const identity = { hub_id: 'hub-1', region: 'eu', http_url: 'https://127.0.0.1:8443', grpc_address: '127.0.0.1:8444', version: 'test' };
const healthy = { ready: true, redis: 'off', stale_clusters: [], ingesting: ['a'] };

describe('leadership reads the time from its clock', () => {
  it('a standalone hub dates its start, its term and its member record by the clock', async () => {
    const clock = new ManualClock(Date.parse('2026-05-01T08:00:00.000Z'));
    const leadership = new StandaloneLeadership({ logger: silentLogger(), identity, health: () => healthy, clock });
    clock.advance(5_000);
    leadership.start();
    clock.advance(60_000);
    const members = await leadership.members();
    expect(leadership.status().leading_since).toBe('2026-05-01T08:00:05.000Z');
    expect(members.items[0]).toMatchObject({ hub_id: 'hub-1', started_at: '2026-05-01T08:00:00.000Z', updated_at: '2026-05-01T08:01:05.000Z', health: 'ok' });
    await leadership.close();
  });

  it('a member record goes stale only past staleAfter, measured on the caller\'s clock', () => {
    const view: Omit<MemberView, 'health'> = { ...identity, ...healthy, pid: 1, started_at: '2026-05-01T08:00:00.000Z', updated_at: '2026-05-01T08:00:00.000Z', leader: false };
    const at = Date.parse(view.updated_at);
    expect(healthOf(view, at + 10_000, 10_000)).toBe('ok');
    expect(healthOf(view, at + 10_001, 10_000)).toBe('stale');
    expect(healthOf({ ...view, stale_clusters: ['b'] }, at, 10_000)).toBe('degraded');
  });
});
