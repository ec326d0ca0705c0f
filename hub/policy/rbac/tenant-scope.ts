// The seam between RBAC and tenancy (hub/tenancy implements it): which tenant a request acts in
// and the rows that tenant owns. Every Visibility ANDs them into each row filter it hands out,
// so REST, gRPC and watch streams narrow by tenant through the same one gate.
import type { Principal } from '../authenticate.js';
import type { FilterClause } from './row-filter.js';

/** The request header (REST) and metadata key (gRPC) that chooses a tenant for a person in several. */
export const TENANT_HEADER = 'x-sfleet-tenant';

export interface TenantScope {
  /** The tenant the request acts in; null: a caller of no tenant (it sees no rows). */
  name: string | null;
  /** Which of the caller's names made it a member (for whoami). */
  via: string;
  /** The tenant's rows: any of the clauses (cluster and account globs). Empty: nothing. */
  clauses: FilterClause[];
  /** The tenant's rows in every region, each clause with its `region` (globs): what a global query forwards to peers. Absent: `clauses`, in this region. */
  regions?: FilterClause[];
  /** isolation_mode shared: the tenant also sees fleet-wide aggregate counts (never rows of others). */
  aggregates?: boolean;
}

export interface TenantResolver {
  /**
   * The scope of a request of `p`, `requested` naming a tenant (header or --tenant), or
   * undefined for a fleet-wide caller (operators, hub certificates): no tenant narrowing.
   * Throws a FleetError when `requested` is not one of the caller's tenants or a choice is needed.
   */
  resolve(p: Principal, requested: string | undefined): TenantScope | undefined;
}

/** Fleet-wide by nature: never served to a caller acting in a tenant (metrics are, cut to the tenant). */
export const FLEET_WIDE_PERMISSIONS: readonly string[] = ['compliance:export', 'compliance:report', 'compliance:erase'];
