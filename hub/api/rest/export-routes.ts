// GET /api/v1/export/{history,jobs,nodes,events,audit}: one file (csv, json, ndjson, parquet,
// avro) under the caller's row filter for that resource. Full, or incremental with the cursor of
// the last export (answered in the x-sfleet-cursor header before the body). Each is audited
// (<resource>:export) with the format and the row count.
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PseudonymKeyMissingError } from '../../compliance/index.js';
import { EXPORT_FORMATS, exportHistory, filterFingerprint, type ExportFormat } from '../../export/index.js';
import { exportQuery, exportResponse, sendExport } from './export-answer.js';
import { filterOf, filterQuery, service } from './history-routes.js';
import { access } from './request-access.js';
import type { RouteDeps } from './route-deps.js';

export function registerExportRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'history' | 'exportScratchDir' | 'pseudonymize'>): void {
  app.get(
    '/api/v1/export/history',
    {
      config: { permission: 'history:export' },
      schema: {
        summary: `The job history as one file (${EXPORT_FORMATS.join(', ')}), full or since the cursor of the last export (x-sfleet-cursor); Avro schema: docs/schemas/history-export.avsc`,
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['format'],
          properties: { ...filterQuery, ...exportQuery, pseudonymize: { type: 'boolean' } },
        },
        response: exportResponse,
      },
    },
    async (request, reply) => {
      const q = request.query as Record<string, unknown>;
      const history = service(deps);
      const format = q.format as ExportFormat;
      const { format: _f, cursor, pseudonymize, ...raw } = q;
      // GDPR: user names as keyed HMAC pseudonyms (the hub needs the gdpr framework and its key).
      if (pseudonymize === true && !deps.pseudonymize) throw new PseudonymKeyMissingError();
      const result = await exportHistory(
        { engine: history.engine, store: history.store, scratchDir: deps.exportScratchDir ?? path.join(history.dir, 'export-scratch') },
        { format, filter: filterOf(raw), fingerprint: filterFingerprint(raw), rows: access(request).rows('history', 'export').toJSON(), cursor: (cursor as string | undefined) || undefined, ...(pseudonymize === true ? { pseudonymize: deps.pseudonymize } : {}) },
      );
      return sendExport(request, reply, `history export ${format}${pseudonymize === true ? ' (pseudonymised)' : ''}`, result, !!cursor);
    },
  );
}
