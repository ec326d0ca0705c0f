// /api/v1/backups: take a backup now, list the backups of every destination, verify one. The
// audit hook records each call; a failed run answers 502 naming the destination that failed.
import type { FastifyInstance } from 'fastify';
import { setAuditContext } from '../../audit/index.js';
import { AUDIT_PART_PATH, BackupNotConfiguredError, type BackupService } from '../../backup/index.js';
import type { RouteDeps } from './route-deps.js';

const ID = { type: 'string', maxLength: 40 } as const;

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const OUTCOME = { type: 'object', required: ['destination', 'ok'], properties: { destination: str, ok: { type: 'boolean' }, error: str } } as const;
const RUN = { type: 'object', required: ['id', 'created_at', 'objects', 'bytes', 'destinations'], properties: { id: str, created_at: str, objects: int, bytes: int, destinations: { type: 'array', items: OUTCOME } } } as const;
const ERRORS = { type: 'array', items: { type: 'object', required: ['destination', 'error'], properties: { destination: str, error: str } } } as const;
const LISTING = {
  type: 'object',
  required: ['items', 'errors'],
  properties: {
    items: { type: 'array', items: { type: 'object', required: ['destination', 'id', 'created_at', 'hub_id', 'objects', 'bytes'], properties: { destination: str, id: str, created_at: str, hub_id: str, objects: int, bytes: int } } },
    errors: ERRORS,
  },
} as const;
const VERIFIED = {
  type: 'object',
  required: ['ok', 'results'],
  properties: {
    ok: { type: 'boolean' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['destination', 'id', 'ok', 'objects'],
        properties: { destination: str, id: str, ok: { type: 'boolean' }, objects: int, error: str, audit_chain: { type: 'object', required: ['ok', 'records'], properties: { ok: { type: 'boolean' }, records: int, reason: str } } },
      },
    },
  },
} as const;

function service(deps: RouteDeps): BackupService {
  if (!deps.backups) throw new BackupNotConfiguredError();
  return deps.backups;
}

export function registerBackupRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post('/api/v1/backups', { config: { permission: 'backup:create' }, schema: { summary: 'Take a backup now and write it to every destination', response: { 200: RUN } } }, async (request) => {
    setAuditContext(request, { resource: 'backup' });
    const run = await service(deps).create();
    setAuditContext(request, { resource: `backup ${run.id}` });
    return run;
  });

  // A group backup taken by another hub fetches this hub's audit chain (group-parts.ts).
  app.post(
    AUDIT_PART_PATH,
    { config: { permission: 'hub:forward' }, schema: { summary: "This hub's audit chain, for a group backup another hub of the group takes (hub certificates of the group only)", response: { 200: { type: 'object', additionalProperties: true } } } },
    async (request) => {
      const backups = service(deps);
      setAuditContext(request, { resource: 'audit chain (group backup)' });
      return backups.auditPart((request as { principal?: { role: string; name: string } }).principal);
    },
  );

  app.get('/api/v1/backups', { config: { permission: 'backup:read' }, schema: { summary: 'The complete backups of every destination, oldest first', response: { 200: LISTING } } }, async () => service(deps).list());

  app.post(
    '/api/v1/backups/:id/verify',
    {
      config: { permission: 'backup:verify' },
      schema: {
        summary: 'Decrypt every object of a backup and check every checksum; deep: restore it into a scratch directory and verify its audit chain',
        params: { type: 'object', required: ['id'], properties: { id: ID } },
        querystring: { type: 'object', additionalProperties: false, properties: { deep: { type: 'boolean' }, destination: { type: 'string', maxLength: 200 } } },
        response: { 200: VERIFIED },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const q = request.query as { deep?: boolean; destination?: string };
      setAuditContext(request, { resource: `backup ${id}` });
      const results = await service(deps).verify(id, { deep: q.deep === true, ...(q.destination ? { destination: q.destination } : {}) });
      return { ok: results.every((r) => r.ok), results };
    },
  );
}
