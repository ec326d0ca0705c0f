// The fleet gauges: families built from one tally per cluster, cut by the cardinality guard.
// Built at scrape time, one cluster at a time (fleet-exposition.ts renders them).
import type { ClusterRecord } from '../fleet/index.js';
import { guardSeries, type Family, type GuardResult } from './cardinality-guard.js';
import { OTHER, SEP, type Amounts, type ClusterTally } from './fleet-tally.js';

interface FamilySpec {
  name: string;
  help: string;
  labelNames: readonly string[];
}

const AMOUNT_STATES = ['allocated', 'idle', 'unavailable'] as const;

export const FLEET_FAMILIES = {
  jobs: { name: 'sfleet_jobs', help: 'Jobs by cluster, partition and state', labelNames: ['cluster', 'partition', 'state'] },
  accountJobs: { name: 'sfleet_account_jobs', help: 'Pending and running jobs by cluster, account and state: the top accounts of each cluster (metrics.top_accounts), the rest as account="other"', labelNames: ['cluster', 'account', 'state'] },
  nodes: { name: 'sfleet_nodes', help: 'Nodes by cluster, partition and base state (a node in two partitions counts in both)', labelNames: ['cluster', 'partition', 'state'] },
  nodeFlags: { name: 'sfleet_node_flags', help: 'Nodes carrying a state flag (drain, maintenance, not responding...), by cluster and partition', labelNames: ['cluster', 'partition', 'flag'] },
  cpus: { name: 'sfleet_cluster_cpus', help: 'CPUs of the cluster: allocated, idle (usable) and unavailable (down, drained, in maintenance)', labelNames: ['cluster', 'state'] },
  gpus: { name: 'sfleet_cluster_gpus', help: 'GPUs of the cluster (from node gres; allocated from running jobs)', labelNames: ['cluster', 'state'] },
  memory: { name: 'sfleet_cluster_memory_bytes', help: 'Memory of the cluster in bytes', labelNames: ['cluster', 'state'] },
  partitionCpus: { name: 'sfleet_partition_cpus', help: 'CPUs of the nodes of a partition (a node in two partitions counts in both)', labelNames: ['cluster', 'partition', 'state'] },
  partitionGpus: { name: 'sfleet_partition_gpus', help: 'GPUs of the nodes of a partition', labelNames: ['cluster', 'partition', 'state'] },
  partitionMemory: { name: 'sfleet_partition_memory_bytes', help: 'Memory of the nodes of a partition in bytes', labelNames: ['cluster', 'partition', 'state'] },
  pendingReasons: { name: 'sfleet_pending_jobs', help: 'Pending jobs by reason: the top reasons of each cluster, the rest as reason="other"', labelNames: ['cluster', 'reason'] },
} as const satisfies Record<string, FamilySpec>;

export type FleetFamilyKey = keyof typeof FLEET_FAMILIES;

export interface FleetSeriesOptions {
  maxSeries: number;
  topPendingReasons: number;
  /** Accounts served per cluster (by pending + running jobs); the rest sum into account="other". */
  topAccounts: number;
}

/** Multi-tenancy: the tenant of a cluster's account, or of a whole cluster (account undefined). */
export type TenantOf = (cluster: string, account: string | undefined) => string | undefined;

export type FleetSeriesResult = GuardResult & { byKey: Map<FleetFamilyKey, Family> };

/** The label every fleet family gets last when tenants exist; empty: the series belongs to no tenant. */
export const TENANT_LABEL = 'tenant';

/**
 * The families of the fleet, one cluster at a time (so a caller can let the event loop turn
 * between clusters), then cut by the cardinality guard. With tenants, every series key ends with
 * its tenant (empty for none), so what the guard or top_accounts fold into "other" stays apart
 * per tenant: a tenant's filtered /metrics still sums to its totals.
 */
export class FleetSeriesBuilder {
  private readonly fams = new Map<FleetFamilyKey, Family>();

  constructor(
    private readonly opts: FleetSeriesOptions,
    private readonly tenantOf?: TenantOf,
  ) {
    for (const [key, spec] of Object.entries(FLEET_FAMILIES) as [FleetFamilyKey, FamilySpec][]) {
      this.fams.set(key, { ...spec, labelNames: tenantOf ? [...spec.labelNames, TENANT_LABEL] : spec.labelNames, series: new Map() });
    }
  }

