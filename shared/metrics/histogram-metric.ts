// A Prometheus histogram whose counts live elsewhere (shared/histogram: the agent's slurmrestd
// transport, the hub's notification delivery, an agent's heartbeat): read at scrape time and
// written as _bucket (cumulative, le), _sum and _count. prom-client's Histogram only observes, so
// this is a registry metric of its own.
import type { Registry } from 'prom-client';
import type { HistogramSnapshot } from '../histogram/index.js';

export interface HistogramSpec {
  name: string;
  help: string;
}

type Value = { metricName: string; labels: Record<string, string | number>; value: number };

export function registerHistogramMetric(registry: Registry, spec: HistogramSpec, read: () => Iterable<{ labels: Readonly<Record<string, string>>; histogram: HistogramSnapshot }>): void {
  const metric = {
    name: spec.name,
    help: spec.help,
    type: 'histogram',
    aggregator: 'sum',
    reset() {},
    get() {
      const values: Value[] = [];
      for (const { labels, histogram: h } of read()) {
        let cumulative = 0;
        h.buckets.forEach((le, i) => {
          cumulative += h.counts[i] ?? 0;
          values.push({ metricName: `${spec.name}_bucket`, labels: { ...labels, le }, value: cumulative });
        });
        values.push({ metricName: `${spec.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
        values.push({ metricName: `${spec.name}_sum`, labels: { ...labels }, value: h.sum });
        values.push({ metricName: `${spec.name}_count`, labels: { ...labels }, value: h.count });
      }
      return Promise.resolve({ name: spec.name, help: spec.help, type: 'histogram', aggregator: 'sum', values });
    },
  };
  // The registry takes any object of this shape; its type names the Metric class only.
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}
