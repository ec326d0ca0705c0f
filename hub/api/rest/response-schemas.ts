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
  owner_hub: sn, stale: b, stale_reason: sn, region: s, state: s, declared: b,
}, ['owner_hub', 'stale', 'stale_reason', 'region', 'state', 'declared']);

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

/**
 * An object whose listed fields are typed and whose further fields pass through as they are: for
 * answers assembled elsewhere (decisions, member records, the OpenAPI document) that grow fields.
 */
function open(properties: Record<string, object>, optional: string[] = []): object {
  return { type: 'object', additionalProperties: true, required: Object.keys(properties).filter((k) => !optional.includes(k)), properties };
}
const anyObjects = { type: 'array', items: { type: 'object', additionalProperties: true } } as const;

export const partitionSchema = object({
  cluster: s, name: s, state: s, nodes: strings, node_list: s, total_cpus: i, total_nodes: i, is_default: b, max_time_s: n, default_time_s: n,
  allowed_accounts: strings, allowed_qos: strings, qos: s, region: s,
}, ['max_time_s', 'default_time_s', 'region']);
export const reservationSchema = object({
  cluster: s, name: s, nodes: strings, node_list: s, start_time: s, end_time: s, users: strings, accounts: strings, flags: strings, partition: s, node_count: i, core_count: i,
}, ['start_time', 'end_time']);
export const qosSchema = object({ cluster: s, name: s, description: s, priority: n, max_wall_s: n, flags: strings, preempt_mode: s }, ['max_wall_s']);
export const accountSchema = object({ cluster: s, name: s, description: s, organization: s, coordinators: strings });
export const associationSchema = object({ cluster: s, account: s, user: s, partition: s, parent_account: s, qos: strings, default_qos: s, id: i }, ['id']);
const rpcStats = { type: 'array', items: object({ name: s, count: n, total_time_us: n }) } as const;
/** diag's scheduler, job and RPC statistics (ControllerDiag). */
const controllerDiagSchema = object({
  schedule_cycle_last_us: n, schedule_cycle_mean_us: n, schedule_cycle_max_us: n, schedule_cycles: n, backfill_cycle_last_us: n, backfill_cycle_mean_us: n,
  backfill_cycle_max_us: n, backfill_cycles: n, backfilled_jobs: n, jobs_submitted: n, jobs_started: n, jobs_completed: n, jobs_canceled: n, jobs_failed: n,
  rpcs_by_type: rpcStats, rpcs_by_user: rpcStats,
});
export const controllerSchema = object({
  cluster: s, hostname: s, responding: b, mode: s, latency_ms: n, api_version: s, slurm_version: s, observed_at: s, server_thread_count: n,
  agent_queue_size: n, jobs_running: n, jobs_pending: n, endpoint: s, diag: controllerDiagSchema,
}, ['latency_ms', 'observed_at', 'server_thread_count', 'agent_queue_size', 'jobs_running', 'jobs_pending', 'endpoint', 'diag']);

/** GET /api/v1/auth/can-i: the gate's explained decision (hub/policy Decision). */
export const decisionSchema = open({
  allowed: b, permission: s, principal: open({ name: s, kind: s, method: s, groups: strings }), roles: anyObjects, matched: anyObjects,
  filters: { type: ['array', 'null'], items: { type: 'object', additionalProperties: true } }, reason: s,
});

/** GET /api/v1/hubs: the region's members (hub/leader MemberList) and this hub's leadership mode. */
export const membersSchema = open({
  mode: s, etcd: s, region: s, leader: sn, error: s,
  items: { type: 'array', items: open({ hub_id: s, region: s, http_url: s, grpc_address: s, version: s, pid: i, started_at: s, updated_at: s, leader: b, health: s, ingesting: strings, stale_clusters: strings }, ['http_url', 'grpc_address', 'version', 'pid', 'started_at', 'updated_at', 'ingesting', 'stale_clusters']) },
}, ['mode', 'etcd', 'region', 'leader', 'error']);

export const healthSchema = object({ status: { type: 'string', enum: ['ok', 'degraded'] }, reasons: strings });
export const readinessSchema = object({ status: { type: 'string', enum: ['ready', 'not ready'] }, checks: { type: 'object', additionalProperties: s } }, ['checks']);
export const openApiSchema = open({ openapi: s, info: open({ title: s, version: s }), paths: { type: 'object', additionalProperties: true }, components: { type: 'object', additionalProperties: true } });

/** A success answer that is not JSON: the OpenAPI document names its media type. */
export function textAnswer(mediaType: string): object {
  return { content: { [mediaType]: { schema: s } } };
}
