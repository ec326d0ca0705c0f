// Admission against the tenant, account and user quotas before anything reaches Slurm. Usage
// comes from the fleet state (hub/quota); what was admitted but does not show there yet is a
// reservation. Standalone, reservations are held here, in-process: checking and reserving happen
// in one synchronous step, so concurrent submits to this hub cannot overshoot. A hub group keeps
// them in the region's etcd instead (shared-admission.ts); both check with checkQuota().
import type { Clock } from '../../shared/clock/index.js';
import { BadRequestError } from '../../shared/errors/index.js';
import type { SubmitSpec } from '../../shared/submit/index.js';
import type { FleetState } from '../fleet/index.js';
import { globMatch } from '../policy/index.js';
import { arrayTaskCount, scheduleAt, usageByTenant, type Usage } from '../quota/index.js';
import type { ResourceLimits, Tenancy } from '../tenancy/index.js';
import { QuotaExceededError, type QuotaRefusal } from './errors.js';

const USAGE_OF = { max_jobs: 'jobs', max_nodes: 'nodes', max_cpus: 'cpus', max_gpus: 'gpus', max_memory: 'memory' } as const;

/** What a reservation holds, wherever it is kept. */
export interface Reserved {
  cluster: string;
  account: string;
  user: string;
  request: Usage;
}

/** Who asks, and for what: the input of one admission. */
export interface AdmissionRequest {
  tenant: string;
  cluster: string;
  account: string;
  user: string;
  request: Usage;
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

/** What a job asks for, counted as the quota counts it (array tasks one by one, as if all ran). */
export function requestOf(spec: SubmitSpec): Usage {
  const tasks = spec.array ? arrayTaskCount(spec.array) : 1;
  const nodes = spec.nodes ?? 1;
  const cpus = Math.max(spec.ntasks ?? 1, nodes) * (spec.cpus_per_task ?? 1);
  const gpu = /(?:^|,)gpu(?::[^:,]+)?:(\d+)/.exec(spec.gres ?? '');
  const gpus = gpu ? Number(gpu[1]) * nodes : 0;
  return { jobs: tasks, nodes: nodes * tasks, cpus: cpus * tasks, gpus: gpus * tasks, memory: (spec.mem_mb ?? 0) * 1024 ** 2 * nodes * tasks };
}

/**
 * The tenant a submit is admitted against and what it asks for, or undefined when no tenant owns
 * (cluster, account) (nothing to enforce). A submit names its account once tenants are configured.
 */
export function admissionRequest(tenancy: Tenancy | undefined, cluster: string, account: string | undefined, user: string, spec: SubmitSpec): AdmissionRequest | undefined {
  if (!tenancy) return undefined;
  if (!account) throw new BadRequestError('account: tenants are configured, so a submit names its Slurm account (--account)');
  const tenant = tenancy.tenantOf(cluster, account);
  if (tenant === undefined) return undefined;
  return { tenant, cluster, account, user, request: requestOf(spec) };
}

/**
 * Throws QuotaExceededError naming the first limit in force that usage (the fleet state), the
 * tenant's `reserved` submits in flight and the request together would break.
 */
export function checkQuota(deps: { tenancy: Tenancy; state: FleetState; clock: Clock }, ask: AdmissionRequest, reserved: readonly Reserved[]): void {
  const { tenant, account, user, request } = ask;
  const t = deps.tenancy.tenant(tenant)!;
  const used = usageByTenant(deps.state, deps.tenancy).get(tenant);
  const limits = scheduleAt(t.resources, t.schedules, deps.clock.now()).resources;
  const accountLimits = Object.entries(t.account_resources).find(([g]) => globMatch(g, account))?.[1];
  const userLimits = Object.entries(t.user_resources).find(([g]) => globMatch(g, user))?.[1];
  const checks: [QuotaRefusal['scope'], string, ResourceLimits | undefined, Usage | undefined, readonly Reserved[]][] = [
    ['tenant', tenant, limits, used?.tenant, reserved],
    ['account', account, accountLimits, used?.accounts.get(account), reserved.filter((r) => r.account === account)],
    ['user', user, userLimits, used?.users.get(user), reserved.filter((r) => r.user === user)],
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

interface Reservation extends Reserved {
  tenant: string;
  jobId?: string;
  expiresAt: number;
}

/** Standalone admission: reservations held in this process. */
export class Admission implements AdmissionControl {
  private readonly held = new Map<number, Reservation>();
  private next = 1;

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
    this.prune();
    checkQuota({ ...this.deps, tenancy }, ask, [...this.held.values()].filter((r) => r.tenant === ask.tenant));
    const handle = this.next++;
    this.held.set(handle, { ...ask, expiresAt: this.deps.clock.now() + this.opts.ttlMs });
    return handle;
  }

  submitted(handle: string | number | undefined, jobId: string): void {
    const r = typeof handle === 'number' ? this.held.get(handle) : undefined;
    if (r) r.jobId = jobId;
  }

  release(handle: string | number | undefined): void {
    if (typeof handle === 'number') this.held.delete(handle);
  }

  /** Reservations in force now (tests, and the quota view could show them). */
  reservations(): number {
    this.prune();
    return this.held.size;
  }

  private prune(): void {
    const now = this.deps.clock.now();
    for (const [handle, r] of this.held) {
      const shown = r.jobId !== undefined && this.deps.state.job(r.cluster, r.jobId) !== undefined;
      if (shown || r.expiresAt <= now) this.held.delete(handle);
    }
  }
}
