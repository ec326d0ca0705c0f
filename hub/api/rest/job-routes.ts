// GET /api/v1/jobs (filtered, paged, region or global) and one job; its commands are in command-routes.ts.
import type { FastifyInstance } from 'fastify';
import { visibleJob, visibleJobs } from '../visible-queries.js';
import { jobView } from '../views.js';
import { globalPageQuery, scopeQuery, str } from './query-schemas.js';
import { access, forwarded, narrowGlobal } from './request-access.js';
import type { RouteDeps } from './route-deps.js';

export function registerJobRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { state } = deps;

  app.get(
    '/api/v1/jobs',
    {
      config: { permission: 'jobs:read' },
      schema: {
        summary: 'Jobs across the fleet, filtered and paged',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { cluster: str, state: str, user: str, account: str, partition: str, node: str, ...globalPageQuery, ...scopeQuery },
        },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | number | undefined>;
      const local = (limit?: number, cursor?: string): { items: object[]; next_cursor: string | null } => {
        const page = visibleJobs(
          state,
          access(request),
          { cluster: q.cluster as string, state: q.state as string, user: q.user as string, account: q.account as string, partition: q.partition as string, node: q.node as string },
          limit,
          cursor,
        );
        return { items: page.items.map(jobView), next_cursor: page.next_cursor ?? null };
      };
      return q.scope === 'global' && deps.federation
        ? narrowGlobal(await deps.federation.query('jobs', q, local, forwarded(request)), request, 'jobs', 'job')
        : local(q.limit as number | undefined, q.cursor as string | undefined);
    },
  );

  app.get(
    '/api/v1/jobs/:cluster/:id',
    { config: { permission: 'jobs:read' }, schema: { summary: 'One job', params: { type: 'object', properties: { cluster: str, id: { type: 'string', pattern: '^[0-9]{1,12}$' } } } } },
    async (request) => {
      const { cluster, id } = request.params as { cluster: string; id: string };
      return jobView(visibleJob(state, access(request), cluster, id));
    },
  );
}
