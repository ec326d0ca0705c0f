// The simulated cluster as the shared normalized model: the ground truth a round trip
// (engine → render(version) → the agent's adapter) must give back.
import {
  compressHostlist,
  emptyClusterModel,
  expandHostlist,
  isoFromUnix,
  type ClusterModel,
  type Job,
  type Node,
} from '../../shared/model/index.js';
import { jobMemMb, jobTresAlloc, jobTresReq, nodeCpuLoad, nodeFreeMemMb } from './derived.js';
import type { SimEngine } from './engine.js';
import type { SimJob, SimNode } from './types.js';

export interface ModelOptions {
  /** Slurm release the rendering version belongs to (node slurm_version, controller). */
  slurmVersion: string;
  apiVersion: string;
  controllerHost: string;
}

export function jobToModel(engine: SimEngine, job: SimJob): Job {
  const nodeList = engine.jobNodeList(job);
  const arrayString = engine.arrayTaskString(job);
  return {
    cluster: engine.cluster,
    id: job.id,
    array_job_id: job.arrayJobId || undefined,
    array_task_id: job.arrayTaskId ?? undefined,
    array_task_string: arrayString || undefined,
    het_job_id: undefined,
    het_job_offset: undefined,
    name: job.name,
    user: job.user,
    account: job.account,
    partition: job.partition,
    qos: job.qos,
    state: job.state,
    state_flags: [],
    state_reason: job.stateReason,
    nodes: expandHostlist(nodeList),
    node_list: nodeList,
    submit_time: isoFromUnix(job.submitTime),
    start_time: isoFromUnix(job.startTime),
    end_time: isoFromUnix(job.endTime),
    exit_code: job.exitSignal > 0 ? undefined : job.exitCode,
    exit_signal: job.exitSignal > 0 ? job.exitSignal : undefined,
    cpus: job.cpus,
    node_count: job.nodeCount,
    memory_mb: jobMemMb(job),
    time_limit_s: job.timeLimitMin * 60,
    priority: job.priority,
    working_dir: job.workDir,
    comment: job.comment,
    tres: jobTresAlloc(job) || jobTresReq(job),
  };
}

export function nodeToModel(engine: SimEngine, node: SimNode, slurmVersion: string): Node {
  const { base, flags } = engine.nodeState(node);
  return {
    cluster: engine.cluster,
    name: node.name,
    state: base,
    flags,
    reason: node.reason,
    cpus: node.cpus,
    alloc_cpus: node.allocCpus,
    memory_mb: node.memoryMb,
    alloc_memory_mb: node.allocMemMb,
    free_memory_mb: nodeFreeMemMb(node),
    partitions: [...node.partitions],
    features: [...node.features],
    gres: '',
    cpu_load: nodeCpuLoad(node) / 100,
    boot_time: isoFromUnix(node.bootTime),
    last_busy: isoFromUnix(node.lastBusy),
    reason_set_by: node.reasonSetBy,
    reason_time: isoFromUnix(node.reasonTime),
    address: node.name,
    hostname: node.name,
    slurm_version: slurmVersion,
  };
}

export function toClusterModel(engine: SimEngine, opts: ModelOptions): ClusterModel {
  const m = emptyClusterModel();
  const cluster = engine.cluster;
  for (const job of engine.jobs()) m.job.push(jobToModel(engine, job));
  for (const node of engine.nodes) m.node.push(nodeToModel(engine, node, opts.slurmVersion));
  for (const p of engine.partitions) {
    const names = p.nodes.map((i) => engine.nodes[i].name);
    m.partition.push({
      cluster,
      name: p.name,
      state: p.state,
      nodes: names,
      node_list: compressHostlist(names),
      total_cpus: p.nodes.reduce((n, i) => n + engine.nodes[i].cpus, 0),
      total_nodes: p.nodes.length,
      is_default: p.isDefault,
      max_time_s: p.maxTimeMin === undefined ? undefined : p.maxTimeMin * 60,
      default_time_s: p.defaultTimeMin === undefined ? undefined : p.defaultTimeMin * 60,
      allowed_accounts: [],
      allowed_qos: [],
      qos: '',
    });
  }
  for (const r of engine.reservations) {
    const names = r.nodes.map((i) => engine.nodes[i].name);
    m.reservation.push({
      cluster,
      name: r.name,
      nodes: names,
      node_list: compressHostlist(names),
      start_time: isoFromUnix(r.startTime),
      end_time: isoFromUnix(r.endTime),
      users: [...r.users],
      accounts: [...r.accounts],
      flags: [...r.flags],
      partition: r.partition,
      node_count: r.nodes.length,
      core_count: r.nodes.reduce((n, i) => n + engine.nodes[i].cpus, 0),
    });
  }
  for (const q of engine.qos) {
    m.qos.push({
      cluster,
      name: q.name,
      description: q.description,
      priority: q.priority,
      max_wall_s: q.maxWallMin === undefined ? undefined : q.maxWallMin * 60,
      flags: [...q.flags],
      preempt_mode: 'DISABLED',
    });
  }
  for (const a of engine.accounts) {
    m.account.push({ cluster, name: a.name, description: a.description, organization: a.organization, coordinators: [...a.coordinators] });
  }
  for (const a of engine.associations) {
    m.association.push({
      cluster,
      account: a.account,
      user: a.user,
      partition: a.partition,
      parent_account: a.parentAccount,
      qos: [...a.qos],
      default_qos: a.defaultQos,
      id: a.id,
    });
  }
  m.controller.push({
    cluster,
    hostname: opts.controllerHost,
    responding: true,
    mode: 'primary',
    latency_ms: undefined,
    api_version: opts.apiVersion,
    slurm_version: opts.slurmVersion,
    observed_at: isoFromUnix(engine.now),
    server_thread_count: undefined,
    agent_queue_size: undefined,
    jobs_running: engine.countByState('RUNNING'),
    jobs_pending: engine.countByState('PENDING'),
    endpoint: undefined,
  });
  return m;
}
