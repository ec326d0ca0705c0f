// The decision: may this principal do "resource:verb", by which binding and role, and which
// rows it may see. Every REST route, gRPC method and watch stream asks here, nowhere else.
import { ForbiddenError } from '../../../shared/errors/index.js';
import type { Principal } from '../authenticate.js';
import type { FilterField, RbacConfig, RbacRoleConfig } from './config.js';
import { canonicalResource, RESOURCES, SELF_PERMISSIONS } from './resources.js';
import { compilePermission, HUB_PEER_ROLE, permits, roleTable, type CompiledPermission } from './roles.js';
import { intersectClauses, RowFilter, type FilterClause } from './row-filter.js';
import type { TenantResolver } from './tenant-scope.js';

/** A role the principal holds and why. */
export interface Grant {
  role: string;
  via: string;
}

export interface Match {
  role: string;
  via: string;
  permission: string;
  /** Set when the permission comes from a role `role` inherits. */
  inherited_from?: string;
  /** This match's row filter (null: every row). */
  filters: FilterClause | null;
}

export interface Decision {
  allowed: boolean;
  permission: string;
  principal: { name: string; kind: Principal['role']; method: Principal['method']; groups: string[] };
  /** Every role the principal holds, and the binding that gives it. */
  roles: Grant[];
  /** The grants that allow it (empty when denied). */
  matched: Match[];
  /** Rows the principal may see under this permission: null = all; otherwise any of the clauses. */
  filters: FilterClause[] | null;
  /** One sentence a person can read. */
  reason: string;
}

interface CompiledRole {
  permissions: CompiledPermission[];
  inherits: string[];
  filters: RbacRoleConfig['filters'];
}

const TEMPLATE = /\$\{user\.([^}]+)\}/g;

export class Rbac {
  private roles = new Map<string, CompiledRole>();
  private bindings: RbacConfig['bindings'] = [];
  private current: RbacConfig | undefined;
  /** Bumped by every replace(): open watches compare their view against it (rbac-reload). */
  generation = 0;

  /** `config` undefined: no rbac section, every authenticated caller is an admin (see README, Access control). */
  /** `tenants`: multi_tenancy, when enabled; every Visibility narrows its rows by the caller's tenant. */
  /** `region`: this hub's region, against which filters forwarded by peer regions are read. */
  constructor(
    config: RbacConfig | undefined,
    readonly tenants?: TenantResolver,
    readonly region = 'default',
  ) {
    this.replace(config);
  }

  get config(): RbacConfig | undefined {
    return this.current;
  }

  /**
   * A new policy (the rbac section reloaded on SIGHUP or file change): every decision from now on
   * uses it. `config` must be valid (rbacConfigSchema): the caller refuses a bad one first.
   */
  replace(config: RbacConfig | undefined): void {
    const roles = new Map<string, CompiledRole>();
    for (const [name, role] of Object.entries(roleTable(config?.roles))) {
      roles.set(name, { permissions: role.permissions.map((p) => compilePermission(p, canonicalResource)), inherits: role.inherits, filters: role.filters });
    }
    // Swapped together once all compiled: a decision never sees half a policy.
    this.roles = roles;
    this.bindings = config?.bindings ?? [];
    this.current = config;
    this.generation++;
  }

  get configured(): boolean {
    return this.current !== undefined;
  }

  /** The roles a principal holds: its bindings, its credential's own roles, the built-in defaults. */
  grants(p: Principal): Grant[] {
    const out: Grant[] = [];
    if (p.role === 'hub') out.push({ role: HUB_PEER_ROLE, via: `hub certificate ${p.name}` });
    for (const role of p.roles ?? []) out.push({ role, via: `the credential's own roles (${p.method})` });
    for (const b of this.bindings) {
      if (b.user !== undefined && p.role === 'user' && b.user === p.name) out.push({ role: b.role, via: `user ${b.user}` });
      else if (b.group !== undefined && p.groups.includes(b.group)) out.push({ role: b.role, via: `group ${b.group}` });
      else if (b.client !== undefined && p.method === 'mtls' && p.role === 'client' && b.client === p.name) out.push({ role: b.role, via: `client certificate ${b.client}` });
      else if (b.service !== undefined && p.role === 'service' && b.service === p.name) out.push({ role: b.role, via: `token ${b.service}` });
    }
    // No rbac section: the standalone default, everyone authenticated is an admin, unless the
    // credential carries roles of its own (a token bound to roles stays bound).
    if (!this.configured && p.role !== 'hub' && !p.roles?.length) out.push({ role: 'admin', via: 'default: no rbac section, every authenticated caller' });
    return out;
  }

