// GET /api/v1/export/history: the job history as a streamed file (csv, json, ndjson, parquet,
// avro) under the caller's history row filter. Full, or incremental with the cursor of the last
// export (answered in the x-sfleet-cursor header before the body). Audited as history:export
// with the format and the row count.
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { CURSOR_HEADER, ROWS_HEADER } from '../../../shared/export/index.js';
import { setAuditContext } from '../../audit/index.js';
import { PseudonymKeyMissingError } from '../../compliance/index.js';
import { CONTENT_TYPES, EXPORT_FORMATS, exportHistory, filterFingerprint, type ExportFormat } from '../../export/index.js';
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
          properties: { ...filterQuery, format: { type: 'string', enum: [...EXPORT_FORMATS] }, cursor: { type: 'string', maxLength: 512 }, pseudonymize: { type: 'boolean' } },
        },
        // The body is a file in the asked format (a stream: no serializer touches it).
        response: {
          200: {
            description: 'The export file; headers x-sfleet-cursor (the next cursor) and x-sfleet-export-rows',
            content: Object.fromEntries(Object.values(CONTENT_TYPES).map((type) => [type.split(';')[0], { schema: { type: 'string', format: 'binary' } }])),
          },
        },
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
        { format, filter: filterOf(raw), fingerprint: filterFingerprint(raw), rows: access(request).rows('history', 'export').toJSON(), cursor: cursor as string | undefined, ...(pseudonymize === true ? { pseudonymize: deps.pseudonymize } : {}) },
      );
      setAuditContext(request, { resource: `history export ${format}${cursor ? ' (incremental)' : ''}${pseudonymize === true ? ' (pseudonymised)' : ''} (${result.rows} rows)` });
      void reply.type(result.contentType).header(CURSOR_HEADER, result.cursor).header(ROWS_HEADER, String(result.rows));
      return reply.send(result.body);
    },
  );
}
