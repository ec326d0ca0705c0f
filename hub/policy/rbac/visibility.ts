// What one authenticated request may do and see (its visibility): its principal's decisions and
// row filters, narrowed further by the filters a federation peer forwarded for its own caller.
// "Scope" is the other axis (region or global, which hubs answer); this is whose rows they show.
import { BadRequestError } from '../../../shared/errors/index.js';
import type { Principal } from '../authenticate.js';
import type { FilterClause } from './row-filter.js';
import { RowFilter } from './row-filter.js';
import type { Decision, Grant, Rbac } from './policy.js';
import type { TenantScope } from './tenant-scope.js';

/**
 * A hub forwarding a scope=global query sends its caller's read filters in this header, so the
 * peer (which grants hub certificates an unfiltered read role) answers only what the caller may
 * see, counts included. It can only narrow: the peer honours it from hub certificates alone.
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

  constructor(
    private readonly rbac: Rbac,
    readonly principal: Principal,
    forwardedHeader?: string,
    requestedTenant?: string,
  ) {
    this.forwarded = principal.role === 'hub' && forwardedHeader ? parseForwarded(forwardedHeader) : undefined;
    this.tenant = rbac.tenants?.resolve(principal, requestedTenant || undefined);
    this.tenantRows = this.tenant ? RowFilter.of(this.tenant.clauses) : RowFilter.ALL;
  }

  decide(permission: string): Decision {
    return this.rbac.decide(this.principal, permission);
  }

  /** The decision, or a ForbiddenError that explains the denial. */
  authorize(permission: string): Decision {
    return this.rbac.authorize(this.principal, permission);
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

  /** The header a global query sends to peer regions on this request's behalf. */
  forwardHeader(): string {
    const out: Forwarded = {};
    for (const r of FORWARDED_RESOURCES) out[r] = this.rows(r).toJSON();
    return Buffer.from(JSON.stringify(out)).toString('base64url');
  }
}

function parseForwarded(header: string): Forwarded {
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
      out[r] = v as FilterClause[] | null;
    }
    return out;
  } catch (err) {
    throw new BadRequestError(`${FORWARDED_FILTERS_HEADER}: not the filters a hub forwards (${(err as Error).message})`);
  }
}
