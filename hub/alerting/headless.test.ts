// Paging without etcd: with no leader for longer than the lease TTL + 10 s, each hub evaluates the
// built-in rules itself and pages PagerDuty only; two hubs agree on the dedup_key without talking.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import type { GroupState } from './dispatch/index.js';
import { config, Fleet } from './fleet-fixture.js';
import { HANDOVER_MAX_MS, HeadlessPaging, HEADLESS_GRACE_MS } from './headless.js';
import { buildRules, clusterFacts, NO_HUB_FACTS, type RuleContext } from './rules/index.js';
import { Silences } from './silences/index.js';

const TTL = 3_000;

function setup(known: Map<string, GroupState> = new Map()) {
  const clock = new ManualClock(Date.parse('2026-12-07T03:00:00Z'));
  const fleet = new Fleet(clock);
  const cfg = config({
    group_wait: '0s',
    rules: { node_down: { severity: 'critical', for: 0 }, partition_nodes_unavailable: { enabled: false } },
    policies: { critical: { escalation_time: '5m', channels: ['pagerduty', 'slack', 'email'] } },
    custom_rules: [],
  });
  const hub = () => new HeadlessPaging({ config: cfg, rules: buildRules(cfg), dedupChannels: new Set(['pagerduty']), known: () => known }, TTL + HEADLESS_GRACE_MS, clock.now());
  const ctx = (): RuleContext => ({ now: clock.now(), clusters: [...fleet.state.clusters.values()].map((r) => clusterFacts(r, clock.now(), 600_000)), expected: [], stale: new Map(), certificates: [], controllers: [], agents: [], hub: { ...NO_HUB_FACTS, peersUnreachable: new Map() }, loginFailures: new Map() });
  return { clock, fleet, hub, ctx, silences: new Silences([]) };
}

describe('headless paging (no leader for longer than the lease TTL + 10 s)', () => {
  it('waits out TTL + 10 s; then every hub pages node-down to PagerDuty only, with one dedup_key; a leader seen stops it', () => {
    const { clock, fleet, hub, ctx, silences } = setup();
    const [a, b] = [hub(), hub()];
    fleet.down('n1');
    clock.advance(TTL + HEADLESS_GRACE_MS);
    expect(a.due(clock.now())).toBe(false);
    clock.advance(1);
    expect([a.due(clock.now()), b.due(clock.now())]).toEqual([true, true]);
    const sa = a.evaluate(ctx(), silences);
    const sb = b.evaluate(ctx(), silences);
    expect(sa.map((s) => `${s.channel}:${s.status}`)).toEqual(['pagerduty:firing']);
    expect(sb.map((s) => s.group.dedup_key)).toEqual(sa.map((s) => s.group.dedup_key));
    // Not again at the next evaluation (the escalation wait), and resolved with the same key.
    clock.advance(1_000);
    expect(a.evaluate(ctx(), silences)).toEqual([]);
    fleet.up('n1');
    clock.advance(3 * 60_000); // keep_firing_for 2m
    const resolved = a.evaluate(ctx(), silences);
    expect(resolved.map((s) => `${s.channel}:${s.status}:${s.group.dedup_key}`)).toEqual([`pagerduty:resolved:${sa[0].group.dedup_key}`]);
    // A leader again: headless is off until the group is leaderless for TTL + 10 s once more.
    expect(a.leaderSeen(clock.now())).toBe(true);
    expect(a.active).toBe(false);
    clock.advance(5_000);
    expect(a.due(clock.now())).toBe(false);
  });

  it('a group the region already pages keeps its dedup_key (one incident in PagerDuty)', () => {
    const known = new Map<string, GroupState>();
    const { clock, fleet, hub, ctx, silences } = setup(known);
    const probe = hub();
    fleet.down('n1');
    clock.advance(TTL + HEADLESS_GRACE_MS + 1);
    probe.due(clock.now());
    const key = probe.evaluate(ctx(), silences)[0].group.key;
    known.set(key, { key, dedup_key: 'sfleet-from-the-leader', target: {} as GroupState['target'], labels: {}, alerts: [], created_at: 0, step: 1, channels_notified: [], seq: 1 });
    const h = hub();
    h.due(clock.now());
    expect(h.evaluate(ctx(), silences).map((s) => s.group.dedup_key)).toEqual(['sfleet-from-the-leader']);
  });
  it('hands its open groups to this hub\'s term as leader once, as only PagerDuty heard them; a spell over 10 min ago is not handed', () => {
    const { clock, fleet, hub, ctx, silences } = setup();
    const h = hub();
    fleet.down('n1');
    clock.advance(TTL + HEADLESS_GRACE_MS + 1);
    h.due(clock.now());
    const [sent] = h.evaluate(ctx(), silences);
    expect(h.leaderSeen(clock.now())).toBe(true);
    const spell = h.handOver(clock.now());
    expect(spell.groups.map((g) => [g.dedup_key, g.step, g.channels_notified])).toEqual([[sent.group.dedup_key, 1, ['pagerduty']]]);
    expect(spell.alerts.map((a) => a.fingerprint)).toEqual(sent.group.alerts);
    expect(h.handOver(clock.now()).groups).toEqual([]);
    // Another spell, whose leader came back long before this hub leads: nothing to continue.
    clock.advance(TTL + HEADLESS_GRACE_MS + 1);
    h.due(clock.now());
    expect(h.evaluate(ctx(), silences)).toHaveLength(1);
    h.leaderSeen(clock.now());
    clock.advance(HANDOVER_MAX_MS + 1);
    expect(h.handOver(clock.now()).groups).toEqual([]);
  });
});
