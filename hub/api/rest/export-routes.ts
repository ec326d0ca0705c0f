// GET /api/v1/export/{history,jobs,nodes,events,audit}: one file (csv, json, ndjson, parquet,
// avro) under the caller's row filter for that resource. Full, or incremental with the cursor of
// the last export (answered in the x-sfleet-cursor header before the body). Each is audited
// (<resource>:export) with the format and the row count.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CURSOR_HEADER, ROWS_HEADER } from '../../../shared/export/index.js';
import { setAuditContext } from '../../audit/index.js';
import { PseudonymKeyMissingError } from '../../compliance/index.js';
import { CONTENT_TYPES, EXPORT_FORMATS, exportHistory, filterFingerprint, MAX_CURSOR_LENGTH, type ExportFormat } from '../../export/index.js';
import { registerFleetExportRoutes } from './fleet-export-routes.js';
import { filterOf, filterQuery, service } from './history-routes.js';
import { access } from './request-access.js';
import type { RouteDeps } from './route-deps.js';

// The body is a file in the asked format (a stream: no serializer touches it).
export const exportResponse = {
  200: {
    description: 'The export file; headers x-sfleet-cursor (the next cursor) and x-sfleet-export-rows',
    content: Object.fromEntries(Object.values(CONTENT_TYPES).map((type) => [type.split(';')[0], { schema: { type: 'string', format: 'binary' } }])),
  },
} as const;

export const exportQuery = { format: { type: 'string', enum: [...EXPORT_FORMATS] }, cursor: { type: 'string', maxLength: MAX_CURSOR_LENGTH } } as const;

/** Where a Parquet export is written first: the history's scratch directory, else a private one under the system's temp. */
export function scratchDirOf(deps: Pick<RouteDeps, 'history' | 'exportScratchDir'>): string {
  if (deps.exportScratchDir) return deps.exportScratchDir;
  if (deps.history) return path.join(deps.history.dir, 'export-scratch');
  const dir = path.join(tmpdir(), `sfleet-export-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The answer of every export: its cursor and row count in headers, then the file. */
export function sendExport(request: FastifyRequest, reply: import('fastify').FastifyReply, what: string, result: { rows: number; cursor: string; contentType: string; body: unknown }, incremental: boolean) {
  setAuditContext(request, { resource: `${what}${incremental ? ' (incremental)' : ''} (${result.rows} rows)` });
  void reply.type(result.contentType).header(CURSOR_HEADER, result.cursor).header(ROWS_HEADER, String(result.rows));
  return reply.send(result.body);
}


export function registerExportRoutes(app: FastifyInstance, deps: RouteDeps): void {
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
        { format, filter: filterOf(raw), fingerprint: filterFingerprint(raw), rows: access(request).rows('history', 'export').toJSON(), cursor: cursor as string | undefined, ...(pseudonymize === true ? { pseudonymize: deps.pseudonymize } : {}) },
      );
      return sendExport(request, reply, `history export ${format}${pseudonymize === true ? ' (pseudonymised)' : ''}`, result, !!cursor);
    },
  );
  registerFleetExportRoutes(app, deps);
}
