// GET /api/v1/quotas: usage against every limit. A caller acting in a tenant sees its tenant's
// quotas only; a fleet-wide caller sees every tenant's (or those it names).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Visibility } from '../policy/index.js';
import type { QuotaBook } from './quotas.js';

export function registerQuotaRoutes(app: FastifyInstance, book: QuotaBook): void {
  app.get(
    '/api/v1/quotas',
    {
      config: { permission: 'quota:read' },
      schema: {
        summary: "Quotas: each tenant's, account's and user's usage against its limits, the schedule in force and when it switches next",
        querystring: { type: 'object', additionalProperties: false, properties: { tenant: { type: 'string', maxLength: 64 } } },
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
