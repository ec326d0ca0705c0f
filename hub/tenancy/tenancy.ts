// Who belongs to which tenant, and which tenant a job belongs to. A person is a member by login
// name, group or Slurm account (globs); a job belongs to the tenant of its (cluster, account).
// A person in several tenants acts in one per request (X-Sfleet-Tenant / --tenant).
//
// Across regions a cluster is (region, name). A tenant's cluster glob may name its region,
// `eu-west/gpu-*` (the region part a name or glob); an unqualified glob means this hub's own
// region. Here, in this region, only the globs of this region count (as bare names); a global
// query forwards the tenant's rows with each glob's region, so a peer region's cluster of the
// same name matches only when the glob named that region.
import { BadRequestError, ForbiddenError } from '../../shared/errors/index.js';
import { globMatch, type FilterClause, type Principal, type TenantResolver, type TenantScope } from '../policy/index.js';
import type { MultiTenancyConfig, TenantConfig } from './config.js';

export interface Membership {
  tenant: string;
  /** Which of the caller's names matched which glob, e.g. `user eng-ann matches "eng-*"`. */
  via: string;
}

const matchAny = (globs: readonly string[], value: string): string | undefined => globs.find((g) => globMatch(g, value));

/** The Slurm accounts a person works under: the `account` attribute (IdP claim, directory), comma-separated. */
function accountsOf(p: Principal): string[] {
  return (p.attributes.account ?? '').split(',').map((a) => a.trim()).filter(Boolean);
}

/** A cluster glob's region part and name part: `eu-west/gpu-*` -> [eu-west, gpu-*]; unqualified -> [region, glob]. */
export function splitClusterGlob(glob: string, region: string): [string, string] {
  const at = glob.indexOf('/');
  return at < 0 ? [region, glob] : [glob.slice(0, at), glob.slice(at + 1)];
}

/** The cluster globs that name clusters of `region`, as bare names (a glob for another region is left out). */
export function localClusterGlobs(globs: readonly string[], region: string): string[] {
  return globs.flatMap((g) => {
    const [r, name] = splitClusterGlob(g, region);
    return globMatch(r, region) ? [name] : [];
  });
}

export class Tenancy implements TenantResolver {
  private readonly tenants: [string, TenantConfig][];
  /** Each tenant's cluster globs of this region, as bare names. */
  private readonly local = new Map<string, string[]>();

  /** `region`: this hub's region (the config's `region`), which unqualified cluster globs name. */
  constructor(
    readonly config: MultiTenancyConfig,
    readonly region = 'default',
  ) {
    this.tenants = Object.entries(config.tenants);
    for (const [name, t] of this.tenants) this.local.set(name, localClusterGlobs(t.clusters, region));
  }

