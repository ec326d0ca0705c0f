// POST /api/v1/jobs/{cluster}: submit a batch job through the cluster's agent (jobs:create).
import type { FastifyInstance } from 'fastify';
import { str } from '../api/rest/query-schemas.js';
import { access } from '../api/rest/request-access.js';
import type { SubmitService } from './submit-service.js';

const count = { type: 'integer', minimum: 1 };
// sbatch's --gpus / --gpus-per-node: a count, or `type:count` as a string.
const gpuCount = { anyOf: [count, { type: 'string', pattern: '^([A-Za-z0-9_.-]{1,64}:)?[0-9]{1,7}$' }] };
export const SUBMIT_BODY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    script: { type: 'string', maxLength: 1024 * 1024 },
    wrap: { type: 'string', maxLength: 65536 },
    partition: str,
    account: str,
    qos: str,
    nodes: count,
    ntasks: count,
    cpus_per_task: count,
    mem_mb: count,
    gres: str,
    gpus: gpuCount,
    gpus_per_node: gpuCount,
    time_minutes: count,
    job_name: str,
    array: str,
    output: str,
    chdir: str,
    export: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

// The answer as serialized (and so typed in the OpenAPI document and the dashboard's client).
const text = { type: 'string' } as const;
export const SUBMIT_ANSWER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['job_id', 'cluster', 'user', 'message', 'idempotency_key'],
  properties: { job_id: { ...text, description: 'Slurm\'s job id' }, cluster: text, user: { ...text, description: 'The Slurm user the job runs as' }, message: text, idempotency_key: text },
} as const;

export function registerSubmitRoute(app: FastifyInstance, submit: SubmitService): void {
  app.post(
    '/api/v1/jobs/:cluster',
    {
      config: { permission: 'jobs:create' },
      bodyLimit: 2 * 1024 * 1024,
      schema: {
        summary: 'Submit a batch job (sbatch flags) as the caller\'s Slurm user, after admission against quota',
        params: { type: 'object', properties: { cluster: str } },
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', maxLength: 128 } } },
        body: SUBMIT_BODY_SCHEMA,
        response: { 201: SUBMIT_ANSWER_SCHEMA },
      },
    },
    async (request, reply) => {
      const { cluster } = request.params as { cluster: string };
      const key = request.headers['idempotency-key'];
      const answer = await submit.submit(access(request), cluster, request.body, typeof key === 'string' ? key : undefined);
      return reply.code(201).send(answer);
    },
  );
}
