// Admission against the tenant, account and user quotas before anything reaches Slurm. Usage
// comes from the fleet state (hub/quota); what was admitted but does not show there yet is a
// reservation. Standalone, reservations are held here, in-process: checking and reserving happen
// in one synchronous step, so concurrent submits to this hub cannot overshoot. A hub group keeps
// them in the region's etcd instead (shared-admission.ts); both check with checkQuota().
//
// Usage is read from counts kept as deltas apply (UsageCounts), not recounted per submit. A
// reservation holds what its job asks for until the job shows: an array's task by task, as its
// tasks show under its array job id (the pending record N_[a-b] as its tasks, each N_M as one),
// so an array is neither counted twice (reservation and tasks) nor released before all show.
import type { Clock } from '../../shared/clock/index.js';
import { BadRequestError } from '../../shared/errors/index.js';
import { gpuCount, type SubmitSpec } from '../../shared/submit/index.js';
import type { FleetState } from '../fleet/index.js';
import { globMatch } from '../policy/index.js';
import { arrayTaskCount, scheduleAt, UsageCounts, type Usage } from '../quota/index.js';
import type { ResourceLimits, Tenancy } from '../tenancy/index.js';
import { QuotaExceededError, type QuotaRefusal } from './errors.js';

const USAGE_OF = { max_jobs: 'jobs', max_nodes: 'nodes', max_cpus: 'cpus', max_gpus: 'gpus', max_memory: 'memory' } as const;

/** What a reservation holds, wherever it is kept. */
export interface Reserved {
  cluster: string;
  account: string;
  user: string;
  request: Usage;
  /** An array submit: its job id is the array job id, its request.jobs its tasks. */
  array?: boolean;
  /** Slurm's job id once it took the job. */
  job_id?: string;
}

/** Who asks, and for what: the input of one admission. */
export interface AdmissionRequest {
  tenant: string;
  cluster: string;
  account: string;
  user: string;
  request: Usage;
  array?: boolean;
}

/** Admission as SubmitService uses it: standalone (Admission) or a hub group (SharedAdmission). */
export interface AdmissionControl {
  /** Reserves within every limit or throws QuotaExceededError; the handle (undefined: nothing to enforce). */
  admit(cluster: string, account: string | undefined, user: string, spec: SubmitSpec): Promise<string | number | undefined> | string | number | undefined;
  /** Slurm took the job: the reservation is held until `jobId` shows in the fleet state (or its ttl passes). */
  submitted(handle: string | number | undefined, jobId: string): Promise<void> | void;
  /** Nothing reached Slurm (or Slurm refused it): the reservation goes. */
  release(handle: string | number | undefined): Promise<void> | void;
}

const COUNT_SUFFIX: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * GPUs per node in a `--gres` list as sbatch reads it: items `[gres:]name[:type][:count]`, a count
 * left out meaning one (`gpu`, `gpu:a100` ask for one GPU each), a count with Slurm's k/m/g suffix.
 */
export function gpusPerNode(gres: string): number {
  let n = 0;
  for (const item of gres.split(',')) {
    const parts = item.trim().replace(/^gres[:/]/, '').split(':');
    if (parts[0] !== 'gpu') continue;
    const count = parts.length > 1 ? /^(\d+)([kmg]?)$/i.exec(parts[parts.length - 1]) : null;
    n += count ? Number(count[1]) * COUNT_SUFFIX[count[2].toLowerCase()] : 1;
  }
  return n;
}

/** What a job asks for, counted as the quota counts it (array tasks one by one, as if all ran). */
export function requestOf(spec: SubmitSpec): Usage {
  const tasks = spec.array ? arrayTaskCount(spec.array) : 1;
  const nodes = spec.nodes ?? 1;
  const cpus = Math.max(spec.ntasks ?? 1, nodes) * (spec.cpus_per_task ?? 1);
  // Per node: --gres plus --gpus-per-node (Slurm takes both, so both count); --gpus is the job's
  // total. Each is a floor on what Slurm allocates, so the larger one is what is reserved.
  const perNode = gpusPerNode(spec.gres ?? '') + gpuCount(spec.gpus_per_node);
  const gpus = Math.max(perNode * nodes, gpuCount(spec.gpus));
  return { jobs: tasks, nodes: nodes * tasks, cpus: cpus * tasks, gpus: gpus * tasks, memory: (spec.mem_mb ?? 0) * 1024 ** 2 * nodes * tasks };
}

/**
 * The tenant a submit is admitted against and what it asks for, or undefined when no tenant owns
 * (cluster, account) (nothing to enforce). A submit names its account once tenants are configured.
 */
export function admissionRequest(tenancy: Tenancy | undefined, cluster: string, account: string | undefined, user: string, spec: SubmitSpec): AdmissionRequest | undefined {
  if (!tenancy) return undefined;
  if (!account) throw new BadRequestError('account: tenants are configured, so a submit names its Slurm account (--account)', { field: 'account' });
  const tenant = tenancy.tenantOf(cluster, account);
  if (tenant === undefined) return undefined;
  return { tenant, cluster, account, user, request: requestOf(spec), ...(spec.array ? { array: true } : {}) };
}

/**
 * Throws QuotaExceededError naming the first limit in force that usage (the fleet state), the
 * tenant's `reserved` submits in flight and the request together would break.
 */
