// One node record as /nodes and /node/{name} print it, per API version.
import { nodeCpuLoad, nodeFreeMemMb, nodeTres, nodeTresUsed, type SimNode } from '../engine/index.js';
import { num, type RenderContext } from './common.js';

const OS = 'Linux 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)';

export function renderNode(ctx: RenderContext, node: SimNode): Record<string, unknown> {
  return ctx.v.n === 38 ? nodeV38(ctx, node) : nodeV39Plus(ctx, node);
}

function nodeV38(ctx: RenderContext, node: SimNode): Record<string, unknown> {
  const { base, flags } = ctx.engine.nodeState(node);
  // A node that went DOWN keeps its last registration (22.05 prints sentinels only for a node that never registered).
  return {
    architecture: 'x86_64',
    burstbuffer_network_address: '',
    boards: 1,
    boot_time: node.bootTime,
    comment: '',
    cores: node.coresPerSocket,
    cpu_binding: 0,
    cpu_load: nodeCpuLoad(node),
    extra: '',
    free_memory: nodeFreeMemMb(node),
    cpus: node.cpus,
    last_busy: node.lastBusy,
    features: node.features.join(','),
    active_features: node.features.join(','),
    gres: '',
    gres_drained: 'N/A',
    gres_used: '',
    mcs_label: '',
    name: node.name,
    next_state_after_reboot: 'invalid',
    address: node.name,
    hostname: node.name,
    state: base.toLowerCase(),
    state_flags: flags,
    next_state_after_reboot_flags: [],
    operating_system: OS,
    owner: null,
    partitions: node.partitions,
    port: 6818,
    real_memory: node.memoryMb,
    reason: node.reason,
    reason_changed_at: node.reasonTime,
    reason_set_by_user: node.reasonSetBy || null,
    slurmd_start_time: node.slurmdStartTime,
    sockets: node.sockets,
    threads: node.threadsPerCore,
    temporary_disk: 0,
    weight: 1,
    tres: nodeTres(node),
    slurmd_version: ctx.v.release,
    alloc_memory: node.allocMemMb,
    alloc_cpus: node.allocCpus,
    idle_cpus: node.cpus - node.allocCpus,
    tres_used: nodeTresUsed(node) || null,
    tres_weighted: node.allocCpus,
  };
}

function nodeV39Plus(ctx: RenderContext, node: SimNode): Record<string, unknown> {
  const n = ctx.v.n;
  const { base, flags } = ctx.engine.nodeState(node);
  const time = (t: number) => (n >= 40 ? num(t) : t);
  const out: Record<string, unknown> = {
    architecture: 'x86_64',
    burstbuffer_network_address: '',
    boards: 1,
    boot_time: time(node.bootTime),
  };
  if (n >= 43) {
    out.tls_cert_last_renewal = num(0);
    out.cert_flags = [];
  }
  Object.assign(out, {
    cluster_name: '',
    cores: node.coresPerSocket,
    specialized_cores: 0,
    cpu_binding: 0,
    // v0.0.39 wraps the load in a number object; v0.0.40 went back to a plain integer.
    cpu_load: n === 39 ? num(nodeCpuLoad(node)) : nodeCpuLoad(node),
    free_mem: num(nodeFreeMemMb(node)),
    cpus: node.cpus,
    effective_cpus: node.cpus,
    specialized_cpus: '',
    energy: {
      average_watts: 0,
      base_consumed_energy: 0,
      consumed_energy: 0,
      current_watts: num(0),
      previous_consumed_energy: 0,
      last_collected: 0,
    },
    external_sensors: {},
    extra: '',
    power: {},
    features: node.features,
    active_features: node.features,
  });
  if (n >= 41) out.gpu_spec = '';
  Object.assign(out, { gres: '', gres_drained: 'N/A', gres_used: '' });
  if (n >= 40) {
    out.instance_id = '';
    out.instance_type = '';
  }
  Object.assign(out, {
    last_busy: time(node.lastBusy),
    mcs_label: '',
    specialized_memory: 0,
    name: node.name,
    next_state_after_reboot: ['INVALID'],
    address: node.name,
    hostname: node.name,
    state: [base, ...flags],
    operating_system: OS,
    owner: '',
    partitions: node.partitions,
    port: 6818,
    real_memory: node.memoryMb,
  });
  if (n >= 41) out.res_cores_per_gpu = 0;
  Object.assign(out, {
    comment: '',
    reason: node.reason,
    reason_changed_at: time(node.reasonTime),
    reason_set_by_user: node.reasonSetBy,
    resume_after: num(0),
    reservation: '',
    alloc_memory: node.allocMemMb,
    alloc_cpus: node.allocCpus,
    alloc_idle_cpus: node.cpus - node.allocCpus,
    tres_used: nodeTresUsed(node),
    tres_weighted: node.allocCpus,
    slurmd_start_time: time(node.slurmdStartTime),
    sockets: node.sockets,
    threads: node.threadsPerCore,
    temporary_disk: 0,
    weight: 1,
  });
  if (n >= 43) out.topology = '';
  out.tres = nodeTres(node);
  out.version = ctx.v.release;
  return out;
}

