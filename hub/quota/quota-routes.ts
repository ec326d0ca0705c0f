// GET /api/v1/quotas: usage against every limit. A caller acting in a tenant sees its tenant's
// quotas only; a fleet-wide caller sees every tenant's (or those it names).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Visibility } from '../policy/index.js';
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

export function registerQuotaRoutes(app: FastifyInstance, book: QuotaBook): void {
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
}
