// Usage against every limit of a tenant (its own, its accounts', its users'), with the schedule
// in force and when it switches next: GET /api/v1/quotas, `sfleet quota` and the gauges.
import type { Clock } from '../../shared/clock/index.js';
import type { FleetState } from '../fleet/index.js';
import type { ResourceLimits, Tenancy } from '../tenancy/index.js';
import { globMatch } from '../policy/index.js';
import { scheduleAt } from './schedule.js';
import { UsageCounts } from './usage-counts.js';
import type { Usage } from './usage.js';

export const LIMITS = ['max_jobs', 'max_nodes', 'max_cpus', 'max_gpus', 'max_memory'] as const;
const USAGE_OF: Record<(typeof LIMITS)[number], keyof Usage> = { max_jobs: 'jobs', max_nodes: 'nodes', max_cpus: 'cpus', max_gpus: 'gpus', max_memory: 'memory' };

export interface QuotaLine {
  /** tenant, account or user. */
  scope: 'tenant' | 'account' | 'user';
  /** The tenant's, account's or user's name. */
  subject: string;
  limit: (typeof LIMITS)[number];
  value: number;
  usage: number;
  over: boolean;
}

export interface TenantQuotas {
  tenant: string;
  schedule: { active: string | null; next_switch_at: string | null };
  limits: QuotaLine[];
  /** The tenant's policy and what it did, as this hub knows it (the leader acts; other hubs of a group show none). */
  enforcement: {
    policy: string;
    dry_run: boolean;
    /** hold: the jobs the hub holds now. */
    held_jobs: number;
    /** slurm: the association limits the hub wrote and owns. */
    slurm_limits: { cluster: string; account: string; user: string; limits: Record<string, string> }[];
  };
}

/** What the enforcement singleton reports (hub/enforcement), wired in by the start code. */
export interface EnforcementView {
  heldCount(tenant: string): number;
  slurmLimits(tenant: string): TenantQuotas['enforcement']['slurm_limits'];
}

function lines(scope: QuotaLine['scope'], subject: string, limits: ResourceLimits | undefined, usage: Usage | undefined): QuotaLine[] {
  const out: QuotaLine[] = [];
  for (const limit of LIMITS) {
    const value = limits?.[limit];
    if (value === undefined) continue;
    const used = usage?.[USAGE_OF[limit]] ?? 0;
    out.push({ scope, subject, limit, value, usage: used, over: used > value });
  }
  return out;
}

export class QuotaBook {
  constructor(
    private readonly tenancy: Tenancy,
    private readonly state: FleetState,
    private readonly clock: Clock,
  ) {}

  private enforcement?: EnforcementView;
  /** Usage kept as deltas apply (made at the first report): a report reads it, no recount. */
  private counts?: UsageCounts;

  /** The enforcer starts after the book (it needs the listeners); until then nothing is held or written. */
  attachEnforcement(view: EnforcementView): void {
    this.enforcement = view;
  }

  /** Every tenant's quotas (or those named), with the fleet state's usage now. */
  report(only?: readonly string[]): TenantQuotas[] {
    const usage = (this.counts ??= new UsageCounts(this.state, this.tenancy)).all();
    const now = this.clock.now();
    const out: TenantQuotas[] = [];
    for (const name of this.tenancy.names()) {
      if (only && !only.includes(name)) continue;
      const t = this.tenancy.tenant(name)!;
      const u = usage.get(name);
      const schedule = scheduleAt(t.resources, t.schedules, now);
      const limits = lines('tenant', name, schedule.resources, u?.tenant);
      // Each account and user in use, under the first glob that names it; globs not in use show zero usage.
      for (const [field, scope, used] of [['account_resources', 'account', u?.accounts], ['user_resources', 'user', u?.users]] as const) {
        const globs = Object.entries(t[field]);
        const shown = new Set<string>();
        for (const [subject, su] of used ?? []) {
          const hit = globs.find(([g]) => globMatch(g, subject));
          if (!hit) continue;
          limits.push(...lines(scope, subject, hit[1], su));
          shown.add(hit[0]);
        }
        for (const [g, l] of globs) if (!shown.has(g) && !g.includes('*') && !g.includes('?')) limits.push(...lines(scope, g, l, undefined));
      }
      const enforcement = {
        policy: t.enforcement.policy,
        dry_run: t.enforcement.dry_run,
        held_jobs: this.enforcement?.heldCount(name) ?? 0,
        slurm_limits: this.enforcement?.slurmLimits(name) ?? [],
      };
      out.push({ tenant: name, schedule: { active: schedule.active, next_switch_at: schedule.next_switch_at }, limits, enforcement });
    }
    return out;
  }
}
