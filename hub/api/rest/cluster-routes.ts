// GET /api/v1/clusters: each cluster's stream status, with its staleness on a clustered hub.
import type { FastifyInstance } from 'fastify';
import { clusterFreshness } from '../../fleet/index.js';
import { visibleClusterStatuses } from '../visible-queries.js';
import { scopeQuery } from './query-schemas.js';
import { access, forwarded, narrowGlobal } from './request-access.js';
import { aggregateSchema, clusterStatusSchema, pageOf } from './response-schemas.js';
import type { RouteDeps } from './route-deps.js';
import { fleetAggregates } from '../aggregates.js';
import { str } from './query-schemas.js';

function fleetTotals(state: RouteDeps['state']): { clusters: number; jobs: number; nodes: number } {
  let jobs = 0;
  let nodes = 0;
  for (const record of state.clusters.values()) {
    jobs += record.objects.job.size;
    nodes += record.objects.node.size;
  }
  return { clusters: state.clusters.size, jobs, nodes };
}

export function registerClusterRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { state } = deps;

  app.get('/api/v1/clusters', { config: { permission: 'cluster:read' }, schema: { summary: 'Clusters and their stream status', querystring: { type: 'object', additionalProperties: false, properties: { ...scopeQuery } }, response: { 200: pageOf(clusterStatusSchema) } } }, async (request) => {
    const local = (): { items: object[] } => {
      const visibility = access(request);
      const items = visibleClusterStatuses(state, visibility, deps.owner, deps.declared);
      // isolation_mode shared: a tenant also learns the fleet's size, as counts only.
      const fleet = visibility.tenant?.aggregates ? { fleet: fleetTotals(state) } : {};
      if (!deps.stale) return { items, ...fleet };
      const stale = deps.stale();
      return { items: items.map((c) => ({ ...c, ...clusterFreshness(stale, c.name) })), ...fleet };
    };
    const q = request.query as { scope?: string };
    return q.scope === 'global' && deps.federation ? narrowGlobal(await deps.federation.query('clusters', q, local, forwarded(request)), request, 'cluster', 'cluster') : local();
  });

  app.get(
    '/api/v1/aggregates',
    {
      config: { permission: 'cluster:read' },
      schema: {
        summary: "Per cluster: nodes by state, CPU/memory/GPU allocation, jobs by state, top pending reasons (counting only the rows the caller may read)",
        querystring: { type: 'object', additionalProperties: false, properties: { cluster: str, ...scopeQuery } },
        response: { 200: pageOf(aggregateSchema) },
      },
    },
    async (request) => {
      const q = request.query as { cluster?: string; scope?: string };
      const local = (): { items: object[] } => ({ items: fleetAggregates(state, access(request), q.cluster) });
      return q.scope === 'global' && deps.federation ? narrowGlobal(await deps.federation.query('aggregates', q, local, forwarded(request)), request, 'cluster', 'cluster') : local();
    },
  );
}
