// Built-in roles, and the role graph: which permissions a role grants, its own and inherited.
import type { RbacRoleConfig } from './role-schema.js';

/** Reserved for hub-to-hub certificates: read what a global query forwards (federation peers); forward a command to the hub holding a cluster's agent (the hub group). */
export const HUB_PEER_ROLE = 'hub_peer';

/**
 * Always defined; a configured role of the same name replaces one (hub_peer excepted). Without
 * an `rbac` section every authenticated caller is bound to admin (the standalone demo).
 */
export const BUILTIN_ROLES: Readonly<Record<string, RbacRoleConfig>> = {
  admin: { permissions: ['*:*'], inherits: [], filters: {} },
  operator: { permissions: ['cluster:read', 'jobs:*', 'nodes:*', 'watch:read', 'hub:read', 'metrics:read', 'openapi:read', 'alerts:*', 'silences:*', 'schedules:read'], inherits: [], filters: {} },
  viewer: { permissions: ['cluster:read', 'jobs:read', 'nodes:read', 'watch:read', 'hub:read', 'openapi:read', 'alerts:read', 'silences:read', 'schedules:read'], inherits: [], filters: {} },
  auditor: { permissions: ['audit:read', 'audit:export', 'metrics:read', 'compliance:export', 'compliance:report'], inherits: ['viewer'], filters: {} },
  [HUB_PEER_ROLE]: { permissions: ['cluster:read', 'jobs:read', 'nodes:read', 'hub:read', 'hub:forward'], inherits: [], filters: {} },
};

export function roleTable(configured: Record<string, RbacRoleConfig> | undefined): Record<string, RbacRoleConfig> {
  return { ...BUILTIN_ROLES, ...(configured ?? {}), [HUB_PEER_ROLE]: BUILTIN_ROLES[HUB_PEER_ROLE] };
}

/** The first inheritance cycle among the roles, as a path (a -> b -> a), or undefined. */
export function findCycle(roles: Record<string, RbacRoleConfig>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    for (const parent of roles[name]?.inherits ?? []) {
      const cycle = visit(parent, [...path, name]);
      if (cycle) return cycle;
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const name of Object.keys(roles)) {
    const cycle = visit(name, []);
    if (cycle) return cycle;
  }
  return undefined;
}

/** "resource:verb[,verb]" as a test; the resource already canonical or "*". */
export interface CompiledPermission {
  text: string;
  resource: string;
  verbs: ReadonlySet<string> | '*';
}

export function compilePermission(text: string, canonical: (resource: string) => string | undefined): CompiledPermission {
  const i = text.indexOf(':');
  const resource = text.slice(0, i);
  const verbs = text.slice(i + 1).split(',').map((v) => v.trim());
  return { text, resource: resource === '*' ? '*' : (canonical(resource) ?? resource), verbs: verbs.includes('*') ? '*' : new Set(verbs) };
}

export function permits(p: CompiledPermission, resource: string, verb: string): boolean {
  return (p.resource === '*' || p.resource === resource) && (p.verbs === '*' || p.verbs.has(verb));
}
