// The hub itself: liveness and readiness probes (public), its metrics, and the region's members.
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.js';

export function registerProbeRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'readiness' | 'metrics' | 'metricsPath'>): void {
  app.get('/healthz', { config: { public: true }, schema: { summary: 'Liveness' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { public: true }, schema: { summary: 'Readiness: the data directory is loaded and listeners are up' } }, async (_req, reply) => {
    const r = deps.readiness();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });

  const metrics = deps.metrics;
  if (!metrics) return;
  app.get(deps.metricsPath ?? '/metrics', { config: { permission: 'metrics:read' }, schema: { summary: 'Prometheus metrics' } }, async (_req, reply) => {
    const m = await metrics();
    return reply.type(m.contentType).send(m.body);
  });
}

export function registerMembersRoute(app: FastifyInstance, deps: Pick<RouteDeps, 'members'>): void {
  app.get(
    '/api/v1/hubs',
    { config: { permission: 'hub:read' }, schema: { summary: "The region's hub instances: health, leader, what each ingests (from etcd; standalone: this hub)" } },
    async () => (deps.members ? deps.members() : { items: [] }),
  );
}
