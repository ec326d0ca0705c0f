// GET /api/v1/events: the fleet event log (controller failover...), under the cluster row filter.
import type { FastifyInstance } from 'fastify';
import { BadRequestError } from '../../../shared/errors/index.js';
import { parseSince } from '../../events/index.js';
import { str } from './query-schemas.js';
import { access } from './request-access.js';
import type { RouteDeps } from './route-deps.js';

const EVENT_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    cluster: { type: 'string' },
    type: { type: 'string' },
    severity: { type: 'string' },
    message: { type: 'string' },
    occurred_at: { type: 'string' },
    received_at: { type: 'string' },
    attributes: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

export function registerEventRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'events'>): void {
  app.get(
    '/api/v1/events',
    {
      config: { permission: 'cluster:read' },
      schema: {
        summary: 'Fleet events (controller_failover, controller_down, controller_up), oldest first: the newest `limit` that match',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { cluster: str, type: str, since: str, limit: { type: 'integer', minimum: 1, maximum: 5000, default: 500 } },
        },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: EVENT_SCHEMA } } } },
      },
    },
    async (request) => {
      const q = request.query as { cluster?: string; type?: string; since?: string; limit: number };
      let sinceMs: number | undefined;
      if (q.since) {
        sinceMs = parseSince(q.since, Date.now());
        if (sinceMs === undefined) throw new BadRequestError(`since: "${q.since}" is neither an ISO-8601 time nor a duration such as 15m or 2h`);
      }
      const types = q.type ? q.type.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
      const rows = access(request).rows('cluster');
      // A tenant pinned to one cluster asks the log for that cluster, so `limit` counts its events.
      const only = rows.fixed('cluster');
      const cluster = q.cluster || (only?.length === 1 ? only[0] : undefined);
      const allow = rows.unrestricted ? undefined : (e: object): boolean => rows.allows('event', e);
      return { items: deps.events?.list({ cluster, types, sinceMs, limit: q.limit, ...(allow ? { allow } : {}) }) ?? [] };
    },
  );
}
