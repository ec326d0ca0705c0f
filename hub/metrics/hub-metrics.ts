// Prometheus metrics of one hub instance. Gauges are read from the state at scrape time.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { FleetState } from '../fleet/index.js';
import type { IngestRegistry } from '../ingest/index.js';

export function createHubMetrics(state: FleetState, ingest: IngestRegistry): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sfleet_hub_' });
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
  stateGauge(registry, state, 'sfleet_jobs', 'Jobs by cluster and state', 'job');
  stateGauge(registry, state, 'sfleet_nodes', 'Nodes by cluster and base state', 'node');
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
  return registry;
}

/** A gauge of objects per cluster and base state, counted at scrape time. */
function stateGauge(registry: Registry, state: FleetState, name: string, help: string, kind: 'job' | 'node'): void {
  new Gauge({
    name,
    help,
    labelNames: ['cluster', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of state.clusters.values()) {
        const counts = new Map<string, number>();
        for (const obj of c.objects[kind].values()) counts.set(obj.state, (counts.get(obj.state) ?? 0) + 1);
        for (const [s, n] of counts) this.set({ cluster: c.name, state: s }, n);
      }
    },
  });
}
