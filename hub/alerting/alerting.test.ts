import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { EventLog } from '../events/index.js';
import { Alerting } from './alerting.js';
import { config, Fleet, Recorder, reservation } from './fleet-fixture.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(extra: Record<string, unknown> = {}, opts: { dataDir?: string; nodes?: number; clock?: ManualClock } = {}) {
  const clock = opts.clock ?? new ManualClock();
  const fleet = new Fleet(clock, opts.nodes);
  const rec = new Recorder();
  const events = new EventLog({}, { logger, clock: () => clock.now() });
  const alerting = new Alerting(config(extra), { state: fleet.state, logger, clock, region: 'eu', events, notifiers: rec.factory, externalUrl: () => 'https://hub.example:8443', sleep: async () => undefined, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
  const step = async (ms: number) => {
    clock.advance(ms);
    await alerting.tick();
    await alerting.idle();
  };
  return { clock, fleet, rec, events, alerting, step };
}

const POLICIES = {
  critical: { escalation_time: '5m', channels: ['pagerduty', 'email'], fallback: 'boss' },
  warning: { escalation_time: '30m', channels: ['slack', 'email'] },
  boss: { escalation_time: '10m', channels: ['boss'], repeat: 1 },
};
const CRITICAL_NODES = { node_down: { severity: 'critical', for: '30s' }, partition_nodes_unavailable: { enabled: false } };

describe('alerting: a node down pages through its policy, escalates, and stops on ack', () => {
  it('pending for for:, firing after; notified at group_wait; again each escalation_time up to repeat; then the fallback; ack stops; resolve notifies', async () => {
    const { fleet, rec, alerting, step, events } = setup({ policies: POLICIES, rules: CRITICAL_NODES });
    fleet.down('n2');
    await step(0);
    expect(alerting.list()[0]).toMatchObject({ state: 'pending', labels: { alertname: 'node_down', cluster: 'c1', node: 'n2', severity: 'critical' } });
    await step(29_000);
    expect(alerting.list({ state: 'firing' })).toHaveLength(0);
    await step(1_000);
    expect(alerting.list({ state: 'firing' })).toHaveLength(1);
    expect(events.list({ types: ['alert_firing'] })).toHaveLength(1);
    expect(rec.sent).toHaveLength(0); // group_wait 10s
    await step(10_000);
    expect(rec.sent.map((s) => s.channel).sort()).toEqual(['email', 'pagerduty']);
    const first = rec.of('pagerduty')[0];
    expect(first).toMatchObject({ status: 'firing', severity: 'critical', step: 1, policy: 'critical' });
    expect(first.ack_url).toMatch(/^https:\/\/hub\.example:8443\/api\/v1\/alerts\/ack-link\?token=/);
    expect(first.title).toContain('node n2 of c1 is down: x');
    await step(4 * 60_000);
    expect(rec.sent).toHaveLength(2);
    await step(60_000); // 5 min after the first
    expect(rec.of('pagerduty').map((n) => n.step)).toEqual([1, 2]);
    await step(5 * 60_000);
    expect(rec.of('email').map((n) => n.step)).toEqual([1, 2, 3]);
    expect(rec.of('boss')).toHaveLength(0);
    await step(5 * 60_000); // repeat (3) used up: the fallback policy
    expect(rec.of('boss').map((n) => n.policy)).toEqual(['boss']);
    expect(rec.of('pagerduty')).toHaveLength(3);
    // One dedup key for the whole episode.
    expect(new Set(rec.sent.map((s) => s.n.dedup_key)).size).toBe(1);

    alerting.ack(alerting.list()[0].fingerprint, 'alice');
    await alerting.idle();
    expect(rec.of('pagerduty', 'acknowledged')).toHaveLength(1);
    expect(events.list({ types: ['alert_acknowledged'] })[0].attributes.acked_by).toBe('alice');
    const before = rec.of('pagerduty', 'firing').length + rec.of('boss', 'firing').length;
    await step(60 * 60_000);
    expect(rec.of('pagerduty', 'firing').length + rec.of('boss', 'firing').length).toBe(before);

    fleet.up('n2');
    await step(60_000);
    expect(alerting.list({ state: 'firing' })).toHaveLength(1); // keep_firing_for 2m
    await step(60_000);
    expect(alerting.list({ state: 'resolved' })).toHaveLength(1);
    const resolved = rec.sent.filter((s) => s.n.status === 'resolved').map((s) => s.channel).sort();
    expect(resolved).toEqual(['boss', 'email', 'pagerduty']);
    expect(rec.of('pagerduty', 'resolved')[0].dedup_key).toBe(first.dedup_key);
  });

  it('a storm of 2,000 node-down alerts sends at most one grouped notification per channel per group_interval', async () => {
    const { fleet, rec, alerting, step } = setup({ policies: POLICIES, rules: { node_down: { severity: 'critical', for: 0 } }, group_interval: '1m' }, { nodes: 2_000 });
    // Nodes go down over 3 minutes, 110 per 10 s; escalation_time (5m) is longer than all of it.
    for (let i = 1; i <= 2_000; i++) {
      fleet.down(`n${i}`);
      if (i % 110 === 0) await step(10_000);
    }
    await step(60_000);
    expect(alerting.list({ state: 'firing' })).toHaveLength(2_000);
    for (const channel of ['pagerduty', 'email']) {
      const sent = rec.sent.filter((s) => s.channel === channel);
      const times = sent.map((s) => Date.parse(s.n.alerts.at(-1)!.starts_at!));
      for (let i = 1; i < sent.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(60_000);
      expect(sent.length).toBeLessThanOrEqual(5);
      expect(sent.at(-1)?.n.alerts).toHaveLength(2_000);
    }
  });

  it('maintenance never pages: MAINT reservations and admin drains with a reason, also left out of partition shares', async () => {
    const { clock, fleet, rec, alerting, step } = setup({ policies: POLICIES, rules: { node_down: { for: 0 }, partition_nodes_unavailable: { for: 0, threshold: 0.5 } } });
    fleet.record.objects.reservation.set('maint' as never, reservation('maint', ['n1', 'n2'], ['MAINT', 'IGNORE_JOBS'], clock));
    fleet.down('n1');
    fleet.down('n2');
    fleet.setNode({ ...fleet.record.objects.node.get('n3' as never)!, flags: ['DRAIN'], reason: 'disk swap', reason_set_by: 'alice' });
    await step(0);
    await step(60_000);
    expect(alerting.list()).toEqual([]);
    expect(rec.sent).toEqual([]);
    fleet.down('n4'); // n4 is the only node counted in batch: 1/1 down
    await step(0);
    expect(alerting.list().map((a) => a.labels.alertname).sort()).toEqual(['node_down', 'partition_nodes_unavailable']);
  });

  it('an unreachable cluster inhibits its node alerts', async () => {
    const { fleet, rec, alerting, step } = setup({ policies: POLICIES, rules: { node_down: { for: 0, severity: 'critical' }, cluster_unreachable: { for: 0 } } });
    fleet.down('n1');
    fleet.state.setAgentStatus('c1', { connected: false });
    await step(0);
    await step(20_000);
    const byName = Object.fromEntries(alerting.list().map((a) => [a.labels.alertname, a]));
    expect(byName.node_down.inhibited_by).toBe(byName.cluster_unreachable.fingerprint);
    expect(new Set(rec.sent.map((s) => s.n.group_labels.alertname))).toEqual(new Set(['cluster_unreachable']));
  });

  it('a cluster with no slurmctld responding inhibits its node and controller alerts; a backup in charge does not', async () => {
    const { fleet, rec, alerting, step } = setup({ policies: POLICIES, rules: { node_down: { for: 0, severity: 'critical' }, controller_not_responding: { for: 0 }, cluster_controller_down: { for: 0 }, partition_nodes_unavailable: { enabled: false } } });
    const ctl = (hostname: string, mode: string, responding: boolean) => ({ cluster: 'c1', hostname, mode, responding, api_version: 'v0.0.38', slurm_version: '22.05' });
    fleet.down('n1');
    fleet.record.objects.controller.set('ctl1' as never, ctl('ctl1', 'primary', false) as never);
    fleet.record.objects.controller.set('ctl2' as never, ctl('ctl2', 'backup', true) as never);
    await step(0);
    await step(20_000);
    // The backup answers: the primary's alert and the node's are real, and nothing mutes them.
    expect(alerting.list().map((a) => [a.labels.alertname, a.inhibited_by]).sort()).toEqual([['controller_not_responding', null], ['node_down', null]]);
    fleet.record.objects.controller.set('ctl2' as never, ctl('ctl2', 'backup', false) as never);
    rec.sent.length = 0;
    await step(1_000);
    await step(20_000);
    const byName = Object.fromEntries(alerting.list({ state: 'firing' }).map((a) => [a.labels.alertname, a]));
    expect(byName.cluster_controller_down.labels).toMatchObject({ cluster: 'c1', severity: 'critical' });
    expect(byName.node_down.inhibited_by).toBe(byName.cluster_controller_down.fingerprint);
    expect(alerting.list({ state: 'firing' }).filter((a) => a.labels.alertname === 'controller_not_responding').every((a) => a.inhibited_by === byName.cluster_controller_down.fingerprint)).toBe(true);
    expect(new Set(rec.sent.filter((s) => s.n.status === 'firing').map((s) => s.n.group_labels.alertname))).toEqual(new Set(['cluster_controller_down']));
  });

  it('a paged node alert muted by its dead controller is not resolved: it waits and escalates once unmuted, same dedup_key', async () => {
    const { fleet, rec, step } = setup({ policies: POLICIES, group_wait: 0, rules: { node_down: { for: 0, severity: 'critical' }, cluster_controller_down: { for: 0 }, partition_nodes_unavailable: { enabled: false } } });
    const ctl = (responding: boolean) => ({ cluster: 'c1', hostname: 'ctl1', mode: 'primary', responding, api_version: 'v0.0.38', slurm_version: '22.05' });
    fleet.record.objects.controller.set('ctl1' as never, ctl(true) as never);
    fleet.down('n1');
    await step(0);
    await step(1_000);
    const first = rec.of('pagerduty', 'firing').filter((n) => n.group_labels.alertname === 'node_down');
    expect(first.map((n) => n.step)).toEqual([1]);
    fleet.record.objects.controller.set('ctl1' as never, ctl(false) as never);
    await step(1_000);
    await step(6 * 60_000); // past the node's 5 min escalation_time
    const nodeNotices = () => rec.of('pagerduty').filter((n) => n.group_labels.alertname === 'node_down');
    expect(nodeNotices().map((n) => [n.status, n.step])).toEqual([['firing', 1]]);
    expect(rec.of('pagerduty', 'firing').some((n) => n.group_labels.alertname === 'cluster_controller_down')).toBe(true);
    fleet.record.objects.controller.set('ctl1' as never, ctl(true) as never);
    await step(3 * 60_000); // past keep_firing_for: the controller alert resolves, the node's goes on
    expect(nodeNotices().map((n) => [n.status, n.step])).toEqual([['firing', 1], ['firing', 2]]);
    expect(new Set(nodeNotices().map((n) => n.dedup_key))).toEqual(new Set([first[0].dedup_key]));
  });

  it('login_failures counts the hub group\'s failed logins from the shared counters, not only this hub\'s', async () => {
    const { alerting, step } = setup({ policies: POLICIES, rules: { login_failures: { threshold: 10 } } });
    let group = new Map<string, number>();
    alerting.countLoginFailuresFrom(() => group);
    for (let i = 0; i < 4; i++) alerting.loginFailed('203.0.113.9'); // what this hub saw
    await step(0);
    await step(1_000);
    expect(alerting.list().filter((a) => a.labels.alertname === 'login_failures')).toEqual([]);
    group = new Map([['203.0.113.9', 11]]); // the group: these 4 and 7 on other hubs
    await step(1_000);
    const fired = alerting.list({ state: 'firing' }).filter((a) => a.labels.alertname === 'login_failures');
    expect(fired.map((a) => [a.labels.source, a.annotations.summary])).toEqual([['203.0.113.9', '11 failed logins from 203.0.113.9 within 10 minutes']]);
  });

  it('a silence mutes matching alerts until it is expired', async () => {
    const { clock, fleet, rec, alerting, step } = setup({ policies: POLICIES, rules: CRITICAL_NODES });
    const s = alerting.addSilence({ matchers: ['alertname="node_down"', 'node=~"n[12]"'], ends_at: new Date(clock.now() + 3_600_000).toISOString(), comment: 'reboots' }, 'bob');
    expect(s).toMatchObject({ created_by: 'bob', comment: 'reboots', source: 'api' });
    fleet.down('n1');
    await step(0);
    await step(60_000);
    expect(alerting.list({ state: 'firing' })[0].silenced_by).toBe(s.id);
    expect(rec.sent).toEqual([]);
    alerting.expireSilence(s.id);
    await step(10_000);
    await step(10_000);
    expect(rec.of('pagerduty', 'firing')).toHaveLength(1);
    expect(() => alerting.addSilence({ matchers: ['node=~"["'], ends_at: new Date(clock.now() + 1).toISOString(), comment: 'x' }, 'bob')).toThrow('bad regular expression');
  });

  it('a silence created, expired by hand, or ended by its time is a fleet event once (the watch stream carries it)', async () => {
    const { clock, alerting, events, step } = setup({ policies: POLICIES, rules: CRITICAL_NODES });
    const types = () => events.list({ types: ['silence_created', 'silence_expired'] }).map((e) => [e.type, e.attributes.silence_id, e.cluster]);
    const a = alerting.addSilence({ matchers: ['alertname="node_down"'], ends_at: new Date(clock.now() + 3_600_000).toISOString(), comment: 'by hand' }, 'bob');
    const b = alerting.addSilence({ matchers: ['alertname="queue_stall"'], ends_at: new Date(clock.now() + 120_000).toISOString(), comment: 'short' }, 'bob');
    expect(types()).toEqual([['silence_created', a.id, ''], ['silence_created', b.id, '']]);
    expect(events.list({ types: ['silence_created'] })[0].message).toBe(`silence ${a.id} created by bob until ${a.ends_at}`);
    alerting.expireSilence(a.id);
    await step(60_000);
    expect(types().slice(2)).toEqual([['silence_expired', a.id, '']]);
    // b ends by its time: the next evaluation tells it, later ones do not again; expiring it then adds nothing.
    await step(61_000);
    await step(60_000);
    alerting.expireSilence(b.id);
    expect(types().slice(2)).toEqual([['silence_expired', a.id, ''], ['silence_expired', b.id, '']]);
  });

  it('a standalone hub restarted mid-escalation continues it from the data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sfleet-alerting-'));
    dirs.push(dataDir);
    const clock = new ManualClock();
    const a = setup({ policies: POLICIES, rules: CRITICAL_NODES }, { dataDir, clock });
    a.fleet.down('n3');
    await a.step(0);
    await a.step(30_000);
    await a.step(10_000);
    expect(a.rec.of('pagerduty').map((n) => n.step)).toEqual([1]);
    await a.alerting.close();

    const b = setup({ policies: POLICIES, rules: CRITICAL_NODES }, { dataDir, clock });
    b.fleet.down('n3');
    await b.step(60_000);
    expect(b.rec.sent).toEqual([]); // no second step 1
    await b.step(4 * 60_000);
    expect(b.rec.of('pagerduty').map((n) => n.step)).toEqual([2]);
    expect(b.rec.of('pagerduty')[0].dedup_key).toBe(a.rec.of('pagerduty')[0].dedup_key);
  });

  it('the ack link acknowledges once; a used, tampered or expired link is refused', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sfleet-alerting-'));
    dirs.push(dataDir);
    const { fleet, rec, alerting, step, clock } = setup({ policies: POLICIES, rules: CRITICAL_NODES, ack_link_ttl: '1h' }, { dataDir });
    fleet.down('n1');
    await step(0);
    await step(40_000);
    await step(10_000);
    const token = new URL(rec.of('pagerduty')[0].ack_url!).searchParams.get('token')!;
    expect(() => alerting.ackWithToken(token.slice(0, -2) + 'xx')).toThrow('signature does not match');
    expect(alerting.ackWithToken(token).alerts[0].groups[0].acked_by).toBe('ack-link');
    expect(() => alerting.ackWithToken(token)).toThrow('used already');
    fleet.down('n2');
    await step(60_000);
    const later = rec.of('pagerduty').at(-1)!;
    clock.advance(2 * 3_600_000);
    expect(() => alerting.ackWithToken(new URL(later.ack_url ?? 'https://x/?token=a.b').searchParams.get('token')!)).toThrow(/expired|signature/);
  });
});
