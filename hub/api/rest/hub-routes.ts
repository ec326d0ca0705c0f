// The hub itself: liveness and readiness probes (public), its metrics, and the region's members.
import type { FastifyInstance } from 'fastify';
import { filterExposition, tenantSeries } from '../../metrics/index.js';
import { access, optionalAccess } from './request-access.js';
import type { RouteDeps } from './route-deps.js';
import { healthSchema, membersSchema, readinessSchema, textAnswer } from './response-schemas.js';

export function registerProbeRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'readiness' | 'metrics' | 'metricsPath' | 'health'>): void {
  // Alive either way (200): a degraded hub still serves; the reasons say what it cannot promise.
  app.get('/healthz', { config: { public: true }, schema: { summary: 'Liveness, and degraded with reasons when a store cannot write or Redis may evict', response: { 200: healthSchema } } }, async () =>
    deps.health ? deps.health() : { status: 'ok', reasons: [] },
  );

  app.get('/readyz', { config: { public: true }, schema: { summary: 'Readiness: the data directory is loaded and listeners are up (the checks only to fleet-wide callers with hub:read)', response: { 200: readinessSchema, 503: readinessSchema } } }, async (request, reply) => {
    const r = deps.readiness();
    // Public: ready or not. The checks name clusters and members: only for a fleet-wide caller that may read the hubs.
    const a = optionalAccess(request);
    const detail = !!a && !a.tenant && a.decide('hub:read').allowed;
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', ...(detail ? { checks: r.checks } : {}) });
  });

  const metrics = deps.metrics;
  if (!metrics) return;
  app.get(deps.metricsPath ?? '/metrics', { config: { permission: 'metrics:read' }, schema: { summary: "Prometheus metrics (a caller acting in a tenant gets its tenant's series only)", response: { 200: textAnswer('text/plain') } } }, async (request, reply) => {
    const m = await metrics();
    const a = access(request);
    const tenant = a.tenant;
    // Fleet-wide callers (operators) get everything; a tenant its own clusters' and accounts' series.
    const body = tenant ? filterExposition(m.body, tenantSeries(tenant.name ?? '', (o) => !!tenant.name && a.inTenant(o))) : m.body;
    return reply.type(m.contentType).send(body);
  });
}

export function registerMembersRoute(app: FastifyInstance, deps: Pick<RouteDeps, 'members'>): void {
  app.get(
    '/api/v1/hubs',
    { config: { permission: 'hub:read' }, schema: { summary: "The region's hub instances: health, leader, what each ingests (from etcd; standalone: this hub)", response: { 200: membersSchema } } },
    async (request) => {
      const list = deps.members ? ((await deps.members()) as { items?: Record<string, unknown>[] }) : { items: [] };
      const rows = access(request).rows('cluster');
      if (rows.unrestricted) return list;
      // A member names the clusters it ingests and cannot vouch for: only those the caller may see.
      const mine = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]).filter((name) => rows.allows('cluster', { name })) : []);
      return { ...list, items: (list.items ?? []).map((m) => ({ ...m, ingesting: mine(m.ingesting), stale_clusters: mine(m.stale_clusters) })) };
    },
  );
}
