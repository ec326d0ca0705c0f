// The fleet families as registry metrics of their own, not prom-client Gauges. A Gauge stores
// each series (labels hashed, sorted and kept) only for the scrape to read them back: at the
// 10,000 series of a large fleet that was most of a scrape's CPU. Here each family hands the
// registry its values straight from the tally, built in slices with a turn of the event loop
// between them, so a scrape never holds the loop for long and API requests go on meanwhile.
// Each scrape builds its own arrays: two scrapes at once (an HA pair of Prometheus) share nothing.
import type { Registry } from 'prom-client';
import { SEP } from './fleet-tally.js';
import type { Family } from './cardinality-guard.js';

/** Series built between two turns of the event loop. */
const SLICE = 1_000;

interface FamilySpec {
  name: string;
  help: string;
  labelNames: readonly string[];
}

/** What prom-client's registry reads of a metric (Registry.getMetricsAsString). */
interface RegistryMetric {
  name: string;
  help: string;
  type: 'gauge';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: 'gauge'; aggregator: 'sum'; values: { labels: Record<string, string>; value: number }[] }>;
  reset(): void;
}

export interface FleetGaugeDeps {
  /** The guarded family for this scrape (memoized across the families of one scrape), or undefined. */
  family: () => Promise<Family | undefined>;
  /** The tenant label's value for a cluster (and account), when tenants exist. */
  tenantOf?: (cluster: string, account: string | undefined) => string | undefined;
}

export function registerFleetGauge(registry: Registry, spec: FamilySpec, deps: FleetGaugeDeps): void {
  const hasAccount = spec.labelNames.includes('account');
  const { tenantOf } = deps;
  const help = tenantOf ? `${spec.help}; tenant: the tenant that owns the ${hasAccount ? 'account' : 'whole cluster'} (absent: none)` : spec.help;
  const metric: RegistryMetric = {
    name: spec.name,
    help,
    type: 'gauge',
    aggregator: 'sum',
    reset() {},
    async get() {
      const values: { labels: Record<string, string>; value: number }[] = [];
      const family = await deps.family();
      // One tenant lookup per cluster (and account) per scrape, not per series.
      const tenants = new Map<string, string | undefined>();
      let n = 0;
      for (const [k, v] of family?.series ?? []) {
        if (++n % SLICE === 0) await turn();
        const parts = k.split(SEP);
        const labels: Record<string, string> = {};
        for (let i = 0; i < spec.labelNames.length; i++) labels[spec.labelNames[i]!] = parts[i]!;
        if (tenantOf) {
          const at = hasAccount ? `${labels.cluster}${SEP}${labels.account}` : labels.cluster!;
          if (!tenants.has(at)) tenants.set(at, tenantOf(labels.cluster!, hasAccount ? labels.account : undefined));
          const tenant = tenants.get(at);
          if (tenant) labels.tenant = tenant;
        }
        values.push({ labels, value: v });
      }
      return { name: spec.name, help, type: 'gauge', aggregator: 'sum', values };
    },
  };
  // The registry takes any object of this shape; its type names the Metric class only.
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

/** Lets timers and I/O run before going on. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
