// GET /api/v1/quotas: usage against every limit; GET /api/v1/quotas/history: how that usage went.
// A caller acting in a tenant sees its tenant's quotas only; a fleet-wide caller sees every
// tenant's (or those it names). Both under quota:read, audited by the root hook like every read.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError } from '../../shared/errors/index.js';
import { parseSince } from '../events/index.js';
import type { Visibility } from '../policy/index.js';
import type { QuotaHistory } from './history.js';
import { LIMITS, type QuotaBook } from './quotas.js';

const s = { type: 'string' } as const;
const sn = { type: ['string', 'null'] } as const;
/** The answer's schema (serializes it, and types the dashboard's client): TenantQuotas[] under items. */
const QUOTAS = {
  type: 'object',
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: true, required: ['tenant', 'schedule', 'limits'],
        properties: {
          tenant: s,
          schedule: { type: 'object', additionalProperties: true, required: ['active', 'next_switch_at'], properties: { active: sn, next_switch_at: sn } },
          limits: {
            type: 'array',
            items: {
              type: 'object', additionalProperties: true, required: ['scope', 'subject', 'limit', 'value', 'usage', 'over'],
              properties: { scope: { type: 'string', enum: ['tenant', 'account', 'user'] }, subject: s, limit: { type: 'string', enum: [...LIMITS] }, value: { type: 'number' }, usage: { type: 'number' }, over: { type: 'boolean' } },
            },
          },
        },
      },
    },
  },
} as const;

const SCOPES = ['tenant', 'account', 'user'] as const;
/** The history's answer: a series per quota line, its points oldest first (coarser as they age). */
const HISTORY = {
  type: 'object',
  required: ['items', 'sampling'],
  properties: {
    sampling: { type: 'boolean', description: "Whether this hub samples now (the leader of a hub group). In a group with Redis every hub answers the region's history; without Redis, a hub that does not lead answers what it kept when it led" },
    items: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['tenant', 'scope', 'subject', 'limit', 'points'],
        properties: {
          tenant: s, scope: { type: 'string', enum: [...SCOPES] }, subject: s, limit: { type: 'string', enum: [...LIMITS] },
          points: {
            type: 'array',
            items: { type: 'object', additionalProperties: false, required: ['at', 'usage', 'value'], properties: { at: { ...s, description: 'Start of the step (ISO 8601)' }, usage: { type: 'number', description: 'Highest usage in the step' }, value: { type: 'number', description: 'The limit at the end of the step' } } },
          },
        },
      },
    },
  },
} as const;

export function registerQuotaRoutes(app: FastifyInstance, book: QuotaBook, history?: { store: QuotaHistory; sampling: () => boolean }): void {
  app.get(
    '/api/v1/quotas',
    {
      config: { permission: 'quota:read' },
      schema: {
        summary: "Quotas: each tenant's, account's and user's usage against its limits, the schedule in force and when it switches next",
        querystring: { type: 'object', additionalProperties: false, properties: { tenant: { type: 'string', maxLength: 64 } } },
        response: { 200: QUOTAS },
      },
    },
    async (request) => {
      const access = (request as FastifyRequest & { access: Visibility }).access;
      const q = request.query as { tenant?: string };
      const tenant = access.tenant;
      if (tenant) return { items: tenant.name ? book.report([tenant.name]) : [] };
      return { items: book.report(q.tenant ? [q.tenant] : undefined) };
    },
  );
  if (!history) return;
  app.get(
    '/api/v1/quotas/history',
    {
      config: { permission: 'quota:read' },
      schema: {
        summary: 'Quota history: usage against each limit over time (each sample for 3 h, then 15-minute and hourly steps, kept 30 days)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tenant: { type: 'string', maxLength: 64 },
            scope: { type: 'string', enum: [...SCOPES] },
            subject: { type: 'string', maxLength: 256 },
            limit: { type: 'string', enum: [...LIMITS] },
            since: { type: 'string', maxLength: 64, default: '24h', description: 'A duration back from now (6h, 7d) or an ISO-8601 time' },
          },
        },
        response: { 200: HISTORY },
      },
    },
    async (request) => {
      const access = (request as FastifyRequest & { access: Visibility }).access;
      const q = request.query as { tenant?: string; scope?: (typeof SCOPES)[number]; subject?: string; limit?: (typeof LIMITS)[number]; since: string };
      const sinceMs = parseSince(q.since, Date.now());
      if (sinceMs === undefined) throw new BadRequestError(`since: "${q.since}" is neither an ISO-8601 time nor a duration such as 6h or 7d`);
      const tenant = access.tenant;
      // A tenant caller: its own tenant only, whatever it names.
      const tenants = tenant ? (tenant.name && (!q.tenant || q.tenant === tenant.name) ? [tenant.name] : []) : q.tenant ? [q.tenant] : undefined;
      const filter = { ...(tenants ? { tenants } : {}), ...(q.scope ? { scope: q.scope } : {}), ...(q.subject !== undefined ? { subject: q.subject } : {}), ...(q.limit ? { limit: q.limit } : {}), sinceMs };
      return { sampling: history.sampling(), items: await history.store.answer(filter) };
    },
  );
}
