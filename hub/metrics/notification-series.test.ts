// Notification counters and the delivery latency histogram, counted by the real Deliverer where a
// channel's send settles, as /metrics shows them; promtool accepts the exposition.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { channelSchema, type ChannelConfig } from '../alerting/config.js';
import { Deliverer, DeliveryLog, type Notification, type Notifier, type SendResult } from '../alerting/notify/index.js';
import { FleetState } from '../fleet/index.js';
import { AgentReports } from '../ingest/index.js';
import { newIngestStats } from '../ingest/stats.js';
import { createHubMetrics } from './hub-metrics.js';

const note = (id: string): Notification => ({ id, status: 'firing', group_key: 'g', dedup_key: 'd', severity: 'critical', region: 'eu', title: 't', text: 't', summary: 's', step: 1, group_labels: {}, alerts: [] });

/** A channel that answers from a script, each answer taking `ms` of the clock. */
function scripted(name: string, clock: ManualClock, script: SendResult[], ms: number): { config: ChannelConfig; notifier: Notifier } {
  const config = { ...channelSchema.parse({ type: 'webhook', url: 'http://127.0.0.1:9/hook', retries: 2 }), name } as ChannelConfig;
  return {
    config,
    notifier: {
      name,
      type: 'webhook',
      send: () => {
        clock.advance(ms);
        return Promise.resolve(script.shift() ?? { outcome: 'delivered' });
      },
    },
  };
}

function sample(text: string, line: string): number | undefined {
  const m = new RegExp(`^${line.replace(/[{}+.]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('notification metrics', () => {
  it('counts each notification and attempt per channel and outcome, and how long delivery took, where the send settles', async () => {
    const clock = new ManualClock(0);
    const channels = new Map([
      ['ops-hook', scripted('ops-hook', clock, [{ outcome: 'retry', reason: 'HTTP 503' }, { outcome: 'delivered' }, { outcome: 'rejected', reason: 'HTTP 400' }], 300)],
      ['pager', scripted('pager', clock, [{ outcome: 'retry', reason: 'HTTP 503' }, { outcome: 'retry', reason: 'HTTP 503' }, { outcome: 'retry', reason: 'HTTP 503' }], 2_000)],
      ['quiet', scripted('quiet', clock, [], 0)],
    ]);
    const d = new Deliverer(channels, { log: new DeliveryLog(undefined), clock, sleep: (ms) => Promise.resolve(clock.advance(ms)), random: () => 0.5 });
    expect(await d.deliver('ops-hook', note('a'))).toBe('delivered');
    expect(await d.deliver('ops-hook', note('b'))).toBe('rejected');
    expect(await d.deliver('pager', note('c'))).toBe('failed');
    // a channel name outside the config is no label (the delivery log has it)
    expect(await d.deliver('nobody', note('e'))).toBe('rejected');

    const { scrape } = createHubMetrics({ state: new FleetState(), ingest: { stats: newIngestStats(), reports: new AgentReports(clock) }, alerts: { list: () => [], deliveryStats: d.stats }, clock });
    const text = await scrape();
    expect(sample(text, 'sfleet_notifications_total{channel="ops-hook",outcome="delivered"}')).toBe(1);
    expect(sample(text, 'sfleet_notifications_total{channel="ops-hook",outcome="rejected"}')).toBe(1);
    expect(sample(text, 'sfleet_notifications_total{channel="pager",outcome="failed"}')).toBe(1);
    // every configured channel is there from the start, at zero
    expect(sample(text, 'sfleet_notifications_total{channel="quiet",outcome="delivered"}')).toBe(0);
    expect(text).not.toMatch(/channel="nobody"/);
    expect(sample(text, 'sfleet_notification_attempts_total{channel="ops-hook",outcome="retry"}')).toBe(1);
    expect(sample(text, 'sfleet_notification_attempts_total{channel="pager",outcome="retry"}')).toBe(2);
    expect(sample(text, 'sfleet_notification_attempts_total{channel="pager",outcome="failed"}')).toBe(1);
    // ops-hook: 0.3 s + backoff + 0.3 s for the first, 0.3 s for the second; pager: three 2 s attempts and two backoffs
    expect(sample(text, 'sfleet_notification_duration_seconds_count{channel="ops-hook"}')).toBe(2);
    expect(sample(text, 'sfleet_notification_duration_seconds_bucket{channel="ops-hook",le="0.5"}')).toBe(1);
    expect(sample(text, 'sfleet_notification_duration_seconds_bucket{channel="ops-hook",le="+Inf"}')).toBe(2);
    expect(sample(text, 'sfleet_notification_duration_seconds_bucket{channel="pager",le="5"}')).toBe(0);
    expect(sample(text, 'sfleet_notification_duration_seconds_count{channel="pager"}')).toBe(1);
    expect(sample(text, 'sfleet_notification_duration_seconds_sum{channel="pager"}')).toBeGreaterThan(6);
    expect(sample(text, 'sfleet_notification_duration_seconds_count{channel="quiet"}')).toBe(0);
    // the exposition is what Prometheus accepts
    execFileSync('promtool', ['check', 'metrics'], { input: text });
  });
});

describe('directory contact metrics', () => {
  it('counts failed reads of on-call contacts from the directory (alerting.directory_contacts); 0 without', async () => {
    const clock = new ManualClock(0);
    let failures: number | undefined = 3;
    const alerts = { list: () => [], get directoryFailures() { return failures; } };
    const { scrape } = createHubMetrics({ state: new FleetState(), ingest: { stats: newIngestStats(), reports: new AgentReports(clock) }, alerts, clock });
    const text = await scrape();
    expect(sample(text, 'sfleet_alerting_directory_failures_total')).toBe(3);
    execFileSync('promtool', ['check', 'metrics'], { input: text });
    failures = undefined;
    expect(sample(await scrape(), 'sfleet_alerting_directory_failures_total')).toBe(0);
  });
});
