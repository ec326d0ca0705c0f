// The hub's `multi_tenancy` section: tenants (who is a member, which clusters and Slurm
// accounts they own) and their resource limits. Refused at load, with the file, line and key,
// when two tenants would own the same jobs or a limit is negative or absurd.
import { z } from 'zod';
import { byteSize } from '../../shared/config/index.js';

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

const tenantSchema = z
  .object({
    clusters: globs.min(1).describe('The clusters (names or globs) the tenant uses. A cluster may belong to several tenants: its jobs are split by Slurm account.'),
    accounts: globs.default(['*']).describe("The Slurm accounts (globs) whose jobs on the tenant's clusters belong to it; its members also join through an account of theirs (the `account` attribute)."),
    users: globs.default([]).describe('Members by login name (globs): the name of a session, token or client certificate.'),
    groups: globs.default([]).describe('Members by directory or IdP group (globs).'),
    resources: resourceLimitsSchema.optional().describe('Limits of the whole tenant.'),
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
    tenants: z.record(z.string().regex(TENANT_NAME, 'a tenant name: a lower-case letter, then letters, digits, _ or -'), tenantSchema).default({}).describe('Tenants by name.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.enabled && Object.keys(c.tenants).length === 0) ctx.addIssue({ code: 'custom', path: ['tenants'], message: 'multi_tenancy is enabled but names no tenant' });
    // A job belongs to the tenant of its (cluster, account): two tenants naming the same pair of globs would both own it.
    const owner = new Map<string, string>();
    for (const [name, t] of Object.entries(c.tenants)) {
      for (const [ci, cluster] of t.clusters.entries()) {
        for (const account of t.accounts) {
          const key = `${cluster}\u0000${account}`;
          const other = owner.get(key);
          if (other !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['tenants', name, 'clusters', ci],
              message: `cluster "${cluster}" with accounts "${account}" is already tenant ${other}'s: a job belongs to one tenant; give each tenant of a shared cluster its own accounts`,
            });
          } else owner.set(key, name);
        }
      }
    }
  });

export type MultiTenancyConfig = z.infer<typeof multiTenancyConfigSchema>;
