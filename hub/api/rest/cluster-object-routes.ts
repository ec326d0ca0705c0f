// The cluster-level objects: partitions (region or global), reservations, QOS, accounts,
// associations and controllers, each under the cluster:read permission and its row filter.
import type { FastifyInstance } from 'fastify';
import { visibleList, visiblePartitions } from '../visible-queries.js';
import { scopeQuery, str } from './query-schemas.js';
import { accountSchema, associationSchema, controllerSchema, pageOf, partitionSchema, qosSchema, reservationSchema } from './response-schemas.js';
import { access, forwarded, narrowGlobal } from './request-access.js';
import type { RouteDeps } from './route-deps.js';

export function registerClusterObjectRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'state' | 'federation'>): void {
  const { state } = deps;

  app.get(
    '/api/v1/partitions',
    { config: { permission: 'cluster:read' }, schema: { summary: 'Partitions', querystring: { type: 'object', additionalProperties: false, properties: { cluster: str, ...scopeQuery } }, response: { 200: pageOf(partitionSchema) } } },
    async (request) => {
      const q = request.query as { cluster?: string; scope?: string };
      const local = (): { items: object[] } => ({ items: visiblePartitions(state, access(request), q.cluster) });
      return q.scope === 'global' && deps.federation ? narrowGlobal(await deps.federation.query('partitions', q, local, forwarded(request)), request, 'cluster', 'partition') : local();
    },
  );

  for (const [path, kind, item] of [
    ['reservations', 'reservation', reservationSchema],
    ['qos', 'qos', qosSchema],
    ['accounts', 'account', accountSchema],
    ['associations', 'association', associationSchema],
    ['controllers', 'controller', controllerSchema],
  ] as const) {
    app.get(
      `/api/v1/${path}`,
      { config: { permission: 'cluster:read' }, schema: { summary: `${path[0].toUpperCase()}${path.slice(1)}`, querystring: { type: 'object', additionalProperties: false, properties: { cluster: str } }, response: { 200: pageOf(item) } } },
      async (request) => ({ items: visibleList(state, access(request), kind, (request.query as { cluster?: string }).cluster || undefined) }),
    );
  }
}
