// Who belongs to which tenant, and which tenant a job belongs to. A person is a member by login
// name, group or Slurm account (globs); a job belongs to the tenant of its (cluster, account).
// A person in several tenants acts in one per request (X-Sfleet-Tenant / --tenant).
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

export class Tenancy implements TenantResolver {
  private readonly tenants: [string, TenantConfig][];

  constructor(readonly config: MultiTenancyConfig) {
    this.tenants = Object.entries(config.tenants);
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
      if (matchAny(t.clusters, cluster) && (account === undefined ? t.accounts.includes('*') : matchAny(t.accounts, account))) return name;
    }
    return undefined;
  }

  /** The rows a tenant owns: its clusters and, on them, its accounts (nodes and partitions carry no account: shared). */
  clauses(tenant: string): FilterClause[] {
    const t = this.tenant(tenant);
    return t ? [{ cluster: [...t.clusters], account: [...t.accounts] }] : [];
  }

  private scope(m: Membership): TenantScope {
    return { name: m.tenant, via: m.via, clauses: this.clauses(m.tenant), ...(this.config.isolation_mode === 'shared' ? { aggregates: true } : {}) };
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
export function tenantAlertRoutes(config: MultiTenancyConfig | undefined): { routes: Record<string, NonNullable<TenantConfig['alerts']>['routes']>; tenantOf: (cluster: string, account: string | undefined) => string | undefined } | undefined {
  if (!config?.enabled) return undefined;
  const tenancy = new Tenancy(config);
  const routes = Object.fromEntries(Object.entries(config.tenants).flatMap(([name, t]) => (t.alerts?.routes.length ? [[name, t.alerts.routes]] : [])));
  const sole = (cluster: string): string | undefined => {
    const owners = Object.entries(config.tenants).filter(([, t]) => matchAny(t.clusters, cluster) !== undefined);
    return owners.length === 1 ? owners[0][0] : undefined;
  };
  return Object.keys(routes).length ? { routes, tenantOf: (cluster, account) => (account === undefined ? sole(cluster) : tenancy.tenantOf(cluster, account)) } : undefined;
}
