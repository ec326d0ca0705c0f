// GET /api/v1/clusters: each cluster's stream status, with its staleness on a clustered hub.
import type { FastifyInstance } from 'fastify';
import { clusterFreshness } from '../../fleet/index.js';
import { visibleClusterStatuses } from '../visible-queries.js';
import { scopeQuery } from './query-schemas.js';
import { access, forwarded, narrowGlobal } from './request-access.js';
import type { RouteDeps } from './route-deps.js';

export function registerClusterRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { state } = deps;

  app.get('/api/v1/clusters', { config: { permission: 'cluster:read' }, schema: { summary: 'Clusters and their stream status', querystring: { type: 'object', additionalProperties: false, properties: { ...scopeQuery } } } }, async (request) => {
    const local = (): { items: object[] } => {
      const items = visibleClusterStatuses(state, access(request), deps.owner);
      if (!deps.stale) return { items };
      const stale = deps.stale();
      return { items: items.map((c) => ({ ...c, ...clusterFreshness(stale, c.name) })) };
    };
    const q = request.query as { scope?: string };
    return q.scope === 'global' && deps.federation ? narrowGlobal(await deps.federation.query('clusters', q, local, forwarded(request)), request, 'cluster', 'cluster') : local();
  });
}
