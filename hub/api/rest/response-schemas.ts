// The success answers' JSON schemas: fastify serializes each answer with its route's schema (only
// declared fields leave the hub) and the OpenAPI document publishes the same objects, so the
// generated client's types are what the hub sends.
const s = { type: 'string' } as const;
const sn = { type: ['string', 'null'] } as const;
const i = { type: 'integer' } as const;
const n = { type: 'number' } as const;
const inull = { type: ['integer', 'null'] } as const;
const nnull = { type: ['number', 'null'] } as const;
const b = { type: 'boolean' } as const;
const strings = { type: 'array', items: s } as const;
const counts = { type: 'object', additionalProperties: i } as const;

function object(properties: Record<string, object>, optional: string[] = []): object {
  return { type: 'object', additionalProperties: false, required: Object.keys(properties).filter((k) => !optional.includes(k)), properties };
}

/** The commands the caller may run on the row (decided by the gate: hub/api/allowed-actions.ts). */
const actions = { type: 'array', items: { type: 'string', enum: ['cancel', 'hold', 'release', 'requeue', 'drain', 'resume'] }, description: 'Commands this caller may run on this object now' } as const;

export const jobSchema = object({
  cluster: s, id: i, array_job_id: inull, array_task_id: inull, array_task_string: sn, het_job_id: inull, het_job_offset: inull,
  name: s, user: s, account: s, partition: s, qos: s, state: s, state_flags: strings, state_reason: s, nodes: strings, node_list: s,
  submit_time: sn, start_time: sn, end_time: sn, exit_code: inull, exit_signal: inull, cpus: i, node_count: i, memory_mb: nnull,
  time_limit_s: inull, priority: nnull, working_dir: s, comment: s, tres: s, actions, region: s,
}, ['actions', 'region']);

export const nodeSchema = object({
  cluster: s, name: s, state: s, flags: strings, reason: s, cpus: i, alloc_cpus: i, memory_mb: n, alloc_memory_mb: n, free_memory_mb: nnull,
  partitions: strings, features: strings, gres: s, cpu_load: nnull, boot_time: sn, last_busy: sn, reason_set_by: s, reason_time: sn,
  address: s, hostname: s, slurm_version: s, actions, region: s,
}, ['actions', 'region']);

/** scope=global answers: the regions that answered and those whose items are missing. */
const globalFields = { regions: strings, partial: strings };

export function pageOf(item: object, extra: Record<string, object> = {}): object {
  return object({ items: { type: 'array', items: item }, next_cursor: sn, ...globalFields, ...extra }, ['next_cursor', 'regions', 'partial', ...Object.keys(extra)]);
}

export const jobPageSchema = pageOf(jobSchema, {
  total: { type: ['integer', 'null'], description: 'Jobs matching the filter (with count=true), at most 100,000' },
  total_capped: { type: 'boolean', description: 'true: at least `total` jobs match (the count stops at 100,000)' },
});

export const clusterStatusSchema = object({
  name: s, connected: b, agent: sn, epoch: i, seq: i, last_delta_at: sn, last_observed_at: sn, slurm_api_version: s, jobs: i, nodes: i, partitions: i,
  owner_hub: sn, stale: b, stale_reason: sn, region: s,
}, ['owner_hub', 'stale', 'stale_reason', 'region']);

const used = object({ total: n, allocated: n });
export const aggregateSchema = object({
  cluster: s,
  nodes_by_state: counts,
  cpus: used,
  memory_mb: used,
  gpus: used,
  jobs_by_state: counts,
  pending_reasons: { type: 'array', items: object({ partition: s, reason: s, jobs: i }) },
  controllers: { type: 'array', items: object({ hostname: s, responding: b, mode: s, observed_at: sn }) },
  region: s,
}, ['region']);

export const commandResultSchema = object({ ok: b, message: s, via: s });