  /** The tenant's cluster globs that name clusters of this region (bare names). */
  localClusters(tenant: string): string[] {
    return this.local.get(tenant) ?? [];
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  names(): string[] {
    return this.tenants.map(([n]) => n);
  }

  tenant(name: string): TenantConfig | undefined {
    return Object.hasOwn(this.config.tenants, name) ? this.config.tenants[name] : undefined;
  }

  /** Operators and hub certificates act fleet-wide; says why, or undefined. */
  fleetWide(p: Principal): string | undefined {
    if (p.role === 'hub') return `hub certificate ${p.name}`;
    const ops = this.config.operators;
    const user = matchAny(ops.users, p.name);
    if (user) return `operator: ${p.name} matches "${user}"`;
    for (const g of p.groups) {
      const m = matchAny(ops.groups, g);
      if (m) return `operator: group ${g} matches "${m}"`;
    }
    return undefined;
  }

  /** Every tenant `p` belongs to, with the name that made it a member. */
  memberships(p: Principal): Membership[] {
    const out: Membership[] = [];
    for (const [tenant, t] of this.tenants) {
      const user = matchAny(t.users, p.name);
      if (user) {
        out.push({ tenant, via: `user ${p.name} matches "${user}"` });
        continue;
      }
      const group = p.groups.map((g) => [g, matchAny(t.groups, g)] as const).find(([, m]) => m);
      if (group) {
        out.push({ tenant, via: `group ${group[0]} matches "${group[1]}"` });
        continue;
      }
      // Joining by account needs the tenant to name accounts of its own: "*" (every account) would let anyone in.
      const named = t.accounts.filter((a) => a !== '*');
      const account = accountsOf(p).map((a) => [a, matchAny(named, a)] as const).find(([, m]) => m);
      if (account) out.push({ tenant, via: `Slurm account ${account[0]} matches "${account[1]}"` });
    }
    return out;
  }

  /** The tenant that owns a job (or any object with cluster and account), if any. */
  tenantOf(cluster: string, account: string | undefined): string | undefined {
    for (const [name, t] of this.tenants) {
      if (matchAny(this.localClusters(name), cluster) && (account === undefined ? t.accounts.includes('*') : matchAny(t.accounts, account))) return name;
    }
    return undefined;
  }

  /** The rows a tenant owns in this region: its clusters and, on them, its accounts (nodes and partitions carry no account: shared). */
  clauses(tenant: string): FilterClause[] {
    const t = this.tenant(tenant);
    return t ? [{ cluster: this.localClusters(tenant), account: [...t.accounts] }] : [];
  }

  /** The rows a tenant owns in every region, as a global query sends them to peers: one clause per region glob. */
  regionClauses(tenant: string): FilterClause[] {
    const t = this.tenant(tenant);
    if (!t) return [];
    const byRegion = new Map<string, string[]>();
    for (const g of t.clusters) {
      const [r, name] = splitClusterGlob(g, this.region);
      byRegion.set(r, [...(byRegion.get(r) ?? []), name]);
    }
    return [...byRegion].map(([r, cluster]) => ({ region: [r], cluster, account: [...t.accounts] }));
  }

  private scope(m: Membership): TenantScope {
    return { name: m.tenant, via: m.via, clauses: this.clauses(m.tenant), regions: this.regionClauses(m.tenant), ...(this.config.isolation_mode === 'shared' ? { aggregates: true } : {}) };
  }

  resolve(p: Principal, requested: string | undefined): TenantScope | undefined {
    if (!this.enabled) return undefined;
    const fleet = this.fleetWide(p);
    const mine = this.memberships(p);
    if (requested !== undefined) {
      const m = mine.find((x) => x.tenant === requested);
      // The same words whether the tenant exists or not: a caller learns no other tenant's name.
      if (!m) throw new ForbiddenError(`${p.name} is not a member of tenant "${requested.slice(0, 64)}"${mine.length ? ` (member of: ${mine.map((x) => x.tenant).join(', ')})` : ''}`);
      return this.scope(m);
    }
    if (fleet) return undefined;
    if (mine.length === 1) return this.scope(mine[0]);
    if (mine.length > 1) throw new BadRequestError(`${p.name} is a member of several tenants (${mine.map((x) => x.tenant).join(', ')}): choose one with the X-Sfleet-Tenant header or --tenant`);
    return { name: null, via: `${p.name} is in no tenant and no operator`, clauses: [] };
  }
}

/**
 * Each tenant's own alert routes and whose an alert is: the tenant of its (cluster, account); an
 * alert without an account (a node, the controller) is the tenant's whose clusters alone name it.
 */
export function tenantAlertRoutes(config: MultiTenancyConfig | undefined, region = 'default'): { routes: Record<string, NonNullable<TenantConfig['alerts']>['routes']>; tenantOf: (cluster: string, account: string | undefined) => string | undefined } | undefined {
  if (!config?.enabled) return undefined;
  const tenancy = new Tenancy(config, region);
  const routes = Object.fromEntries(Object.entries(config.tenants).flatMap(([name, t]) => (t.alerts?.routes.length ? [[name, t.alerts.routes]] : [])));
  const sole = (cluster: string): string | undefined => {
    const owners = tenancy.names().filter((name) => matchAny(tenancy.localClusters(name), cluster) !== undefined);
    return owners.length === 1 ? owners[0] : undefined;
  };
  return Object.keys(routes).length ? { routes, tenantOf: (cluster, account) => (account === undefined ? sole(cluster) : tenancy.tenantOf(cluster, account)) } : undefined;
}