  /** Adds one cluster's series (its tally: FleetCounts.tallies()). */
  add(c: Pick<ClusterRecord, 'name'>, t: ClusterTally): void {
    const { opts, tenantOf } = this;
    // The cluster-wide families carry the tenant owning the whole cluster, if one does.
    const end = tenantOf ? SEP + (tenantOf(c.name, undefined) ?? '') : '';
    const put = (key: FleetFamilyKey, labels: string, v: number) => this.fams.get(key)!.series.set(labels + end, v);
    const pre = c.name + SEP;
    for (const [k, v] of t.jobs) put('jobs', pre + k, v);
    const accounts = this.fams.get('accountJobs')!.series;
    for (const [k, v] of topAccounts(t.accountJobs, opts.topAccounts, tenantOf ? (account) => tenantOf(c.name, account) ?? '' : undefined)) accounts.set(pre + k, v);
    for (const [k, v] of t.nodes) put('nodes', pre + k, v);
    for (const [k, v] of t.nodeFlags) put('nodeFlags', pre + k, v);
    putAmounts(put, 'cpus', pre, t.cpus);
    putAmounts(put, 'gpus', pre, t.gpus);
    putAmounts(put, 'memory', pre, t.memoryBytes);
    for (const [p, a] of t.partitionCpus) putAmounts(put, 'partitionCpus', pre + p + SEP, a);
    for (const [p, a] of t.partitionGpus) putAmounts(put, 'partitionGpus', pre + p + SEP, a);
    for (const [p, a] of t.partitionMemoryBytes) putAmounts(put, 'partitionMemory', pre + p + SEP, a);
    const reasons = [...t.pendingReasons].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    let other = 0;
    reasons.forEach(([reason, n], i) => {
      if (i < opts.topPendingReasons && reason !== OTHER) put('pendingReasons', pre + reason, n);
      else other += n;
    });
    if (other > 0) put('pendingReasons', pre + OTHER, other);
  }

  /** The families under the guard's budget. */
  finish(): FleetSeriesResult {
    const guarded = guardSeries([...this.fams.values()], this.opts.maxSeries);
    const byKey = new Map<FleetFamilyKey, Family>();
    for (const f of guarded.families) {
      const key = (Object.keys(FLEET_FAMILIES) as FleetFamilyKey[]).find((k) => FLEET_FAMILIES[k].name === f.name)!;
      byKey.set(key, f);
    }
    return { ...guarded, byKey };
  }
}

function putAmounts(put: (key: FleetFamilyKey, labels: string, v: number) => void, key: FleetFamilyKey, prefix: string, a: Amounts): void {
  for (const s of AMOUNT_STATES) put(key, prefix + s, a[s]);
}

/**
 * A cluster's account \0 state counts with only its `n` busiest accounts (pending + running jobs;
 * ties by name) kept, the others summed per state into account="other": every account on every
 * cluster would be the largest family by far, and sums by cluster and state stay exact. With
 * `tenantOf`, keys end with \0 tenant and there is one "other" per tenant (and one for none).
 */
function topAccounts(accountJobs: ReadonlyMap<string, number>, n: number, tenantOf?: (account: string) => string): Iterable<[string, number]> {
  const weight = new Map<string, number>();
  for (const [k, v] of accountJobs) {
    const account = k.slice(0, k.indexOf(SEP));
    weight.set(account, (weight.get(account) ?? 0) + v);
  }
  const keep = weight.size <= n ? undefined : new Set([...weight].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n).map(([account]) => account));
  if (!keep && !tenantOf) return accountJobs;
  const tenants = new Map<string, string>();
  const out = new Map<string, number>();
  for (const [k, v] of accountJobs) {
    const i = k.indexOf(SEP);
    const account = k.slice(0, i);
    let key = !keep || keep.has(account) ? k : OTHER + k.slice(i);
    if (tenantOf) {
      let tenant = tenants.get(account);
      if (tenant === undefined) tenants.set(account, (tenant = tenantOf(account)));
      key += SEP + tenant;
    }
    out.set(key, (out.get(key) ?? 0) + v);
  }
  return out;
}
