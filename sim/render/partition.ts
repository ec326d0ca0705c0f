// Partitions and reservations, per API version.
import { memTres, type SimPartition, type SimReservation } from '../engine/index.js';
import { INFINITE, num, UNSET, type RenderContext } from './common.js';
import { compressHostlist } from '../../shared/model/index.js';

function partNodes(ctx: RenderContext, p: SimPartition): { list: string; cpus: number; mem: number } {
  let cpus = 0;
  let mem = 0;
  for (const i of p.nodes) {
    cpus += ctx.engine.nodes[i].cpus;
    mem += ctx.engine.nodes[i].memoryMb;
  }
  return { list: compressHostlist(p.nodes.map((i) => ctx.engine.nodes[i].name)), cpus, mem };
}

export function renderPartition(ctx: RenderContext, p: SimPartition): Record<string, unknown> {
  const n = ctx.v.n;
  const { list, cpus, mem } = partNodes(ctx, p);
  const tres = `cpu=${cpus},mem=${memTres(mem)},node=${p.nodes.length},billing=${cpus}`;
  const memPerCpu = ctx.engine.options.memPerCpuMb;
  if (n === 38) {
    return {
      flags: p.isDefault ? ['default'] : [],
      preemption_mode: ['disabled'],
      allowed_allocation_nodes: '',
      allowed_accounts: '',
      allowed_groups: '',
      allowed_qos: '',
      alternative: '',
      billing_weights: '',
      default_memory_per_cpu: memPerCpu,
      default_memory_per_node: null,
      default_time_limit: p.defaultTimeMin ?? null,
      denied_accounts: '',
      denied_qos: '',
      preemption_grace_time: 0,
      maximum_cpus_per_node: -1,
      maximum_memory_per_cpu: null,
      maximum_memory_per_node: null,
      maximum_nodes_per_job: -1,
      max_time_limit: p.maxTimeMin ?? -1,
      'min nodes per job': 0,
      name: p.name,
      nodes: list,
      over_time_limit: null,
      priority_job_factor: 1,
      priority_tier: p.priorityTier,
      qos: '',
      state: p.state,
      total_cpus: cpus,
      total_nodes: p.nodes.length,
      tres,
    };
  }
  const out: Record<string, unknown> = {
    nodes: { allowed_allocation: '', configured: list, total: p.nodes.length },
    accounts: { allowed: '', deny: '' },
    groups: { allowed: '' },
    qos: { allowed: '', deny: '', assigned: '' },
    alternate: '',
    tres: { billing_weights: '', configured: tres },
    cluster: '',
  };
  if (n >= 41) out.select_type = [];
  out.cpus = { task_binding: 0, total: cpus };
  const time = p.defaultTimeMin === undefined ? UNSET : num(p.defaultTimeMin);
  out.defaults =
    n >= 40
      ? { memory_per_cpu: memPerCpu, partition_memory_per_cpu: num(memPerCpu), partition_memory_per_node: UNSET, time, job: '' }
      : { memory_per_cpu: memPerCpu, time, job: '' };
  out.grace_time = 0;
  const maxTime = p.maxTimeMin === undefined ? INFINITE : num(p.maxTimeMin);
  out.maximums =
    n >= 40
      ? {
          cpus_per_node: INFINITE,
          cpus_per_socket: INFINITE,
          memory_per_cpu: 0,
          partition_memory_per_cpu: UNSET,
          partition_memory_per_node: num(0),
          nodes: INFINITE,
          shares: 1,
          oversubscribe: { jobs: 1, flags: [] },
          time: maxTime,
          over_time_limit: UNSET,
        }
      : { cpus_per_node: INFINITE, cpus_per_socket: INFINITE, memory_per_cpu: 0, nodes: INFINITE, shares: 1, time: maxTime, over_time_limit: UNSET };
  Object.assign(out, {
    minimums: { nodes: 0 },
    name: p.name,
    node_sets: '',
    priority: { job_factor: 1, tier: p.priorityTier },
    timeouts: { resume: UNSET, suspend: UNSET },
  });
  if (n >= 43) out.topology = '';
  if (n >= 40) out.partition = { state: [p.state] };
  out.suspend_time = UNSET;
  return out;
}

export function renderReservation(ctx: RenderContext, r: SimReservation): Record<string, unknown> {
  const n = ctx.v.n;
  const names = r.nodes.map((i) => ctx.engine.nodes[i].name);
  const cores = r.nodes.reduce((c, i) => c + ctx.engine.nodes[i].cpus, 0);
  const time = (t: number) => (n >= 40 ? num(t) : t);
  if (n === 38) {
    return {
      accounts: r.accounts.join(','),
      burst_buffer: '',
      core_count: cores,
      core_spec_cnt: 0,
      end_time: r.endTime,
      features: '',
      flags: r.flags,
      groups: '',
      licenses: '',
      max_start_delay: 0,
      name: r.name,
      node_count: r.nodes.length,
      node_list: compressHostlist(names),
      partition: r.partition,
      purge_completed: { time: 0 },
      start_time: r.startTime,
      watts: 0,
      tres: `cpu=${cores}`,
      users: r.users.join(','),
    };
  }
  return {
    accounts: r.accounts.join(','),
    burst_buffer: '',
    core_count: cores,
    core_specializations: [],
    end_time: time(r.endTime),
    features: '',
    flags: r.flags,
    groups: '',
    licenses: '',
    max_start_delay: 0,
    name: r.name,
    node_count: r.nodes.length,
    node_list: compressHostlist(names),
    partition: r.partition,
    purge_completed: { time: UNSET },
    start_time: time(r.startTime),
    watts: {},
    tres: `cpu=${cores}`,
    users: r.users.join(','),
  };
}
