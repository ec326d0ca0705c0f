// Latency counted without prom-client: a fixed set of bucket bounds, a count per bucket, sum and
// count. Hot paths (the agent's slurmrestd transport, the hub's notification delivery) count here;
// a registry turns it into a Prometheus histogram at scrape time (shared/metrics/histogram-metric.ts),
// and an agent without metrics never loads prom-client. The counts also travel in heartbeats.

/** Seconds; from a fast local answer to a slow list or a paging receiver that takes its time. */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface HistogramSnapshot {
  /** Upper bounds (le), ascending; +Inf is implied. */
  buckets: readonly number[];
  /** Observations per bucket, not cumulative: counts[i] for le buckets[i], the last for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

export class LatencyHistogram implements HistogramSnapshot {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[] = LATENCY_BUCKETS) {
    this.counts = new Array<number>(buckets.length + 1).fill(0);
  }

  observe(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    let i = 0;
    while (i < this.buckets.length && seconds > this.buckets[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

/** Counts by a bounded key (labels joined), made on first use. */
export class LabelledCounts<T> {
  readonly entries = new Map<string, { labels: Readonly<Record<string, string>>; value: T }>();

  constructor(private readonly make: () => T) {}

  get(labels: Readonly<Record<string, string>>): T {
    const key = Object.values(labels).join('\u0000');
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { labels: { ...labels }, value: this.make() }));
    return e.value;
  }
}
