// Prometheus metrics of one hub instance. Fleet gauges are counted as deltas apply
// (fleet-counts.ts) and served at scrape time (fleet-series.ts, under the cardinality guard); the hub's own series (agents, controllers,
// ingest, requests) follow. Conventions: base units (seconds, bytes), `_total` only on counters.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { systemClock, type Clock } from '../../shared/clock/index.js';
import { registerBuildInfo, registerProcessMetrics } from '../../shared/metrics/index.js';
import type { FleetState } from '../fleet/index.js';
import type { IngestRegistry } from '../ingest/index.js';
import { registerAgentMetrics } from './agent-series.js';
import { registerAlertingMetrics, type AlertSource } from './alerting-series.js';
import { registerControllerMetrics } from './controller-series.js';
import { FleetCounts } from './fleet-counts.js';
import { FleetExposition } from './fleet-exposition.js';

/**
 * Accounts per cluster in sfleet_account_jobs. 10 clusters of 500 active accounts each would be
 * 10,000 series of that family alone; at 100 the fleet of issue 15's bench serves 3,319 in all.
 */
export const DEFAULT_TOP_ACCOUNTS = 100;

export interface HubMetricsOptions {
  /** Fleet series at most (the cardinality guard); default 20,000. */
  maxSeries?: number;
  /** Pending reasons served per cluster; the rest sum into reason="other". Default 10. */
  topPendingReasons?: number;
  /** Accounts of sfleet_account_jobs served per cluster; the rest sum into account="other". Default 100. */
  topAccounts?: number;
  /** slurmctld RPC users served per cluster; the rest sum into user="other". Default 10. */
  topRpcUsers?: number;
}

export interface HubMetricsDeps {
  state: FleetState;
  ingest: Pick<IngestRegistry, 'stats' | 'reports'>;
  /** Open watchers (SSE and gRPC Watch). */
  watchers?: () => number;
  /** Watchers that resumed with a Last-Event-ID, by outcome (WatchFeed.resumes). */
  watchResumes?: () => { replayed: number; reset: number };
  /** The alerting room's alerts, for sfleet_alerts. */
  alerts?: AlertSource;
  /**
   * Multi-tenancy: the tenant of a cluster's account, or of a whole cluster (account undefined),
   * for the `tenant` label of fleet series; absent: no tenant label.
   */
  tenantOf?: (cluster: string, account: string | undefined) => string | undefined;
  clock?: Clock;
}

export interface HubMetrics {
  /** The hub's own series; the fleet families are not in it (scrape() adds them). */
  registry: Registry;
  /** What GET /metrics serves: the fleet families, then the registry's series. */
  scrape(): Promise<string>;
  contentType: string;
  /** Observed by the HTTPS server's response hook. */
  http: Histogram<'method' | 'route' | 'status_code'>;
  /** Observed by the gRPC FleetService and agent streams. */
  grpc: Histogram<'method' | 'code'>;
}

