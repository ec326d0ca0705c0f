// The full form of escalation: ordered steps that notify channels, users and the on-call of a
// schedule (decided when the step fires), wait, repeat; with an injected clock across a hand-off.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { Alerting } from './alerting.js';
import { config, Fleet, Recorder } from './fleet-fixture.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const Z = (iso: string) => Date.parse(iso);

const FULL = {
  users: {
    ana: { contacts: [{ channel: 'email', address: 'ana@example.com' }] },
    ben: { contacts: [{ channel: 'email', address: 'ben@example.com' }, { channel: 'slack' }] },
    dora: { contacts: [{ channel: 'email', address: 'dora@example.com' }] },
    boss: { contacts: [{ channel: 'boss' }] },
  },
  schedules: {
    hpc: {
      users: ['ana', 'ben'],
      handoff: { day: 'monday', time: '09:00' },
      time_zone: 'Europe/Berlin',
      start: '2026-03-16',
      overrides: [{ user: 'dora', start: '2026-03-24T18:00:00Z', end: '2026-03-25T06:00:00Z' }],
    },
  },
  policies: {
    critical: {
      steps: [
        { channels: ['pagerduty'], wait: '15m' },
        { schedules: ['hpc'], wait: '10m' },
        { users: ['boss'], schedules: ['hpc'], wait: '10m' },
      ],
      repeat: 1,
    },
  },
  rules: { node_down: { severity: 'critical', for: 0 }, partition_nodes_unavailable: { enabled: false } },
  repeat_interval: '1h',
};

function setup(start: string, extra: Record<string, unknown> = {}) {
  const clock = new ManualClock(Z(start));
  const fleet = new Fleet(clock);
  const rec = new Recorder();
  const alerting = new Alerting(config({ ...FULL, ...extra }), { state: fleet.state, logger, clock, region: 'eu', notifiers: rec.factory, sleep: async () => undefined });
  const step = async (ms: number) => {
    clock.advance(ms);
    await alerting.tick();
    await alerting.idle();
  };
  const sent = () => rec.sent.map((s) => [s.channel, s.n.status, s.n.step, s.n.to ?? '', s.n.recipient ?? '']);
  return { clock, fleet, rec, alerting, step, sent };
}

describe('escalation, full form: steps notify channels, users and the on-call of a schedule', () => {
  it('step 1 -> wait -> step 2 pages whoever is on call when it fires (after a 09:00 Berlin hand-off) -> step 3; ack stops; resolve reaches everyone notified', async () => {
    // Monday 23 March 2026, 08:50 CET: ana is on call until 09:00 (08:00Z), then ben.
    const { fleet, alerting, step, sent, rec } = setup('2026-03-23T07:50:00Z');
    expect(alerting.schedules()[0]).toMatchObject({ name: 'hpc', on_call: 'ana', override_until: null, next_handoffs: [{ at: '2026-03-23T08:00:00.000Z', from: 'ana', to: 'ben' }, { at: '2026-03-30T07:00:00.000Z' }, {}, {}] });
    fleet.down('n1');
    await step(0);
    await step(10_000); // group_wait
    expect(sent()).toEqual([['pagerduty', 'firing', 1, '', '']]);
    await step(14 * 60_000);
    expect(rec.sent).toHaveLength(1); // step 1 waits 15 minutes
    await step(60_000); // 08:05:10Z: ben took over at 08:00Z
    expect(sent().slice(1)).toEqual([
      ['email', 'firing', 2, 'ben@example.com', 'ben'],
      ['slack', 'firing', 2, '', 'ben'],
    ]);
    await step(10 * 60_000);
    expect(sent().slice(3)).toEqual([
      ['boss', 'firing', 3, '', 'boss'],
      ['email', 'firing', 3, 'ben@example.com', 'ben'],
      ['slack', 'firing', 3, '', 'ben'],
    ]);
    expect(alerting.list()[0].groups[0]).toMatchObject({ policy: 'critical', step: 3 });
    // repeat 1 is used up: after the last step's wait a reminder to its recipients, then each repeat_interval.
    await step(10 * 60_000);
    expect(sent().slice(6).map((s) => s[0])).toEqual(['boss', 'email', 'slack']);
    await step(30 * 60_000);
    expect(rec.sent).toHaveLength(9);
    alerting.ack(alerting.list()[0].fingerprint, 'ben');
    await alerting.idle();
    expect(sent().slice(9).map((s) => `${s[0]}:${s[3]}`).sort()).toEqual(['boss:', 'email:ben@example.com', 'pagerduty:', 'slack:']);
    await step(2 * 60 * 60_000);
    expect(rec.sent.filter((s) => s.n.status === 'firing')).toHaveLength(9);
    fleet.up('n1');
    await step(0);
    await step(3 * 60_000); // keep_firing_for 2m
    expect(sent().filter((s) => s[1] === 'resolved').map((s) => `${s[0]}:${s[3]}`).sort()).toEqual(['boss:', 'email:ben@example.com', 'pagerduty:', 'slack:']);
  });

  it('an override pages its user for its time; the short form is the one-step full form', async () => {
    const { fleet, alerting, step, sent } = setup('2026-03-24T18:30:00Z', { policies: { critical: { steps: [{ schedules: ['hpc'], wait: '5m' }], repeat: 2 } } });
    expect(alerting.schedules()[0]).toMatchObject({ on_call: 'dora', override_until: '2026-03-25T06:00:00.000Z' });
    fleet.down('n1');
    await step(0);
    await step(10_000);
    await step(5 * 60_000);
    expect(sent()).toEqual([
      ['email', 'firing', 1, 'dora@example.com', 'dora'],
      ['email', 'firing', 2, 'dora@example.com', 'dora'],
    ]);

    const short = setup('2026-03-24T18:30:00Z', { policies: { critical: { escalation_time: '5m', channels: ['pagerduty'], repeat: 2 } } });
    const full = setup('2026-03-24T18:30:00Z', { policies: { critical: { steps: [{ channels: ['pagerduty'], wait: '5m' }], repeat: 2 } } });
    for (const s of [short, full]) {
      s.fleet.down('n1');
      for (const ms of [0, 10_000, 5 * 60_000, 5 * 60_000, 60 * 60_000]) await s.step(ms);
    }
    expect(full.sent()).toEqual(short.sent());
    expect(short.sent().map((s) => s[2])).toEqual([1, 2, 2, 2]); // two notifications, a reminder after the last wait, then hourly
  });
});
