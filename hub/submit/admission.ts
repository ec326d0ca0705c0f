// Admission against the tenant, account and user quotas before anything reaches Slurm. Usage
// comes from the fleet state (hub/quota); what was admitted but does not show there yet is held
// as an in-process reservation, so concurrent submits to this hub cannot overshoot. Checking and
// reserving happen in one synchronous step. A hub group would need the reservation in the
// region's shared store (fenced): not done, see the issue's notes.
import type { Clock } from '../../shared/clock/index.js';
import { BadRequestError } from '../../shared/errors/index.js';
import type { SubmitSpec } from '../../shared/submit/index.js';
import type { FleetState } from '../fleet/index.js';
import { globMatch } from '../policy/index.js';
import { arrayTaskCount, scheduleAt, usageByTenant, type Usage } from '../quota/index.js';
import type { ResourceLimits, Tenancy } from '../tenancy/index.js';
import { QuotaExceededError, type QuotaRefusal } from './errors.js';

const USAGE_OF = { max_jobs: 'jobs', max_nodes: 'nodes', max_cpus: 'cpus', max_gpus: 'gpus', max_memory: 'memory' } as const;

interface Reservation {
  cluster: string;
  tenant: string;
  account: string;
  user: string;
  request: Usage;
  jobId?: string;
  expiresAt: number;
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

export class Admission {
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
    const tenancy = this.deps.tenancy;
    if (!tenancy) return undefined;
    if (!account) throw new BadRequestError('account: tenants are configured, so a submit names its Slurm account (--account)');
    const tenant = tenancy.tenantOf(cluster, account);
    if (tenant === undefined) return undefined;
    const t = tenancy.tenant(tenant)!;
    this.prune();
    const used = usageByTenant(this.deps.state, tenancy).get(tenant);
    const request = requestOf(spec);
    const mine = [...this.held.values()].filter((r) => r.tenant === tenant);
    const limits = scheduleAt(t.resources, t.schedules, this.deps.clock.now()).resources;
    const accountLimits = Object.entries(t.account_resources).find(([g]) => globMatch(g, account))?.[1];
    const userLimits = Object.entries(t.user_resources).find(([g]) => globMatch(g, user))?.[1];
    const checks: [QuotaRefusal['scope'], string, ResourceLimits | undefined, Usage | undefined, Reservation[]][] = [
      ['tenant', tenant, limits, used?.tenant, mine],
      ['account', account, accountLimits, used?.accounts.get(account), mine.filter((r) => r.account === account)],
      ['user', user, userLimits, used?.users.get(user), mine.filter((r) => r.user === user)],
    ];
    for (const [scope, subject, lim, usage, reservations] of checks) {
      if (!lim) continue;
      for (const [limit, field] of Object.entries(USAGE_OF) as [keyof typeof USAGE_OF, keyof Usage][]) {
        const value = lim[limit];
        if (value === undefined || request[field] === 0) continue;
        const now = usage?.[field] ?? 0;
        const reserved = reservations.reduce((s, r) => s + r.request[field], 0);
        if (now + reserved + request[field] > value) throw new QuotaExceededError({ scope, subject, limit, value, usage: now, reserved, request: request[field] });
      }
    }
    const handle = this.next++;
    this.held.set(handle, { cluster, tenant, account, user, request, expiresAt: this.deps.clock.now() + this.opts.ttlMs });
    return handle;
  }

  /** Slurm took the job: held until `jobId` shows in the fleet state (or the ttl passes). */
  submitted(handle: number | undefined, jobId: string): void {
    const r = handle === undefined ? undefined : this.held.get(handle);
    if (r) r.jobId = jobId;
  }

  /** Nothing reached Slurm (or Slurm refused it): the reservation goes. */
  release(handle: number | undefined): void {
    if (handle !== undefined) this.held.delete(handle);
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
