// What every export route shares: the query's format and cursor, the answer (a file, with the next
// cursor and the row count in headers, audited with the row count), the Parquet scratch directory.
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CURSOR_HEADER, ROWS_HEADER } from '../../../shared/export/index.js';
import { setAuditContext } from '../../audit/index.js';
import { CONTENT_TYPES, EXPORT_FORMATS, MAX_CURSOR_LENGTH } from '../../export/index.js';
import type { RouteDeps } from './route-deps.js';

// The body is a file in the asked format (a stream: no serializer touches it).
export const exportResponse = {
  200: {
    description: 'The export file; headers x-sfleet-cursor (the next cursor) and x-sfleet-export-rows',
    content: Object.fromEntries(Object.values(CONTENT_TYPES).map((type) => [type.split(';')[0], { schema: { type: 'string', format: 'binary' } }])),
  },
} as const;

export const exportQuery = { format: { type: 'string', enum: [...EXPORT_FORMATS] }, cursor: { type: 'string', maxLength: MAX_CURSOR_LENGTH } } as const;

/** Where a Parquet export is written first: the configured or the history's scratch directory; undefined: neither. */
export function scratchDirOf(deps: Pick<RouteDeps, 'history' | 'exportScratchDir'>): string | undefined {
  return deps.exportScratchDir ?? (deps.history ? path.join(deps.history.dir, 'export-scratch') : undefined);
}

/** The answer of every export: its cursor and row count in headers, then the file. */
export function sendExport(request: FastifyRequest, reply: FastifyReply, what: string, result: { rows: number; cursor: string; contentType: string; body: unknown }, incremental: boolean) {
  setAuditContext(request, { resource: `${what}${incremental ? ' (incremental)' : ''} (${result.rows} rows)` });
  void reply.type(result.contentType).header(CURSOR_HEADER, result.cursor).header(ROWS_HEADER, String(result.rows));
  return reply.send(result.body);
}


