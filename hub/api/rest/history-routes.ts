// GET /api/v1/history/jobs and /api/v1/reports/usage: the job history (Parquet, queried by the
// embedded DuckDB) under the caller's history row filter, which reaches the engine as bound
// parameters. The audit record of each answer names its row count.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError } from '../../../shared/errors/index.js';
import type { HistoryJob, HistoryJobView } from '../../../shared/history/index.js';
import { setAuditContext } from '../../audit/index.js';
import { parseSince } from '../../events/index.js';
import { HistoryDisabledError, USAGE_GROUPS, usageReport, type HistoryFilter, type HistoryService, type UsageGroup } from '../../history/index.js';
import { str } from './query-schemas.js';
import { access } from './request-access.js';
import type { RouteDeps } from './route-deps.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function historyJobView(j: HistoryJob): HistoryJobView {
  return { ...j, submit_time: new Date(j.submit_time).toISOString(), start_time: iso(j.start_time), end_time: new Date(j.end_time).toISOString() };
}

export const filterQuery = { cluster: str, user: str, account: str, partition: str, qos: str, state: str, job_id: { type: 'integer', minimum: 1 }, since: str, until: str } as const;

// The answers as they are serialized (and so described in the OpenAPI document for clients).
const int = { type: 'integer' } as const;
const text = { type: 'string' } as const;
const when = { type: 'string', format: 'date-time' } as const;
export const historyJobSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['cluster', 'job_id', 'submit_time', 'start_time', 'end_time', 'name', 'user', 'account', 'partition', 'qos', 'state', 'exit_code', 'exit_signal', 'alloc_tres', 'cpus', 'gpus', 'memory_mb', 'node_count', 'node_list', 'nodes'],
  properties: {
    cluster: text, job_id: int, submit_time: when, start_time: { type: ['string', 'null'], format: 'date-time' }, end_time: when,
    name: text, user: text, account: text, partition: text, qos: text, state: text, exit_code: int, exit_signal: int,
    alloc_tres: text, cpus: int, gpus: int, memory_mb: int, node_count: int, node_list: text, nodes: { type: 'array', items: text },
  },
} as const;
const number = { type: 'number' } as const;
const seconds = { type: ['number', 'null'] } as const;
const usageRowSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['key', 'jobs', 'cpu_hours', 'gpu_hours', 'wait_p50_s', 'wait_p90_s', 'wait_p99_s', 'failed', 'failure_rate'],
  properties: { key: text, jobs: int, cpu_hours: number, gpu_hours: number, wait_p50_s: seconds, wait_p90_s: seconds, wait_p99_s: seconds, failed: int, failure_rate: number },
} as const;

function time(name: string, text: string | undefined, now: number): number | undefined {
  if (text === undefined || text === '') return undefined;
  const t = parseSince(text, now);
  if (t === undefined) throw new BadRequestError(`${name}: "${text.slice(0, 64)}" is neither an ISO-8601 time nor a duration such as 30d or 12h`);
  return t;
}

export function filterOf(q: Record<string, unknown>): HistoryFilter {
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

export function service(deps: Pick<RouteDeps, 'history'>): HistoryService {
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
        response: { 200: { type: 'object', additionalProperties: false, required: ['items'], properties: { items: { type: 'array', items: historyJobSchema } } } },
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
        response: { 200: { type: 'object', additionalProperties: false, required: ['by', 'items'], properties: { by: text, items: { type: 'array', items: usageRowSchema } } } },
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