  decide(p: Principal, permission: string): Decision {
    const i = permission.indexOf(':');
    const resourceIn = permission.slice(0, i);
    const verb = permission.slice(i + 1);
    const resource = canonicalResource(resourceIn) ?? resourceIn;
    const canonical = `${resource}:${verb}`;
    const grants = this.grants(p);
    const base = { permission: canonical, principal: { name: p.name, kind: p.role, method: p.method, groups: [...p.groups] }, roles: grants };
    if (SELF_PERMISSIONS.includes(canonical)) {
      return { ...base, allowed: true, matched: [], filters: null, reason: `every authenticated caller may ${verb} ${resource}` };
    }
    const matched: Match[] = [];
    const unknown: string[] = [];
    for (const grant of grants) {
      if (!this.roles.has(grant.role)) {
        unknown.push(grant.role);
        continue;
      }
      this.collect(grant, grant.role, {}, resource, verb, p, matched, new Set());
    }
    const who = `${p.name} (${p.role})`;
    if (matched.length === 0) {
      const held = grants.length ? grants.map((g) => `${g.role} via ${g.via}`).join('; ') : 'none: no binding names this caller, its groups or its credential';
      const extra = unknown.length ? `; unknown roles ignored: ${unknown.join(', ')}` : '';
      return { ...base, allowed: false, matched, filters: null, reason: `${who} may not ${verb} ${resource}: no role it holds grants ${canonical} (roles: ${held}${extra})` };
    }
    const filter = RowFilter.of(matched.map((m) => m.filters ?? {}));
    const first = matched[0];
    const how = `${first.permission} of role ${first.role}${first.inherited_from ? ` (inherited from ${first.inherited_from})` : ''} via ${first.via}`;
    const rows = filter.unrestricted ? 'every row' : `rows where ${describe(filter.clauses!)}`;
    return { ...base, allowed: true, matched, filters: filter.toJSON(), reason: `${who} may ${verb} ${resource}: ${how}; ${rows}` };
  }

  /** The decision, or a ForbiddenError that says why (the audit log records it). */
  authorize(p: Principal, permission: string): Decision {
    const d = this.decide(p, permission);
    if (!d.allowed) throw new ForbiddenError(d.reason);
    return d;
  }

  /**
   * Why `p` may not hand `role` to a credential it creates (undefined: it may). Every permission
   * the role grants, inherited ones and wildcards spelt out, must be one `p` holds on every row:
   * a caller cannot mint a token wider than itself (an operator cannot mint an admin token).
   */
  ungrantable(p: Principal, role: string): string | undefined {
    if (!this.roles.has(role)) return `unknown role "${role}"`;
    const wanted = new Set<string>();
    const visit = (name: string, seen: Set<string>): void => {
      const r = this.roles.get(name);
      if (!r || seen.has(name)) return;
      seen.add(name);
      for (const perm of r.permissions) {
        for (const [resource, verbs] of Object.entries(RESOURCES) as [string, readonly string[]][]) {
          if (perm.resource !== '*' && perm.resource !== resource) continue;
          for (const verb of verbs) if (perm.verbs === '*' || perm.verbs.has(verb)) wanted.add(`${resource}:${verb}`);
        }
      }
      for (const parent of r.inherits) visit(parent, seen);
    };
    visit(role, new Set());
    for (const permission of wanted) {
      if (SELF_PERMISSIONS.includes(permission)) continue;
      const d = this.decide(p, permission);
      if (!d.allowed) return `role ${role} grants ${permission}, which ${p.name} does not hold`;
      if (d.filters) return `role ${role} grants ${permission}, which ${p.name} holds only on some rows`;
    }
    return undefined;
  }

  /** The roles the bindings give a token of this name (they come with any token of that name). */
  boundToService(name: string): string[] {
    return this.bindings.filter((b) => b.service === name).map((b) => b.role);
  }

  /** The rows of `resource` the principal may read: NONE when it may not read it at all. */
  rowFilter(p: Principal, resource: string, verb = 'read'): RowFilter {
    const d = this.decide(p, `${resource}:${verb}`);
    if (!d.allowed) return RowFilter.NONE;
    return d.filters ? RowFilter.of(d.filters) : RowFilter.ALL;
  }

  private collect(grant: Grant, name: string, above: FilterClause, resource: string, verb: string, p: Principal, out: Match[], seen: Set<string>): void {
    const role = this.roles.get(name);
    if (!role || seen.has(name)) return;
    seen.add(name);
    // A role's filters hold for everything it grants, inherited permissions included: inheriting never widens.
    const filters = intersectClauses(above, resolveFilters(role.filters, p));
    for (const perm of role.permissions) {
      if (!permits(perm, resource, verb)) continue;
      out.push({ role: grant.role, via: grant.via, permission: perm.text, ...(name !== grant.role ? { inherited_from: name } : {}), filters: Object.keys(filters).length ? filters : null });
      break;
    }
    for (const parent of role.inherits) this.collect(grant, parent, filters, resource, verb, p, out, seen);
  }
}

/** The role's filter values with ${user.*} filled in. A missing attribute drops the value, so it matches nothing (never everything). */
export function resolveFilters(filters: RbacRoleConfig['filters'], p: Principal): FilterClause {
  const out: FilterClause = {};
  for (const [field, raw] of Object.entries(filters) as [FilterField, string | string[]][]) {
    const values: string[] = [];
    for (const template of Array.isArray(raw) ? raw : [raw]) {
      let missing = false;
      const value = template.replace(TEMPLATE, (_m, attr: string) => {
        const v = attr === 'name' ? p.name : Object.hasOwn(p.attributes, attr) ? p.attributes[attr] : undefined;
        if (v === undefined || v === '') missing = true;
        return v ?? '';
      });
      if (!missing) values.push(value);
    }
    out[field] = values;
  }
  return out;
}

function describe(clauses: readonly FilterClause[]): string {
  return clauses
    .map((c) =>
      Object.entries(c)
        .map(([f, v]) => (v!.length ? `${f} is ${v!.join(' or ')}` : `${f} matches nothing (a user attribute it needs is missing)`))
        .join(' and '),
    )
    .join('; or ');
}
