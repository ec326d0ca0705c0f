// What one authenticated request may do and see (its visibility): its principal's decisions and
// row filters, narrowed further by the filters a federation peer forwarded for its own caller.
// "Scope" is the other axis (region or global, which hubs answer); this is whose rows they show.
import { BadRequestError, ForbiddenError } from '../../../shared/errors/index.js';
import type { Principal } from '../authenticate.js';
import type { FilterClause } from './row-filter.js';
import { globMatch, RowFilter } from './row-filter.js';
import type { Decision, Grant, Rbac } from './policy.js';
import { FLEET_WIDE_PERMISSIONS, type TenantScope } from './tenant-scope.js';

/**
 * A hub forwarding a scope=global query sends its caller's read filters in this header, so the
 * peer (which grants hub certificates an unfiltered read role) answers only what the caller may
 * see, counts included. It can only narrow: the peer honours it from hub certificates alone.
 * A tenant's clauses carry `region` globs (a cluster is (region, name)): the peer keeps the
 * clauses whose region glob names its own region, without the region field, and drops the rest.
 */
export const FORWARDED_FILTERS_HEADER = 'x-sfleet-forwarded-filters';
const FORWARDED_RESOURCES = ['cluster', 'jobs', 'nodes'] as const;

type Forwarded = Partial<Record<(typeof FORWARDED_RESOURCES)[number], FilterClause[] | null>>;

export class Visibility {
  private readonly cache = new Map<string, RowFilter>();
  private readonly forwarded: Forwarded | undefined;
  /** The tenant this request acts in (multi_tenancy); undefined: fleet-wide. */
  readonly tenant: TenantScope | undefined;
  private readonly tenantRows: RowFilter;
  /** The tenant's rows in every region (clauses with `region`): what goes to peers and narrows the merged answer. */
  private readonly tenantRegionRows: RowFilter;

  constructor(
    private readonly rbac: Rbac,
    readonly principal: Principal,
    forwardedHeader?: string,
    requestedTenant?: string,
  ) {
    this.forwarded = principal.role === 'hub' && forwardedHeader ? parseForwarded(forwardedHeader, rbac.region) : undefined;
    this.tenant = rbac.tenants?.resolve(principal, requestedTenant || undefined);
    this.tenantRows = this.tenant ? RowFilter.of(this.tenant.clauses) : RowFilter.ALL;
    this.tenantRegionRows = this.tenant ? RowFilter.of(this.tenant.regions ?? this.tenant.clauses.map((c) => ({ ...c, region: [rbac.region] }))) : RowFilter.ALL;
  }

  decide(permission: string): Decision {
    return this.rbac.decide(this.principal, permission);
  }

  /** The decision, or a ForbiddenError that explains the denial. */
  authorize(permission: string): Decision {
    const d = this.rbac.authorize(this.principal, permission);
    if (this.tenant && FLEET_WIDE_PERMISSIONS.includes(d.permission)) {
      throw new ForbiddenError(`${d.permission} covers the whole fleet: not served to a caller acting in a tenant`);
    }
    return d;
  }

  /** The roles this request's principal holds, and why. */
  grants(): Grant[] {
    return this.rbac.grants(this.principal);
  }

  /** Someone else's decision (can-i --as): needs auth:impersonate. */
  decideAs(target: Principal, permission: string): Decision {
    this.authorize('auth:impersonate');
    return this.rbac.decide(target, permission);
  }

  /** Why this caller may not give `role` to a token it creates (undefined: it may). */
  ungrantable(role: string): string | undefined {
    return this.rbac.ungrantable(this.principal, role);
  }

  /** The roles rbac bindings give every token named `name`. */
  boundToService(name: string): string[] {
    return this.rbac.boundToService(name);
  }

  /** The rows of `resource` this request may see under `verb`: NONE when it may not at all. */
  rows(resource: string, verb = 'read'): RowFilter {
    const key = `${resource}:${verb}`;
    let f = this.cache.get(key);
    if (!f) {
      f = this.rbac.rowFilter(this.principal, resource, verb).and(this.tenantRows);
      const fwd = this.forwarded?.[resource as keyof Forwarded];
      if (fwd !== undefined) f = f.and(fwd === null ? RowFilter.ALL : RowFilter.of(fwd));
      this.cache.set(key, f);
    }
    return f;
  }

  /** Whether a record about (cluster, account) is the caller's tenant's: true for fleet-wide callers. */
  inTenant(object: { cluster?: string; account?: string }): boolean {
    return !this.tenant || this.tenantRows.allows('association', object);
  }

  /**
   * An object of a cluster the caller's tenant shares with others, as the tenant may see it: the
   * other tenants' accounts and users taken out of partitions, reservations and nodes. The same
   * object for fleet-wide callers and for clusters the tenant owns whole.
   */
  tenantView<T>(kind: string, object: T): T {
    if (!this.tenant || !object || typeof object !== 'object') return object;
    const o = object as Record<string, unknown>;
    const cluster = typeof o.cluster === 'string' ? o.cluster : '';
    // A tenant that owns every account of the cluster ("*") matches an account no one can name.
    if (this.inTenant({ cluster, account: '\u0000' })) return object;
    const mine = (accounts: unknown): string[] => (Array.isArray(accounts) ? (accounts as string[]).filter((account) => this.inTenant({ cluster, account })) : []);
    if (kind === 'partition') return { ...o, allowed_accounts: mine(o.allowed_accounts) } as T;
    if (kind === 'reservation') return { ...o, accounts: mine(o.accounts), users: [] } as T;
    if (kind === 'node') return { ...o, reason_set_by: '' } as T;
    return object;
  }

  /**
   * The rows of `resource` a scope=global answer may hold, items tagged with their region: the
   * caller's RBAC rows, and its tenant's rows region by region (a peer's cluster of the same name
   * as one of the tenant's is not the tenant's unless a glob names that region).
   */
  globalRows(resource: string, verb = 'read'): RowFilter {
    return this.rbac.rowFilter(this.principal, resource, verb).and(this.tenantRegionRows);
  }

  /** The header a global query sends to peer regions on this request's behalf. */
  forwardHeader(): string {
    const out: Forwarded = {};
    for (const r of FORWARDED_RESOURCES) out[r] = this.globalRows(r).toJSON();
    return Buffer.from(JSON.stringify(out)).toString('base64url');
  }
}

/** A forwarded clause as this region reads it: without its region field when that names `region`, undefined when it names others. */
function inRegion(clause: FilterClause, region: string): FilterClause | undefined {
  if (!clause.region) return clause;
  if (!clause.region.some((r) => globMatch(r, region))) return undefined;
  const { region: _named, ...rest } = clause;
  return rest;
}

function parseForwarded(header: string, region: string): Forwarded {
  try {
    const parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    const out: Forwarded = {};
    for (const r of FORWARDED_RESOURCES) {
      const v = (parsed as Record<string, unknown>)[r];
      if (v === undefined) continue;
      if (v !== null && !(Array.isArray(v) && v.every((c) => c && typeof c === 'object' && Object.values(c as object).every((x) => Array.isArray(x) && x.every((s) => typeof s === 'string'))))) {
        throw new Error(`bad ${r}`);
      }
      // A clause for other regions only is dropped: when none is left, the caller sees nothing here.
      out[r] = v === null ? null : (v as FilterClause[]).flatMap((c) => inRegion(c, region) ?? []);
    }
    return out;
  } catch (err) {
    throw new BadRequestError(`${FORWARDED_FILTERS_HEADER}: not the filters a hub forwards (${(err as Error).message})`);
  }
}
