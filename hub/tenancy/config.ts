// The hub's `multi_tenancy` section: tenants (who is a member, which clusters and Slurm
// accounts they own) and their resource limits. Refused at load, with the file, line and key,
// when a limit is negative or absurd (two tenants owning the same jobs: clash.ts, at the hub
// config's level, where unqualified cluster globs get their region).
import { Cron } from 'croner';
import { z } from 'zod';
import { byteSize, duration } from '../../shared/config/index.js';
import { routeSchema } from '../alerting/config.js';

const TENANT_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const glob = z.string().min(1).max(256).regex(/^[^\s,]+$/, 'a name or glob (* and ?) without spaces or commas');
const globs = z.array(glob);

/** Above these a limit is a typo, not a grant (Slurm's own counters stop well below). */
export const LIMIT_CEILINGS = { max_jobs: 10_000_000, max_nodes: 1_000_000, max_cpus: 100_000_000, max_gpus: 10_000_000, max_memory: 2 ** 60 } as const;

const count = (ceiling: number, what: string) =>
  z.number().int('a whole number').min(0, 'a limit cannot be negative').max(ceiling, `more than ${ceiling.toLocaleString('en')} ${what} is not a plausible limit`);

export const resourceLimitsSchema = z
  .object({
    max_jobs: count(LIMIT_CEILINGS.max_jobs, 'jobs').optional().describe('Running plus pending jobs, array tasks counted one by one.'),
    max_nodes: count(LIMIT_CEILINGS.max_nodes, 'nodes').optional().describe('Distinct nodes allocated to running jobs.'),
    max_cpus: count(LIMIT_CEILINGS.max_cpus, 'CPUs').optional().describe('CPUs allocated to running jobs.'),
    max_gpus: count(LIMIT_CEILINGS.max_gpus, 'GPUs').optional().describe('GPUs (GRES gpu) allocated to running jobs.'),
    max_memory: byteSize
      .pipe(z.number().int().min(0, 'a limit cannot be negative').max(LIMIT_CEILINGS.max_memory, 'more than 1 EiB is not a plausible limit'))
      .optional()
      .describe('Memory allocated to running jobs: bytes, or a size such as 512GiB.'),
  })
  .strict();

export type ResourceLimits = z.infer<typeof resourceLimitsSchema>;

const timeZone = z
  .string()
  .min(1)
  .superRefine((tz, ctx) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
    } catch {
      ctx.addIssue({ code: 'custom', message: `unknown time zone "${tz}" (an IANA name such as Europe/Berlin or UTC)` });
    }
  });

