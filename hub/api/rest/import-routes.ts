// POST /api/v1/history/import (history:import): runs from an export (sfleet import history
// FILE...), upserted by the history key (cluster, job_id, submit_time), so importing the same
// file twice changes nothing. Each batch is validated whole before anything is written: a bad
// row answers 400 naming it, and nothing of the batch is kept. Audited with the row count.
import type { FastifyInstance } from 'fastify';
import { BadRequestError } from '../../../shared/errors/index.js';
import type { HistoryJob, HistoryJobView } from '../../../shared/history/index.js';
import { setAuditContext } from '../../audit/index.js';
import { historyJobSchema, service } from './history-routes.js';
import type { RouteDeps } from './route-deps.js';

/** Rows per request at most; the CLI sends smaller batches (the body limit, http.max_body, decides). */
export const IMPORT_BATCH_MAX = 10_000;

function toJob(v: HistoryJobView, i: number): HistoryJob {
  const time = (name: 'submit_time' | 'start_time' | 'end_time', text: string | null): number | null => {
    if (text === null) return null;
    const t = Date.parse(text);
    if (!Number.isFinite(t)) throw new BadRequestError(`jobs[${i}].${name}: "${text.slice(0, 64)}" is not an ISO-8601 time`);
    return t;
  };
  const submit = time('submit_time', v.submit_time)!;
  const end = time('end_time', v.end_time)!;
  return { ...v, submit_time: submit, start_time: time('start_time', v.start_time), end_time: end };
}

export function registerImportRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'history'>): void {
  app.post(
    '/api/v1/history/import',
    {
      config: { permission: 'history:import' },
      schema: {
        summary: 'Job runs from an export (sfleet import history), upserted by (cluster, job_id, submit_time): importing the same rows again changes nothing',
        body: { type: 'object', additionalProperties: false, required: ['jobs'], properties: { jobs: { type: 'array', maxItems: IMPORT_BATCH_MAX, items: historyJobSchema } } },
        response: { 200: { type: 'object', additionalProperties: false, required: ['rows', 'partitions'], properties: { rows: { type: 'integer' }, partitions: { type: 'integer' } } } },
      },
    },
    async (request) => {
      const history = service(deps);
      const jobs = (request.body as { jobs: HistoryJobView[] }).jobs.map(toJob);
      const result = await history.import(jobs);
      setAuditContext(request, { resource: `history import (${result.rows} rows, ${result.partitions} day partitions)` });
      return result;
    },
  );
}
