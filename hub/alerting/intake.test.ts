import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { EventLog } from '../events/index.js';
import { Alerting } from './alerting.js';
import { config, Fleet, Recorder } from './fleet-fixture.js';

const logger = createLogger({ name: 'test', level: 'silent' });

function setup() {
  const clock = new ManualClock();
  const fleet = new Fleet(clock);
  const rec = new Recorder();
  const events = new EventLog({}, { logger, clock: () => clock.now() });
  const policies = { critical: { escalation_time: '5m', channels: ['pagerduty', 'email'] }, warning: { escalation_time: '30m', channels: ['slack'] } };
  const alerting = new Alerting(config({ policies, group_wait: '10s', resolve_timeout: '5m' }), { state: fleet.state, logger, clock, region: 'eu', events, notifiers: rec.factory, sleep: async () => undefined });
  const step = async (ms: number) => {
    clock.advance(ms);
    await alerting.tick();
    await alerting.idle();
  };
  const iso = (offset: number) => new Date(clock.now() + offset).toISOString();
  return { clock, rec, events, alerting, step, iso };
}

const LABELS = { alertname: 'GpuXidErrors', severity: 'critical', cluster: 'c1', instance: 'gpu07:9400' };

describe('POST /api/v2/alerts (Alertmanager API v2 intake)', () => {
  it('a Prometheus alert pages through the severity policy, escalates, and resolves when endsAt is posted in the past', async () => {
    const { rec, events, alerting, step, iso } = setup();
    const posted = [{ labels: LABELS, annotations: { summary: 'XID 79 on gpu07', runbook_url: 'https://wiki/xid' }, startsAt: iso(-30_000), endsAt: iso(4 * 60_000), generatorURL: 'http://prom:9090/graph?g0.expr=xid' }];
    expect(alerting.receive(posted, 'prometheus')).toEqual({ accepted: 1 });
    const [alert] = alerting.list({ state: 'firing' });
    expect(alert).toMatchObject({ labels: LABELS, annotations: { summary: 'XID 79 on gpu07', runbook_url: 'https://wiki/xid' }, source: 'intake', generator_url: 'http://prom:9090/graph?g0.expr=xid' });
    expect(events.list({ types: ['alert_firing'] })[0].attributes).toMatchObject({ alertname: 'GpuXidErrors', source: 'intake', posted_by: 'prometheus' });
    await step(10_000);
    expect(rec.sent.map((s) => s.channel).sort()).toEqual(['email', 'pagerduty']);
    expect(rec.of('pagerduty')[0]).toMatchObject({ status: 'firing', severity: 'critical', summary: 'XID 79 on gpu07', policy: 'critical' });
    // Prometheus resends it every minute (endsAt moves on): the same alert, no second page
    // until the policy's next step 5 min after the first.
    for (let i = 0; i < 4; i++) {
      await step(60_000);
      alerting.receive([{ ...posted[0], endsAt: iso(4 * 60_000) }], 'prometheus');
    }
    expect(rec.of('pagerduty')).toHaveLength(1);
    await step(60_000);
    expect(rec.of('pagerduty', 'firing').map((n) => n.step)).toEqual([1, 2]);
    // Resolved in Prometheus: posted with endsAt now.
    alerting.receive([{ ...posted[0], endsAt: iso(0) }], 'prometheus');
    await alerting.idle();
    await step(1_000);
    expect(alerting.list({ state: 'resolved' })).toHaveLength(1);
    expect(rec.of('pagerduty', 'resolved')[0].dedup_key).toBe(rec.of('pagerduty')[0].dedup_key);
    expect(events.list({ types: ['alert_resolved'] })).toHaveLength(1);
  });

  it('without endsAt it resolves resolve_timeout after its last post; silences apply as to rule alerts', async () => {
    const { rec, alerting, step, clock } = setup();
    alerting.addSilence({ matchers: ['alertname="DiskFull"'], ends_at: new Date(clock.now() + 3_600_000).toISOString(), comment: 'known' }, 'bob');
    alerting.receive([{ labels: { alertname: 'DiskFull', severity: 'warning' } }, { labels: { alertname: 'Lost', severity: 'warning' } }], 'prometheus');
    await step(10_000);
    expect(rec.of('slack').map((n) => n.group_labels.alertname)).toEqual(['Lost']);
    await step(4 * 60_000);
    expect(alerting.list({ state: 'firing' })).toHaveLength(2);
    await step(60_000);
    expect(alerting.list({ state: 'firing' })).toEqual([]);
    expect(rec.of('slack', 'resolved').map((n) => n.group_labels.alertname)).toEqual(['Lost']);
  });

  it('refuses what Alertmanager refuses, with a clear message, and changes nothing', () => {
    const { alerting } = setup();
    const bad: [unknown, RegExp][] = [
      [{ labels: { a: 'b' } }, /JSON array/],
      [[{ labels: {} }], /at least one label pair/],
      [[{ labels: { 'bad-name': 'x' } }], /invalid label name "bad-name"/],
      [[{ labels: { a: 1 } }], /labels.a must be a string/],
      [[{ labels: { a: 'b' }, startsAt: 'yesterday' }], /startsAt must be an RFC 3339/],
      [[{ labels: { a: 'b' }, startsAt: '2026-01-02T00:00:00Z', endsAt: '2026-01-01T00:00:00Z' }], /start time must be before end time/],
      [[{ labels: { a: 'b' }, generatorURL: 'not a url' }], /generatorURL must be a URL/],
      [[{ labels: { a: 'b' } }, 'x'], /alert 1: must be an object/],
    ];
    for (const [body, message] of bad) expect(() => alerting.receive(body, 'p')).toThrow(message);
    expect(alerting.list()).toEqual([]);
  });
});
