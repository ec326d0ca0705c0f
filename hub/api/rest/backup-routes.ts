// /api/v1/backups: take a backup now, list the backups of every destination, verify one. The
// audit hook records each call; a failed run answers 502 naming the destination that failed.
import type { FastifyInstance } from 'fastify';
import { setAuditContext } from '../../audit/index.js';
import { BackupNotConfiguredError, type BackupService } from '../../backup/index.js';
import type { RouteDeps } from './route-deps.js';

const ID = { type: 'string', maxLength: 40 } as const;

function service(deps: RouteDeps): BackupService {
  if (!deps.backups) throw new BackupNotConfiguredError();
  return deps.backups;
}

export function registerBackupRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post('/api/v1/backups', { config: { permission: 'backup:create' }, schema: { summary: 'Take a backup now and write it to every destination' } }, async (request) => {
    setAuditContext(request, { resource: 'backup' });
    const run = await service(deps).create();
    setAuditContext(request, { resource: `backup ${run.id}` });
    return run;
  });

  app.get('/api/v1/backups', { config: { permission: 'backup:read' }, schema: { summary: 'The complete backups of every destination, oldest first' } }, async () => service(deps).list());

  app.post(
    '/api/v1/backups/:id/verify',
    {
      config: { permission: 'backup:verify' },
      schema: {
        summary: 'Decrypt every object of a backup and check every checksum; deep: restore it into a scratch directory and verify its audit chain',
        params: { type: 'object', required: ['id'], properties: { id: ID } },
        querystring: { type: 'object', additionalProperties: false, properties: { deep: { type: 'boolean' }, destination: { type: 'string', maxLength: 200 } } },
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
