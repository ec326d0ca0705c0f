// What the API and the CLI show of each object: every documented field present, null when
// Slurm did not say, snake_case. One place, so HTTP, gRPC-to-JSON and the CLI agree.
import type { Job, Node } from '../../shared/model/index.js';

export type JobView = ReturnType<typeof jobView>;

export function jobView(job: Job) {
  return {
    cluster: job.cluster,
    id: job.id,
    array_job_id: job.array_job_id ?? null,
    array_task_id: job.array_task_id ?? null,
    array_task_string: job.array_task_string ?? null,
    het_job_id: job.het_job_id ?? null,
    het_job_offset: job.het_job_offset ?? null,
    name: job.name,
    user: job.user,
    account: job.account,
    partition: job.partition,
    qos: job.qos,
    state: job.state,
    state_flags: job.state_flags,
    state_reason: job.state_reason,
    nodes: job.nodes,
    node_list: job.node_list,
    submit_time: job.submit_time ?? null,
    start_time: job.start_time ?? null,
    end_time: job.end_time ?? null,
    exit_code: job.exit_code ?? null,
    exit_signal: job.exit_signal ?? null,
    cpus: job.cpus,
    node_count: job.node_count,
    memory_mb: job.memory_mb ?? null,
    time_limit_s: job.time_limit_s ?? null,
    priority: job.priority ?? null,
    working_dir: job.working_dir,
    comment: job.comment,
    tres: job.tres,
  };
}

export function nodeView(node: Node) {
  return {
    cluster: node.cluster,
    name: node.name,
    state: node.state,
    flags: node.flags,
    reason: node.reason,
    cpus: node.cpus,
    alloc_cpus: node.alloc_cpus,
    memory_mb: node.memory_mb,
    alloc_memory_mb: node.alloc_memory_mb,
    free_memory_mb: node.free_memory_mb ?? null,
    partitions: node.partitions,
    features: node.features,
    gres: node.gres,
    cpu_load: node.cpu_load ?? null,
    boot_time: node.boot_time ?? null,
    last_busy: node.last_busy ?? null,
    reason_set_by: node.reason_set_by,
    reason_time: node.reason_time ?? null,
    address: node.address,
    hostname: node.hostname,
    slurm_version: node.slurm_version,
  };
}
