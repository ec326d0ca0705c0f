// GET /api/v1/jobs (filtered, sorted, counted, paged, region or global) and one job; its commands
// are in command-routes.ts. Each row carries the commands the caller may run on it (actions).
import type { FastifyInstance } from 'fastify';
import { JOB_SORT_FIELDS, type JobSortField, type SortOrder } from '../../fleet/index.js';
import { jobActions } from '../allowed-actions.js';
import { visibleJob, visibleJobList } from '../visible-queries.js';
import { jobView } from '../views.js';
import { globalPageQuery, scopeQuery, str } from './query-schemas.js';
import { access, forwarded, narrowGlobal } from './request-access.js';
import { jobPageSchema, jobSchema } from './response-schemas.js';
import type { RouteDeps } from './route-deps.js';

const sortQuery = {
  sort: { type: 'string', enum: JOB_SORT_FIELDS, description: 'Order of the rows (default id: cluster, then id)' },
  order: { type: 'string', enum: ['asc', 'desc'] },
  count: { type: 'boolean', description: 'Also count the matches (total, exact up to 100,000)' },
} as const;

export function registerJobRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { state } = deps;

  app.get(
    '/api/v1/jobs',
    {
      config: { permission: 'jobs:read' },
      schema: {
        summary: 'Jobs across the fleet, filtered, sorted and paged',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { cluster: str, state: str, user: str, account: str, partition: str, node: str, ...sortQuery, ...globalPageQuery, ...scopeQuery },
        },
        response: { 200: jobPageSchema },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | number | boolean | undefined>;
      const visibility = access(request);
      const actions = jobActions(visibility);
      const local = (limit?: number, cursor?: string): { items: object[]; next_cursor: string | null; total: number | null; total_capped: boolean } => {
        const filter = { cluster: q.cluster as string, state: q.state as string, user: q.user as string, account: q.account as string, partition: q.partition as string, node: q.node as string };
        const page = visibleJobList(state, visibility, filter, { sort: q.sort as JobSortField, order: q.order as SortOrder, count: q.count === true, limit, cursor });
        return { items: page.items.map((j) => ({ ...jobView(j), actions: actions(j) })), next_cursor: page.next_cursor ?? null, total: page.total, total_capped: page.total_capped };
      };
      return q.scope === 'global' && deps.federation
        ? narrowGlobal(await deps.federation.query('jobs', q, local, forwarded(request)), request, 'jobs', 'job')
        : local(q.limit as number | undefined, q.cursor as string | undefined);
    },
  );

  app.get(
    '/api/v1/jobs/:cluster/:id',
    {
      config: { permission: 'jobs:read' },
      schema: { summary: 'One job', params: { type: 'object', properties: { cluster: str, id: { type: 'string', pattern: '^[0-9]{1,12}$' } } }, response: { 200: jobSchema } },
    },
    async (request) => {
      const { cluster, id } = request.params as { cluster: string; id: string };
      const job = visibleJob(state, access(request), cluster, id);
      return { ...jobView(job), actions: jobActions(access(request))(job) };
    },
  );
}
