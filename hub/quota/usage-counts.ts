// What every tenant, account and user uses, kept as the fleet state's deltas apply, so that
// admission reads three entries instead of recounting the tenant's jobs per submit (a recount
// of 100,000 jobs per submit held the event loop for tens of milliseconds). The same approach as
// hub/metrics/fleet-counts.ts: every figure is a sum of what each job adds, so a change takes
// away what the previous version added and adds what the next one adds. Distinct nodes are not a
// sum: each scope keeps a reference count per (cluster, node). A cluster whose job count does not
// match what the feed told (a load with notify: false) is recounted from its objects.
//
// It also counts, per cluster, the array tasks that show for each array job id (the pending
// record N_[a-b] as its tasks, each started task N_M as one), so a reservation for an array is
// matched task by task as they appear (hub/submit/admission.ts).
import type { Job } from '../../shared/model/index.js';
import type { FleetChange, FleetState } from '../fleet/index.js';
import type { Tenancy } from '../tenancy/index.js';
import { countedAs, tresOf, type TenantUsage, type Usage } from './usage.js';

/** A scope's sums, the jobs that add to it and its nodes counted by reference. */
interface Acc {
  usage: Usage;
  jobs: number;
  nodes: Map<string, number>;
}

interface TenantAcc {
  tenant: Acc;
  accounts: Map<string, Acc>;
  users: Map<string, Acc>;
}

const acc = (): Acc => ({ usage: { jobs: 0, nodes: 0, cpus: 0, gpus: 0, memory: 0 }, jobs: 0, nodes: new Map() });

export class UsageCounts {
  private readonly tenants = new Map<string, TenantAcc>();
  /** Per cluster: jobs the feed told of (to notice a change it did not carry), and array tasks shown per array job id. */
  private readonly clusters = new Map<string, { jobs: number; arrays: Map<number, number> }>();
  /** tenantOf() per cluster and account: glob matching once, not per job update. */
  private readonly owner = new Map<string, string | null>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly state: FleetState,
    private readonly tenancy: Tenancy,
  ) {
    this.rebuild();
    this.unsubscribe = state.onChanges((changes) => this.apply(changes));
  }

  /** A tenant's usage, split by account and user (undefined: none of its jobs is counted). */
  usage(tenant: string): TenantUsage | undefined {
    this.check();
    const t = this.tenants.get(tenant);
    if (!t) return undefined;
    return { tenant: { ...t.tenant.usage }, accounts: copy(t.accounts), users: copy(t.users) };
  }

  /** What a tenant, one of its accounts and one of its users use (admission's three reads, no copies of the rest). */
  usageOf(tenant: string, account: string, user: string): { tenant?: Usage; account?: Usage; user?: Usage } {
    this.check();
    const t = this.tenants.get(tenant);
    return { tenant: t?.tenant.usage, account: t?.accounts.get(account)?.usage, user: t?.users.get(user)?.usage };
  }

  /** Every tenant's usage, as usageByTenant() would count it now. */
  all(): Map<string, TenantUsage> {
    this.check();
    const out = new Map<string, TenantUsage>();
    for (const name of this.tenants.keys()) out.set(name, this.usage(name)!);
    return out;
  }

  /** The tasks of array job `arrayJobId` that show in the cluster's state now, in any state. */
  arrayTasks(cluster: string, arrayJobId: number): number {
    this.check();
    return this.clusters.get(cluster)?.arrays.get(arrayJobId) ?? 0;
  }

  close(): void {
    this.unsubscribe();
  }

  /** Recounts everything when a cluster's job count differs from what the feed told. */
  private check(): void {
    let differs = this.clusters.size !== this.state.clusters.size;
    for (const [name, record] of this.state.clusters) {
      if (differs) break;
      differs = this.clusters.get(name)?.jobs !== record.objects.job.size;
    }
    if (differs) this.rebuild();
  }

  private rebuild(): void {
    this.tenants.clear();
    this.clusters.clear();
    for (const [cluster, record] of this.state.clusters) {
      this.clusters.set(cluster, { jobs: 0, arrays: new Map() });
      for (const job of record.objects.job.values()) this.job(cluster, job, 1);
    }
  }

  private apply(changes: readonly FleetChange[]): void {
    for (const c of changes) {
      if (c.kind !== 'job') continue;
      if (!this.clusters.has(c.cluster)) this.clusters.set(c.cluster, { jobs: 0, arrays: new Map() });
      const previous = c.previous as Job | undefined;
      const next = c.type === 'upsert' ? (c.value as Job) : undefined;
      if (previous && next && sameUsage(previous, next)) continue;
      if (previous) this.job(c.cluster, previous, -1);
      if (next) this.job(c.cluster, next, 1);
    }
  }

  private job(cluster: string, job: Job, sign: 1 | -1): void {
    const c = this.clusters.get(cluster)!;
    c.jobs += sign;
    const counted = countedAs(job);
    if (job.array_job_id !== undefined) {
      const n = (c.arrays.get(job.array_job_id) ?? 0) + sign * (counted?.tasks ?? 1);
      if (n === 0) c.arrays.delete(job.array_job_id);
      else c.arrays.set(job.array_job_id, n);
    }
    if (!counted) return;
    const tenant = this.tenantOf(cluster, job.account);
    if (tenant === undefined) return;
    let t = this.tenants.get(tenant);
    if (!t) this.tenants.set(tenant, (t = { tenant: acc(), accounts: new Map(), users: new Map() }));
    add(t.tenant, cluster, job, counted, sign);
    scoped(t.accounts, job.account, cluster, job, counted, sign);
    scoped(t.users, job.user, cluster, job, counted, sign);
    if (t.tenant.jobs === 0) this.tenants.delete(tenant);
  }

  private tenantOf(cluster: string, account: string): string | undefined {
    const key = `${cluster}\u0000${account}`;
    let t = this.owner.get(key);
    if (t === undefined) this.owner.set(key, (t = this.tenancy.tenantOf(cluster, account) ?? null));
    return t ?? undefined;
  }
}

