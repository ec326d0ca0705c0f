// GET /api/v1/history/jobs and /api/v1/reports/usage: the job history (Parquet, queried by the
// embedded DuckDB) under the caller's history row filter, which reaches the engine as bound
// parameters. The audit record of each answer names its row count.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError } from '../../../shared/errors/index.js';
import type { HistoryJob } from '../../../shared/history/index.js';
import { setAuditContext } from '../../audit/index.js';
import { parseSince } from '../../events/index.js';
import { HistoryDisabledError, USAGE_GROUPS, usageReport, type HistoryFilter, type HistoryService, type UsageGroup } from '../../history/index.js';
import { str } from './query-schemas.js';
import { access } from './request-access.js';
import type { RouteDeps } from './route-deps.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function historyJobView(j: HistoryJob): Record<string, unknown> {
  return { ...j, submit_time: iso(j.submit_time), start_time: iso(j.start_time), end_time: iso(j.end_time) };
}

const filterQuery = { cluster: str, user: str, account: str, partition: str, qos: str, state: str, job_id: { type: 'integer', minimum: 1 }, since: str, until: str } as const;

function time(name: string, text: string | undefined, now: number): number | undefined {
  if (text === undefined || text === '') return undefined;
  const t = parseSince(text, now);
  if (t === undefined) throw new BadRequestError(`${name}: "${text.slice(0, 64)}" is neither an ISO-8601 time nor a duration such as 30d or 12h`);
  return t;
}

function filterOf(q: Record<string, unknown>): HistoryFilter {
  const now = Date.now();
  const s = (k: string): string | undefined => (typeof q[k] === 'string' && q[k] !== '' ? (q[k] as string) : undefined);
  const filter: HistoryFilter = {
    cluster: s('cluster'), user: s('user'), account: s('account'), partition: s('partition'), qos: s('qos'), state: s('state'),
    job_id: typeof q.job_id === 'number' ? q.job_id : undefined,
    since: time('since', s('since'), now),
    until: time('until', s('until'), now),
  };
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) throw new BadRequestError('since: must be before until');
  return filter;
}

function service(deps: Pick<RouteDeps, 'history'>): HistoryService {
  if (!deps.history) throw new HistoryDisabledError();
  return deps.history;
}

function audited(request: FastifyRequest, what: string, rows: number): void {
  setAuditContext(request, { resource: `${what} (${rows} rows)` });
}

export function registerHistoryRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'history'>): void {
  app.get(
    '/api/v1/history/jobs',
    {
      // Not "history:read": the default audit policy drops *:read, and every history answer is audited.
      config: { permission: 'history:read', audit_action: 'history:query' },
      schema: {
        summary: 'Finished job runs from the job history (one row per run, as sacct --duplicates), newest end first',
        querystring: { type: 'object', additionalProperties: false, properties: { ...filterQuery, limit: { type: 'integer', minimum: 1, maximum: 100_000, default: 1000 } } },
      },
    },
    async (request) => {
      const q = request.query as Record<string, unknown>;
      const history = service(deps);
      const rows = access(request).rows('history').toJSON();
      const items = (await history.store.jobs(filterOf(q), rows, q.limit as number)).map(historyJobView);
      audited(request, 'history/jobs', items.length);
      return { items };
    },
  );

  app.get(
    '/api/v1/reports/usage',
    {
      config: { permission: 'history:report' },
      schema: {
        summary: 'Usage from the job history per account, user, partition or cluster: CPU- and GPU-hours, runs, wait percentiles, failure rate',
        querystring: { type: 'object', additionalProperties: false, properties: { ...filterQuery, by: { type: 'string', enum: Object.keys(USAGE_GROUPS), default: 'account' } } },
      },
    },
    async (request) => {
      const q = request.query as Record<string, unknown>;
      const history = service(deps);
      const rows = access(request).rows('history', 'report').toJSON();
      const items = await usageReport({ engine: history.engine, store: history.store }, q.by as UsageGroup, filterOf(q), rows);
      audited(request, `reports/usage by ${String(q.by)}`, items.length);
      return { by: q.by, items };
    },
  );
}
