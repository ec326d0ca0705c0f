// The `rbac` section of the hub config: roles (permissions, filters, inheritance) and the
// bindings that give them to users, groups, client certificates and API tokens.
import { z } from 'zod';
import { BUILTIN_ROLES, findCycle, HUB_PEER_ROLE } from './roles.js';
import { rbacRoleSchema, ROLE_NAME } from './role-schema.js';

export { FILTER_FIELDS, rbacRoleSchema, type FilterField, type RbacRoleConfig } from './role-schema.js';

const binding = z
  .object({
    user: z.string().min(1).optional().describe('A logged-in user\'s name (OIDC, LDAP, local, SAML sessions).'),
    group: z.string().min(1).optional().describe('A directory or IdP group.'),
    client: z.string().min(1).optional().describe('A client certificate\'s identity name (mutual TLS).'),
    service: z.string().min(1).optional().describe('An API token\'s name (sfleet token create --name).'),
    role: z.string().regex(ROLE_NAME, 'a role name').describe('The role given (defined under rbac.roles, or built in).'),
  })
  .strict()
  .superRefine((b, ctx) => {
    const subjects = (['user', 'group', 'client', 'service'] as const).filter((k) => b[k] !== undefined);
    if (subjects.length !== 1) ctx.addIssue({ code: 'custom', message: 'a binding names exactly one of user, group, client or service, and a role' });
  });

export const rbacConfigSchema = z
  .object({
    roles: z.record(z.string().regex(ROLE_NAME, 'a role name: a letter, then letters, digits, _ . -'), rbacRoleSchema).default({}).describe('Roles by name.'),
    bindings: z.array(binding).default([]).describe('Who has which role: each names one of user, group, client or service, and a role.'),
    watch_file: z
      .boolean()
      .default(true)
      .describe('Reload this section when the config file changes (checked every second). It reloads on SIGHUP either way; a file that does not validate is refused and logged, and the policy in force stays. Read at start.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (Object.hasOwn(c.roles, HUB_PEER_ROLE)) ctx.addIssue({ code: 'custom', path: ['roles', HUB_PEER_ROLE], message: `"${HUB_PEER_ROLE}" is reserved for hub-to-hub certificates` });
    const known = (name: string): boolean => Object.hasOwn(c.roles, name) || Object.hasOwn(BUILTIN_ROLES, name);
    const builtins = Object.keys(BUILTIN_ROLES).join(', ');
    for (const [name, role] of Object.entries(c.roles)) {
      for (const [i, parent] of role.inherits.entries()) {
        if (!known(parent)) ctx.addIssue({ code: 'custom', path: ['roles', name, 'inherits', i], message: `unknown role "${parent}" (define it under rbac.roles; built-in: ${builtins})` });
      }
    }
    const cycle = findCycle({ ...BUILTIN_ROLES, ...c.roles });
    if (cycle) ctx.addIssue({ code: 'custom', path: ['roles', cycle[0], 'inherits'], message: `roles inherit in a cycle: ${cycle.join(' -> ')}` });
    for (const [i, b] of c.bindings.entries()) {
      if (!known(b.role)) ctx.addIssue({ code: 'custom', path: ['bindings', i, 'role'], message: `unknown role "${b.role}" (define it under rbac.roles; built-in: ${builtins})` });
    }
  });

export type RbacConfig = z.infer<typeof rbacConfigSchema>;
export type RbacBinding = z.infer<typeof binding>;
