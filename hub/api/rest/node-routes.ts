// GET /api/v1/nodes (filtered, paged, region or global) and one node; its commands are in command-routes.ts.
import type { FastifyInstance } from 'fastify';
import { nodeActions } from '../allowed-actions.js';
import { visibleNode, visibleNodes } from '../visible-queries.js';
import { nodeView } from '../views.js';
import { globalPageQuery, scopeQuery, str } from './query-schemas.js';
import { access, forwarded, narrowGlobal } from './request-access.js';
import { nodeSchema, pageOf } from './response-schemas.js';
import type { RouteDeps } from './route-deps.js';

export function registerNodeRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { state } = deps;

  app.get(
    '/api/v1/nodes',
    {
      config: { permission: 'nodes:read' },
      schema: {
        summary: 'Nodes across the fleet',
        querystring: { type: 'object', additionalProperties: false, properties: { cluster: str, state: str, partition: str, ...globalPageQuery, ...scopeQuery } },
        response: { 200: pageOf(nodeSchema) },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | number | undefined>;
      const actions = nodeActions(access(request));
      const local = (limit?: number, cursor?: string): { items: object[]; next_cursor: string | null } => {
        const page = visibleNodes(state, access(request), { cluster: q.cluster as string, state: q.state as string, partition: q.partition as string }, limit, cursor);
        return { items: page.items.map((n) => ({ ...nodeView(n), actions: actions(n) })), next_cursor: page.next_cursor ?? null };
      };
      return q.scope === 'global' && deps.federation
        ? narrowGlobal(await deps.federation.query('nodes', q, local, forwarded(request)), request, 'nodes', 'node')
        : local(q.limit as number | undefined, q.cursor as string | undefined);
    },
  );

  app.get('/api/v1/nodes/:cluster/:name', { config: { permission: 'nodes:read' }, schema: { summary: 'One node', params: { type: 'object', properties: { cluster: str, name: str } }, response: { 200: nodeSchema } } }, async (request) => {
    const { cluster, name } = request.params as { cluster: string; name: string };
    const node = visibleNode(state, access(request), cluster, name);
    return { ...nodeView(node), actions: nodeActions(access(request))(node) };
  });
}