export function checkQuota(deps: { tenancy: Tenancy; counts: UsageCounts; clock: Clock }, ask: AdmissionRequest, reserved: readonly Reserved[]): void {
  const { tenant, account, user, request } = ask;
  const t = deps.tenancy.tenant(tenant)!;
  const used = deps.counts.usageOf(tenant, account, user);
  const limits = scheduleAt(t.resources, t.schedules, deps.clock.now()).resources;
  const accountLimits = Object.entries(t.account_resources).find(([g]) => globMatch(g, account))?.[1];
  const userLimits = Object.entries(t.user_resources).find(([g]) => globMatch(g, user))?.[1];
  const checks: [QuotaRefusal['scope'], string, ResourceLimits | undefined, Usage | undefined, readonly Reserved[]][] = [
    ['tenant', tenant, limits, used.tenant, reserved],
    ['account', account, accountLimits, used.account, reserved.filter((r) => r.account === account)],
    ['user', user, userLimits, used.user, reserved.filter((r) => r.user === user)],
  ];
  for (const [scope, subject, lim, usage, held] of checks) {
    if (!lim) continue;
    for (const [limit, field] of Object.entries(USAGE_OF) as [keyof typeof USAGE_OF, keyof Usage][]) {
      const value = lim[limit];
      if (value === undefined || request[field] === 0) continue;
      const now = usage?.[field] ?? 0;
      const inFlight = held.reduce((s, r) => s + r.request[field], 0);
      if (now + inFlight + request[field] > value) throw new QuotaExceededError({ scope, subject, limit, value, usage: now, reserved: inFlight, request: request[field] });
    }
  }
}

/** The tasks of a reservation's job that show in the fleet state (0 before Slurm took it). */
export function tasksShown(deps: { state: FleetState; counts: UsageCounts }, r: Reserved): number {
  if (r.job_id === undefined) return 0;
  if (!r.array) return deps.state.job(r.cluster, r.job_id) !== undefined ? 1 : 0;
  const id = Number(r.job_id);
  return Number.isSafeInteger(id) ? deps.counts.arrayTasks(r.cluster, id) : 0;
}

/** What a reservation still holds once `shown` of its tasks show (each task asks the same), or undefined: all show. */
export function outstanding(r: Reserved, shown: number): Reserved | undefined {
  const tasks = Math.max(1, r.request.jobs);
  const left = tasks - Math.min(tasks, shown);
  if (left === 0) return undefined;
  if (left === tasks) return r;
  const part = (v: number): number => (v / tasks) * left;
  const q = r.request;
  return { ...r, request: { jobs: left, nodes: part(q.nodes), cpus: part(q.cpus), gpus: part(q.gpus), memory: part(q.memory) } };
}

interface Reservation extends Reserved {
  tenant: string;
  expiresAt: number;
  /** The most tasks of its job seen at once: a task that ended and left the state stays matched. */
  shown: number;
}

/** Standalone admission: reservations held in this process. */
export class Admission implements AdmissionControl {
  private readonly held = new Map<number, Reservation>();
  private next = 1;
  private counts?: UsageCounts;

  constructor(
    private readonly deps: { tenancy?: Tenancy; state: FleetState; clock: Clock },
    private readonly opts: { ttlMs: number },
  ) {}

  /**
   * Reserves what `spec` asks for within every limit in force, or throws QuotaExceededError
   * naming the first one it would break. Returns the reservation's handle (undefined: no tenant
   * owns (cluster, account), nothing to enforce).
   */
  admit(cluster: string, account: string | undefined, user: string, spec: SubmitSpec): number | undefined {
    const { tenancy } = this.deps;
    const ask = admissionRequest(tenancy, cluster, account, user, spec);
    if (!ask || !tenancy) return undefined;
    const counts = (this.counts ??= new UsageCounts(this.deps.state, tenancy));
    const reserved = this.prune().filter((r) => r.tenant === ask.tenant);
    checkQuota({ tenancy, counts, clock: this.deps.clock }, ask, reserved);
    const handle = this.next++;
    this.held.set(handle, { ...ask, expiresAt: this.deps.clock.now() + this.opts.ttlMs, shown: 0 });
    return handle;
  }

  submitted(handle: string | number | undefined, jobId: string): void {
    const r = typeof handle === 'number' ? this.held.get(handle) : undefined;
    if (r) r.job_id = jobId;
  }

  release(handle: string | number | undefined): void {
    if (typeof handle === 'number') this.held.delete(handle);
  }

  /** Reservations in force now (tests, and the quota view could show them). */
  reservations(): number {
    return this.prune().length;
  }

  /** Drops reservations whose tasks all show or whose ttl passed; what the others still hold. */
  private prune(): (Reserved & { tenant: string })[] {
    const now = this.deps.clock.now();
    const out: (Reserved & { tenant: string })[] = [];
    for (const [handle, r] of this.held) {
      if (this.deps.tenancy && r.job_id !== undefined) {
        this.counts ??= new UsageCounts(this.deps.state, this.deps.tenancy);
        r.shown = Math.max(r.shown, tasksShown({ state: this.deps.state, counts: this.counts }, r));
      }
      const left = outstanding(r, r.shown);
      if (!left || r.expiresAt <= now) this.held.delete(handle);
      else out.push(left as Reservation);
    }
    return out;
  }
}
