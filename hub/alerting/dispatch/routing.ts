// Which route(s) an alert takes, and the group it joins there. Routes are tried in order; the
// first match wins unless it says continue. No route matches: the policy named by the alert's
// severity (the brief's short form). Every route's timings default to the top-level keys.
// With tenants, an alert whose (cluster, account) belongs to a tenant tries that tenant's own
// routes (multi_tenancy.tenants.<t>.alerts.routes) first, then the alerting section's.
import { createHash } from 'node:crypto';
import type { AlertingConfig, RouteConfig } from '../config.js';
import type { Alert } from '../model.js';
import { matchesAll, parseMatcher, type Matcher } from '../silences/index.js';

export interface Target {
  /** "r<index>" for a configured route, "s:<severity>" for the severity default. */
  route: string;
  policy?: string;
  channels?: string[];
  group_by: string[];
  group_wait: number;
  group_interval: number;
  repeat_interval: number;
}

/** Tenants' own alert routes, and the tenant an alert's cluster and account belong to. */
export interface TenantRoutes {
  routes: Readonly<Record<string, readonly RouteConfig[]>>;
  tenantOf: (cluster: string, account: string | undefined) => string | undefined;
}

type CompiledRoute = { matchers: Matcher[]; target: Target; continue: boolean };

export class Router {
  private readonly routes: CompiledRoute[];
  private readonly tenantRoutes = new Map<string, CompiledRoute[]>();

  constructor(private readonly config: AlertingConfig, private readonly tenants?: TenantRoutes) {
    this.routes = this.compile(config.routes, 'r');
    for (const [tenant, routes] of Object.entries(tenants?.routes ?? {})) if (routes.length) this.tenantRoutes.set(tenant, this.compile(routes, `t:${tenant}:r`));
  }

  private compile(routes: readonly RouteConfig[], prefix: string): CompiledRoute[] {
    const config = this.config;
    return routes.map((r, i) => ({
      matchers: r.matchers.map(parseMatcher),
      continue: r.continue,
      target: {
        route: `${prefix}${i}`,
        ...(r.policy ? { policy: r.policy } : {}),
        ...(r.channels ? { channels: r.channels } : {}),
        group_by: r.group_by ?? config.group_by,
        group_wait: r.group_wait ?? config.group_wait,
        group_interval: r.group_interval ?? config.group_interval,
        repeat_interval: r.repeat_interval ?? config.repeat_interval,
      },
    }));
  }

  targets(alert: Alert): Target[] {
    const out: Target[] = [];
    const cluster = alert.labels.cluster;
    const tenant = cluster && this.tenants ? this.tenants.tenantOf(cluster, alert.labels.account || undefined) : undefined;
    for (const r of [...((tenant !== undefined && this.tenantRoutes.get(tenant)) || []), ...this.routes]) {
      if (!matchesAll(r.matchers, alert.labels)) continue;
      // A route without policy or channels takes the severity's policy, with its own timings.
      out.push(r.target.policy || r.target.channels ? r.target : { ...r.target, ...this.severityPolicy(alert) });
      if (!r.continue) return out;
    }
    if (out.length) return out;
    const severity = alert.labels.severity ?? '';
    return [{ route: `s:${severity}`, ...this.severityPolicy(alert), group_by: this.config.group_by, group_wait: this.config.group_wait, group_interval: this.config.group_interval, repeat_interval: this.config.repeat_interval }];
  }

  private severityPolicy(alert: Alert): { policy?: string } {
    const severity = alert.labels.severity ?? '';
    return Object.hasOwn(this.config.policies, severity) ? { policy: severity } : {};
  }
}

/** The group's labels: the group_by labels of the alert ("..." takes them all). */
export function groupLabels(target: Target, alert: Alert): Record<string, string> {
  if (target.group_by.includes('...')) return { ...alert.labels };
  const out: Record<string, string> = {};
  for (const l of target.group_by) out[l] = alert.labels[l] ?? '';
  return out;
}

export function groupKey(target: Target, labels: Record<string, string>): string {
  const body = Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',');
  return `${target.route}:{${body}}`;
}

export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 20);
}
