// Alerts as Prometheus sees them: how many alerts of each cluster are pending, firing or resolved,
// by severity, read from the alerting room at scrape time (a cluster label at most, never an
// alert's own labels: those are the alert's, not a bounded set). The list covers what the
// tracker holds, so resolved alerts count until the tracker forgets them.
import { Gauge, type Registry } from 'prom-client';

export interface AlertSource {
  list(): readonly { state: string; labels: Readonly<Record<string, string>> }[];
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
}
