// Alerts as Prometheus sees them: how many alerts of each cluster are pending, firing or resolved,
// by severity, read from the alerting room at scrape time (a cluster label at most, never an
// alert's own labels: those are the alert's, not a bounded set). The list covers what the
// tracker holds, so resolved alerts count until the tracker forgets them.
//
// Notifications are counted where a channel's send settles (hub/alerting/notify/deliver.ts):
// per channel (its name in the config) and outcome (a fixed set), and how long each took from its
// first attempt to its final outcome, retries and backoff included.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HistogramSnapshot } from '../../shared/histogram/index.js';
import { registerHistogramMetric } from '../../shared/metrics/index.js';

type Counts<T> = { entries: ReadonlyMap<string, { labels: Readonly<Record<string, string>>; value: T }> };

export interface AlertSource {
  list(): readonly { state: string; labels: Readonly<Record<string, string>> }[];
  /** hub/alerting/notify/delivery-stats.ts */
  /** Failed reads of on-call contacts from the directory; undefined without alerting.directory_contacts. */
  readonly directoryFailures?: number | undefined;
  readonly deliveryStats?: { notifications: Counts<{ n: number }>; attempts: Counts<{ n: number }>; durations: Counts<HistogramSnapshot> };
}

export function registerAlertingMetrics(registry: Registry, alerts: AlertSource): void {
  new Gauge({
    name: 'sfleet_alerts',
    help: 'Alerts this hub tracks, by cluster (empty: not about one cluster), state (pending, firing, resolved) and severity',
    labelNames: ['cluster', 'state', 'severity'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, { cluster: string; state: string; severity: string; n: number }>();
      for (const a of alerts.list()) {
        const labels = { cluster: a.labels.cluster ?? '', state: a.state, severity: a.labels.severity ?? '' };
        const key = `${labels.cluster}\u0000${labels.state}\u0000${labels.severity}`;
        const c = counts.get(key);
        if (c) c.n++;
        else counts.set(key, { ...labels, n: 1 });
      }
      for (const { n, ...labels } of counts.values()) this.set(labels, n);
    },
  });
  new Counter({
    name: 'sfleet_alerting_directory_failures_total',
    help: 'Reads of on-call contacts (alerting.directory_contacts) from the directory that failed; paging used the last known contacts',
    registers: [registry],
    collect() {
      this.reset();
      const n = alerts.directoryFailures;
      if (n !== undefined) this.inc(n);
    },
  });
  const stats = alerts.deliveryStats;
  if (!stats) return;
  const counter = (name: string, help: string, counts: Counts<{ n: number }>) =>
    new Counter({
      name,
      help,
      labelNames: ['channel', 'outcome'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { labels, value } of counts.entries.values()) this.inc(labels, value.n);
      },
    });
  counter('sfleet_notifications_total', 'Notifications by channel and final outcome (delivered, rejected: the receiver refused for good, failed: retries exhausted)', stats.notifications);
  counter('sfleet_notification_attempts_total', 'Notification attempts by channel and outcome (retry: another attempt follows)', stats.attempts);
  registerHistogramMetric(registry, { name: 'sfleet_notification_duration_seconds', help: "Seconds from a notification's first attempt to its final outcome (retries and backoff included), by channel" }, function* () {
    for (const { labels, value } of stats.durations.entries.values()) yield { labels, histogram: value };
  });
}
