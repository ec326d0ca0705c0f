// GET /api/v1/export/{jobs,nodes,events,audit}: what the hub holds now (jobs, nodes) or has logged
// (events, this hub's audit chain) as one file, under the caller's row filter for the resource's
// export verb (jobs:export, nodes:export, cluster:export, audit:export). Rows: hub/export/README.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ExportJournal, ExportSourceMissingError, exportAudit, exportEvents, exportFleet, filterFingerprint, type ExportFormat, type SpecExportDeps } from '../../export/index.js';
import { HistoryEngine } from '../../history/index.js';
import type { Node } from '../../../shared/model/index.js';
import { AtRest } from '../../../shared/crypto/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { exportQuery, exportResponse, scratchDirOf, sendExport } from './export-answer.js';
import { filterOf } from './history-routes.js';
import { str } from './query-schemas.js';
import { access } from './request-access.js';
import type { RouteDeps } from './route-deps.js';


const fleetQuery = { cluster: str, user: str, account: str, partition: str, state: str, since: str, until: str } as const;
const query = (properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, required: ['format'], properties: { ...properties, ...exportQuery } });

/** The caller's filter as it wrote it (format and cursor aside): the cursor's fingerprint. */
function asked(q: Record<string, unknown>): Record<string, unknown> {
  const { format: _f, cursor: _c, ...rest } = q;
  return rest;
}

export function registerFleetExportRoutes(app: FastifyInstance, deps: RouteDeps): void {
  // Which jobs and nodes changed after a cursor's (epoch, seq): heard from the state from the first
  // incremental export on, and across graceful restarts (the hub's ExportJournal). It costs every
  // apply, so a hub nobody exports from incrementally does without; a cursor older than its start
  // (after a crash, or from another hub) is refused as too old (SF_EXPORT_CURSOR_TOO_OLD).
  const journals = deps.exportJournal ?? new ExportJournal({ state: deps.state, atRest: AtRest.plaintext(), logger: silentLogger() });
  // Parquet needs the engine: the history's, else one of its own opened on the first Parquet export.
  let own: Promise<HistoryEngine> | undefined;
  const engine = (): Promise<HistoryEngine> => {
    if (deps.history) return Promise.resolve(deps.history.engine);
    // A failed open is tried again by the next Parquet export, not kept as the answer for good.
    own ??= HistoryEngine.open({ threads: 1, memoryLimit: '256MB' }).catch((err: unknown) => {
      own = undefined;
      throw err;
    });
    return own;
  };
  // Without a history directory: a private directory of this process (mkdtemp: 0700, a fresh name).
  let scratch: string | undefined;
  app.addHook('onClose', async () => {
    if (!deps.exportJournal) journals.close();
    if (own) await own.then((e) => e.close(), () => undefined);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });
  const spec = (): SpecExportDeps => ({ engine, scratchDir: scratchDirOf(deps) ?? (scratch ??= mkdtempSync(join(tmpdir(), 'sfleet-export-'))) });

  for (const kind of ['jobs', 'nodes'] as const) {
    app.get(
      `/api/v1/export/${kind}`,
      {
        config: { permission: `${kind}:export` },
        schema: {
          summary: `The ${kind} this hub holds now as one file (${kind === 'jobs' ? 'since/until bound the submit time' : 'filters: cluster, state, partition'}), full or what changed since the cursor of the last export (deletes included); Avro schema: docs/schemas/${kind}-export.avsc`,
          querystring: query(fleetQuery),
          response: exportResponse,
        },
      },
      async (request, reply) => {
        const q = request.query as Record<string, unknown>;
        const f = filterOf(asked(q));
        const visibility = access(request);
        // `cursor=` (empty) opens an incremental series: the journal starts hearing now.
        if (q.cursor !== undefined) journals.start();
        const journal = journals.current;
        const result = await exportFleet(
          { ...spec(), state: deps.state, ...(journal ? { journal } : {}) },
          {
            kind,
            format: q.format as ExportFormat,
            filter: { cluster: f.cluster, user: f.user, account: f.account, partition: f.partition, state: f.state, since: f.since, until: f.until },
            fingerprint: filterFingerprint(asked(q)),
            rows: visibility.rows(kind, 'export'),
            ...(kind === 'nodes' && visibility.tenant ? { view: (n: Node) => visibility.tenantView('node', n) } : {}),
            cursor: (q.cursor as string | undefined) || undefined,
          },
        );
        return sendExport(request, reply, `${kind} export ${String(q.format)}`, result, q.cursor !== undefined);
      },
    );
  }

  app.get(
    '/api/v1/export/events',
    {
      config: { permission: 'cluster:export' },
      schema: {
        summary: 'The fleet events this hub holds as one file (since/until bound occurred_at), full or added since the cursor of the last export; Avro schema: docs/schemas/events-export.avsc',
        querystring: query({ cluster: str, type: str, since: str, until: str }),
        response: exportResponse,
      },
    },
    async (request, reply) => {
      const q = request.query as Record<string, unknown>;
      const f = filterOf(asked(q));
      const rows = access(request).rows('cluster', 'export');
      const result = await exportEvents(
        { ...spec(), ...(deps.events ? { events: deps.events } : {}) },
        {
          format: q.format as ExportFormat,
          fingerprint: filterFingerprint(asked(q)),
          cluster: f.cluster,
          types: typeof q.type === 'string' && q.type ? q.type.split(',').map((t) => t.trim()).filter(Boolean) : undefined,
          since: f.since,
          until: f.until,
          ...(rows.unrestricted ? {} : { allow: (e: object) => rows.allows('event', e) }),
          cursor: q.cursor as string | undefined,
        },
      );
      return sendExport(request, reply, `events export ${String(q.format)}`, result, q.cursor !== undefined);
    },
  );

  app.get(
    '/api/v1/export/audit',
    {
      config: { permission: 'audit:export' },
      schema: {
        summary: "This hub's audit chain as one file (since/until bound the record's time), full or added since the cursor of the last export; Avro schema: docs/schemas/audit-export.avsc",
        querystring: query({ user: { type: 'string', maxLength: 256 }, action: { type: 'string', maxLength: 256 }, since: str, until: str }),
        response: exportResponse,
      },
    },
    async (request, reply) => {
      if (!deps.audit) throw new ExportSourceMissingError('this hub keeps no audit log to export');
      const q = request.query as Record<string, unknown>;
      const f = filterOf(asked(q));
      // A caller acting in a tenant reads the records about its tenant's clusters and accounts only (as GET /api/v1/audit).
      const visibility = access(request);
      const result = await exportAudit(
        { ...spec(), audit: deps.audit },
        {
          format: q.format as ExportFormat,
          fingerprint: filterFingerprint(asked(q)),
          user: q.user as string | undefined,
          action: q.action as string | undefined,
          since: f.since,
          until: f.until,
          ...(visibility.tenant ? { allow: (r) => !!r.tenant?.cluster && visibility.inTenant(r.tenant) } : {}),
          cursor: q.cursor as string | undefined,
        },
      );
      return sendExport(request, reply, `audit export ${String(q.format)}`, result, q.cursor !== undefined);
    },
  );
}