export function createHubMetrics(deps: HubMetricsDeps, options: HubMetricsOptions = {}): HubMetrics {
  const { state, ingest } = deps;
  const clock = deps.clock ?? systemClock;
  const maxSeries = options.maxSeries ?? 20_000;
  const registry = new Registry();
  registerProcessMetrics(registry, 'sfleet_hub_');
  registerBuildInfo(registry, 'sfleet_build_info');
  new Gauge({
    name: 'sfleet_cluster_connected',
    help: '1 when an agent of the cluster is streaming to this hub',
    labelNames: ['cluster'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of state.clusters.values()) this.set({ cluster: c.name }, c.connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sfleet_cluster_seq',
    help: 'Newest applied delta seq of the cluster stream',
    labelNames: ['cluster'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of state.clusters.values()) this.set({ cluster: c.name }, c.seq);
    },
  });
  new Gauge({
    name: 'sfleet_cluster_data_age_seconds',
    help: "Seconds since the agent observed the cluster's newest applied data (the fleet's lag behind Slurm)",
    labelNames: ['cluster'],
    registers: [registry],
    collect() {
      this.reset();
      const now = clock.now();
      for (const c of state.clusters.values()) {
        const at = c.lastObservedAt ? Date.parse(c.lastObservedAt) : NaN;
        if (Number.isFinite(at)) this.set({ cluster: c.name }, Math.max(0, (now - at) / 1000));
      }
    },
  });

  // Fleet gauges: counts kept as deltas apply, rendered by the hub in slices (fleet-exposition.ts);
  // the guard's gauges below read what the render just built.
  const fleet = new FleetExposition(new FleetCounts(state), { maxSeries, topPendingReasons: options.topPendingReasons ?? 10, topAccounts: options.topAccounts ?? DEFAULT_TOP_ACCOUNTS }, deps.tenantOf, clock);
  const current = () => fleet.result();
  new Gauge({
    name: 'sfleet_metrics_fleet_series',
    help: 'Fleet series: wanted (before the cardinality guard) and served',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const r = current();
      this.set({ kind: 'wanted' }, r.wanted);
      this.set({ kind: 'served' }, r.served);
    },
  });
  new Gauge({ name: 'sfleet_metrics_fleet_series_limit', help: 'The cardinality guard: fleet series served at most (metrics.max_series)', registers: [registry] }).set(maxSeries);
  new Gauge({
    name: 'sfleet_metrics_folded_label_values',
    help: 'Values a label keeps while the guard folds the rest into "other" (absent when nothing is folded)',
    labelNames: ['label'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [label, kept] of current().folded) this.set({ label }, kept);
    },
  });

  registerControllerMetrics(registry, state, { topRpcUsers: options.topRpcUsers });
  registerAgentMetrics(registry, ingest.reports);
  if (deps.alerts) registerAlertingMetrics(registry, deps.alerts);
  new Counter({
    name: 'sfleet_ingest_deltas_total',
    help: 'Agent deltas by outcome',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      const s = ingest.stats;
      this.inc({ outcome: 'applied' }, s.deltasApplied);
      this.inc({ outcome: 'duplicate' }, s.duplicates);
      this.inc({ outcome: 'gap' }, s.gaps);
      this.inc({ outcome: 'rejected' }, s.rejected);
      this.inc({ outcome: 'snapshot' }, s.snapshots);
    },
  });
  new Counter({
    name: 'sfleet_ingest_batches_total',
    help: 'WAL writes of ingest (one fsync for a run of deltas)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(ingest.stats.batches);
    },
  });
  if (deps.watchers) {
    const watchers = deps.watchers;
    new Gauge({ name: 'sfleet_watchers', help: 'Open watch streams (SSE and gRPC Watch) on this hub', registers: [registry], collect() { this.set(watchers()); } });
  }
  if (deps.watchResumes) {
    const resumes = deps.watchResumes;
    new Counter({
      name: 'sfleet_watch_resumes_total',
      help: 'Watch streams opened with a Last-Event-ID: outcome="replayed" got what they missed, "reset" was told to list again (the gap was too old or from elsewhere)',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        const r = resumes();
        this.reset();
        this.inc({ outcome: 'replayed' }, r.replayed);
        this.inc({ outcome: 'reset' }, r.reset);
      },
    });
  }
  const http = new Histogram({
    name: 'sfleet_http_request_duration_seconds',
    help: 'HTTPS requests by method, route pattern and status code (a rate of its _count is the query rate)',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const grpc = new Histogram({
    name: 'sfleet_grpc_server_handling_seconds',
    help: 'gRPC FleetService calls by method and status code, until the answer (streams: until they end)',
    labelNames: ['method', 'code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600],
    registers: [registry],
  });
  return {
    registry,
    http,
    grpc,
    contentType: registry.contentType,
    // The fleet first: the guard's gauges in the registry then describe this very render.
    scrape: async () => {
      const fleetText = await fleet.render();
      return `${await registry.metrics()}\n${fleetText}`;
    },
  };
}