function scoped(map: Map<string, Acc>, key: string, cluster: string, job: Job, counted: { tasks: number; allocated: boolean }, sign: 1 | -1): void {
  let a = map.get(key);
  if (!a) map.set(key, (a = acc()));
  add(a, cluster, job, counted, sign);
  if (a.jobs === 0) map.delete(key);
}

function add(a: Acc, cluster: string, job: Job, counted: { tasks: number; allocated: boolean }, sign: 1 | -1): void {
  a.jobs += sign;
  a.usage.jobs += sign * counted.tasks;
  if (!counted.allocated) return;
  for (const n of job.nodes) {
    const key = `${cluster}\u0000${n}`;
    const refs = (a.nodes.get(key) ?? 0) + sign;
    if (refs === 0) a.nodes.delete(key);
    else a.nodes.set(key, refs);
  }
  a.usage.nodes = a.nodes.size;
  a.usage.cpus += sign * job.cpus;
  const t = tresOf(job.tres);
  a.usage.gpus += sign * t.gpus;
  a.usage.memory += sign * (t.memory || (job.memory_mb ?? 0) * 1024 ** 2);
}

/** Nothing the usage counts differs between the two versions (priority, times, reasons). */
function sameUsage(a: Job, b: Job): boolean {
  return (
    a.state === b.state &&
    a.account === b.account &&
    a.user === b.user &&
    a.cpus === b.cpus &&
    a.tres === b.tres &&
    a.memory_mb === b.memory_mb &&
    a.array_job_id === b.array_job_id &&
    a.array_task_string === b.array_task_string &&
    a.node_list === b.node_list &&
    a.nodes.length === b.nodes.length &&
    a.nodes.every((n, i) => n === b.nodes[i])
  );
}

function copy(map: Map<string, Acc>): Map<string, Usage> {
  const out = new Map<string, Usage>();
  for (const [k, a] of map) out.set(k, { ...a.usage });
  return out;
}