const cronExpression = z.string().superRefine((expr, ctx) => {
  try {
    new Cron(expr, { paused: true });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid cron expression "${expr}": ${(err as Error).message}` });
  }
});

/** A quota set in force from each time its cron fires, for `duration` (nights, weekends, a deadline window). */
export const quotaScheduleSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'a lower-case name').describe('The schedule, as `sfleet quota` names it.'),
    cron: cronExpression.describe('When the set comes into force: minute hour day-of-month month day-of-week (croner syntax).'),
    timezone: timeZone.default('UTC').describe('The time zone of the cron fields (IANA name); DST gaps and repeats are handled.'),
    duration: duration.pipe(z.number().min(60_000, 'at least 1m').max(31 * 86_400_000, 'at most 31 days')).describe('How long the set stays in force after each firing.'),
    resources: resourceLimitsSchema.describe('The tenant limits while in force (limits not named keep the base value).'),
  })
  .strict();

export type QuotaSchedule = z.infer<typeof quotaScheduleSchema>;

export const rateLimitSchema = z
  .object({
    requests_per_second: z.number().positive('more than 0').max(100_000, 'at most 100000').describe('Requests refilled each second (the sustained rate).'),
    burst: z.number().int('a whole number').min(1, 'at least 1').max(1_000_000, 'at most 1000000').describe('Requests allowed at once after a quiet spell (the bucket size).'),
  })
  .strict();

const slurmPolicySchema = z
  .object({
    max_jobs_as: z
      .enum(['GrpSubmitJobs', 'GrpJobs'])
      .default('GrpSubmitJobs')
      .describe('GrpSubmitJobs: Slurm refuses a submission past max_jobs (running + pending, as the quota counts). GrpJobs: Slurm accepts it and keeps the excess pending (AssocGrpJobsLimit); only running jobs are then limited. User limits use MaxSubmitJobs / MaxJobs.'),
    account: glob
      .regex(/^[^*?]+$/, 'an account name, not a glob')
      .optional()
      .describe("The association that carries the tenant-wide limits on each cluster (a parent of the tenant's accounts). Default: the tenant's one account, when `accounts` names exactly one."),
    shares: z
      .record(glob, z.number().positive('a share is more than 0').max(1_000_000, 'at most 1000000'))
      .default({})
      .describe("How the tenant's and its accounts' limits are split across its clusters (cluster name or glob -> weight, default 1 each): each cluster gets its share, rounded so the parts add up to the limit."),
    take_over: z
      .boolean()
      .default(false)
      .describe('Overwrite limits found set on an association the hub does not own (set by hand). Default: leave them, and report the association once.'),
  })
  .strict();

const tenantSchema = z
  .object({
    clusters: z
      .array(glob.regex(/^(?:[a-z0-9*?][a-z0-9*?-]*\/)?[^/]+$/, 'a cluster name or glob, or region/cluster (the region a name or glob)'))
      .min(1)
      .describe("The clusters (names or globs) the tenant uses. A cluster may belong to several tenants: its jobs are split by Slurm account. Across regions a cluster is (region, name): `eu-west/gpu-*` names another region's clusters (seen in scope=global answers); an unqualified glob names this hub's region's only, so a peer region's cluster of the same name is not the tenant's."),
    accounts: globs.default(['*']).describe("The Slurm accounts (globs) whose jobs on the tenant's clusters belong to it; its members also join through an account of theirs (the `account` attribute)."),
    users: globs.default([]).describe('Members by login name (globs): the name of a session, token or client certificate.'),
    groups: globs.default([]).describe('Members by directory or IdP group (globs).'),
    resources: resourceLimitsSchema.optional().describe('Limits of the whole tenant.'),
    account_resources: z.record(glob, resourceLimitsSchema).default({}).describe('Limits of each Slurm account (glob -> limits), each account counted on its own.'),
    user_resources: z.record(glob, resourceLimitsSchema).default({}).describe('Limits of each user (glob -> limits) within the tenant.'),
    schedules: z.array(quotaScheduleSchema).default([]).describe('Dynamic quotas: tenant limits in force at scheduled times; the first schedule in force wins. A shrinking quota never cancels running jobs.'),
    alerts: z
      .object({
        routes: z.array(routeSchema).default([]).describe("Routes (the alerting section's shape, its policies and channels) tried first for the tenant's alerts: those whose cluster and account belong to it. The first match wins unless continue; no match, or continue: the alerting section's routes."),
      })
      .strict()
      .optional()
      .describe("The tenant's own alert routing."),
    rate_limit: rateLimitSchema.optional().describe("This tenant's API rate limit (one token bucket per tenant, shared by the hub group in Redis when it has a redis section); default multi_tenancy.rate_limit."),
    enforcement: z
      .object({
        policy: z
          .enum(['alert', 'hold', 'slurm'])
          .default('alert')
          .describe('alert: the quota gauges only (the breach signal). hold: the leader holds the newest pending jobs past a limit (jobs; nodes, CPUs, GPUs and memory counting what pending jobs ask for as if they ran) and releases them, and only them, when usage falls or a schedule raises the limit. slurm: the leader writes the limits in force as Slurm association limits (sacctmgr, through each cluster\'s agent) and Slurm enforces them.'),
        slurm: slurmPolicySchema.prefault({}).describe('How the `slurm` policy writes the limits.'),
        dry_run: z.boolean().default(false).describe('Report (audit record and event) what the policy would do, and do nothing.'),
      })
      .strict()
      .prefault({})
      .describe('What the hub does about jobs submitted straight to Slurm past the quota.'),
  })
  .strict();

export type TenantConfig = z.infer<typeof tenantSchema>;

export const multiTenancyConfigSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Tenants in force: every caller acts in one tenant (or is an operator) and sees only its rows.'),
    isolation_mode: z.enum(['strict', 'shared']).default('strict').describe('strict: a tenant sees nothing of the others. shared: also fleet-wide aggregate counts, never rows of others.'),
    operators: z
      .object({
        users: globs.default([]).describe('Login names (globs) that act fleet-wide, in no tenant.'),
        groups: globs.default([]).describe('Groups (globs) whose members act fleet-wide.'),
      })
      .strict()
      .prefault({})
      .describe('Fleet-wide callers besides hub certificates: RBAC alone decides what they see.'),
    rate_limit: rateLimitSchema.optional().describe('The API rate limit of every tenant without its own (REST, watch opens, gRPC calls): over it, 429 with Retry-After. In a hub group with Redis the budget is shared by all hubs; while Redis cannot be reached each hub counts alone (sfleet_tenant_rate_shared 0). Absent: no limit. Fleet-wide callers are not limited.'),
    enforcement_interval: duration
      .pipe(z.number().min(1_000, 'at least 1s').max(3_600_000, 'at most 1h'))
      .default(30_000)
      .describe('How often the leader compares usage with the limits in force and holds or releases jobs (tenants with enforcement policy hold).'),
    history_interval: duration
      .pipe(z.number().min(10_000, 'at least 10s').max(3_600_000, 'at most 1h'))
      .default(60_000)
      .describe('How often the leader samples every quota\'s usage for the quota history (GET /api/v1/quotas/history, the quotas page\'s chart). Each sample is kept 3 hours, then 15-minute and hourly steps up to 30 days, in data_dir/quota-history.json (in a hub group with Redis: in the region\'s Redis, and every hub answers from it).'),
    tenants: z.record(z.string().regex(TENANT_NAME, 'a tenant name: a lower-case letter, then letters, digits, _ or -'), tenantSchema).default({}).describe('Tenants by name.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.enabled && Object.keys(c.tenants).length === 0) ctx.addIssue({ code: 'custom', path: ['tenants'], message: 'multi_tenancy is enabled but names no tenant' });
    // Two tenants owning one (cluster, account) are refused by the hub config, which knows the region (clash.ts).
    // The same glob with other limits in another tenant of a shared cluster: which one holds would depend on the order.
    for (const field of ['account_resources', 'user_resources'] as const) {
      const seen = new Map<string, { tenant: string; limits: string; clusters: string[] }>();
      for (const [name, t] of Object.entries(c.tenants)) {
        for (const [g, limits] of Object.entries(t[field])) {
          const prior = seen.get(g);
          const text = JSON.stringify(limits);
          if (prior && prior.limits !== text && prior.clusters.some((x) => t.clusters.includes(x))) {
            ctx.addIssue({ code: 'custom', path: ['tenants', name, field, g], message: `"${g}" has other limits in tenant ${prior.tenant}, which shares a cluster with this one: give it the same limits or one tenant` });
          } else if (!prior) seen.set(g, { tenant: name, limits: text, clusters: t.clusters });
        }
      }
    }
    for (const [name, t] of Object.entries(c.tenants)) {
      const tenantWide = t.resources !== undefined || t.schedules.length > 0;
      const single = t.accounts.length === 1 && !/[*?]/.test(t.accounts[0]!);
      if (t.enforcement.policy === 'slurm' && tenantWide && !t.enforcement.slurm.account && !single) {
        ctx.addIssue({ code: 'custom', path: ['tenants', name, 'enforcement', 'slurm', 'account'], message: "policy slurm writes the tenant's limits on one association per cluster: name it here (a parent of the tenant's accounts), or give the tenant exactly one account" });
      }
    }
    for (const [name, t] of Object.entries(c.tenants)) {
      const names = new Set<string>();
      for (const [i, s] of t.schedules.entries()) {
        if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['tenants', name, 'schedules', i, 'name'], message: `schedule "${s.name}" is named twice` });
        names.add(s.name);
      }
    }
  });

export type MultiTenancyConfig = z.infer<typeof multiTenancyConfigSchema>;
