// One role's shape in the `rbac` section (permissions, inheritance, row filters): apart from
// the section so that the role graph (roles.ts) and the section (config.ts) both build on it.
import { z } from 'zod';
import { canonicalResource, RESOURCES } from './resources.js';

/** Row filter fields; each narrows the kinds that carry it (see row-filter.ts). */
export const FILTER_FIELDS = ['cluster', 'account', 'user', 'partition'] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];

export const ROLE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const VERB = /^(\*|[a-z][a-z_-]{0,31})$/;
/** A literal or "${user.<attribute>}" / "${user.name}" templates inside a value. */
const TEMPLATE = /\$\{([^}]*)\}/g;

const permission = z.string().superRefine((p, ctx) => {
  const m = /^([a-z*][a-z_*]*):(.+)$/.exec(p);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `"${p}": expected "resource:verb[,verb]" such as "jobs:read,cancel" or "cluster:*"` });
    return;
  }
  if (m[1] !== '*' && !canonicalResource(m[1])) {
    ctx.addIssue({ code: 'custom', message: `"${p}": unknown resource "${m[1]}"; known: ${Object.keys(RESOURCES).join(', ')} (or *)` });
  }
  for (const verb of m[2].split(',')) {
    if (!VERB.test(verb.trim())) ctx.addIssue({ code: 'custom', message: `"${p}": bad verb "${verb}": lower-case letters, or *` });
  }
});

const filterValue = z.string().min(1).superRefine((v, ctx) => {
  for (const m of v.matchAll(TEMPLATE)) {
    if (!/^user\.(name|[A-Za-z_][A-Za-z0-9_.-]*)$/.test(m[1])) {
      ctx.addIssue({ code: 'custom', message: `"${m[0]}": expected \${user.name} or \${user.<attribute>}` });
    }
  }
});

export const rbacRoleSchema = z
  .object({
    permissions: z.array(permission).default([]).describe('"resource:verb[,verb]" such as "jobs:read,cancel" or "cluster:*".'),
    inherits: z.array(z.string().regex(ROLE_NAME, 'a role name')).default([]).describe('Roles whose permissions this one gets too, under this role\'s filters as well as theirs.'),
    filters: z.partialRecord(z.enum(FILTER_FIELDS), z.union([filterValue, z.array(filterValue).min(1)])).default({}).describe('Row filters: a field (cluster, account, user, partition) -> a value or a list of values (any of them); all fields must match. Values may hold ${user.name} or ${user.<attribute>}.'),
  })
  .strict();

export type RbacRoleConfig = z.infer<typeof rbacRoleSchema>;
