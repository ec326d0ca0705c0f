// One job record as slurmctld's /jobs and /job/{id} print it, per API version (see versions.ts for
// the list of differences). Field order follows the real responses.
import { jobTresAlloc, jobTresReq, type SimJob } from '../engine/index.js';
import { INFINITE, num, UNSET, type NoVal, type RenderContext } from './common.js';

const SIGNAL_NAMES: Record<number, string> = { 9: 'KILL', 15: 'TERM' };

/** Raw wait status, as v0.0.38/v0.0.39 print exit_code: exit 3 → 768, killed by SIGTERM → 15. */
export function waitStatus(job: SimJob): number {
  return job.exitSignal > 0 ? job.exitSignal : job.exitCode << 8;
}

/** v0.0.40+ `process_exit_code_verbose`. */
function exitVerbose(code: number, signal: number): Record<string, unknown> {
  if (signal > 0) return { status: ['SIGNALED'], return_code: UNSET, signal: { id: num(signal), name: SIGNAL_NAMES[signal] ?? '' } };
  return { status: [code === 0 ? 'SUCCESS' : 'ERROR'], return_code: num(code), signal: { id: UNSET, name: '' } };
}

interface Common {
  ran: boolean;
  nodes: string;
  batchHost: string;
  assoc: number;
  accrue: number;
  stdout: string;
}

function common(ctx: RenderContext, job: SimJob): Common {
  const ran = job.alloc.length > 0;
  const nodes = ctx.engine.jobNodeList(job);
  return {
    ran,
    nodes,
    batchHost: ran ? ctx.engine.nodes[job.alloc[0].node].name : '',
    assoc: ctx.assocIds.get(`${job.user}/${job.account}`) ?? 0,
    accrue: job.held ? 0 : job.eligibleTime,
    stdout: `${job.workDir}/slurm-${job.arrayJobId && job.arrayTaskId !== null ? `${job.arrayJobId}_${job.arrayTaskId}` : job.id}.out`,
  };
}

export function renderJob(ctx: RenderContext, job: SimJob): Record<string, unknown> {
  return ctx.v.n === 38 ? jobV38(ctx, job) : jobV39Plus(ctx, job);
}

function jobV38(ctx: RenderContext, job: SimJob): Record<string, unknown> {
  const c = common(ctx, job);
  const out: Record<string, unknown> = {
    account: job.account,
    accrue_time: c.accrue,
    admin_comment: '',
    array_job_id: job.arrayJobId,
    array_task_id: job.arrayTaskId,
    array_max_tasks: job.arrayMaxTasks,
    array_task_string: ctx.engine.arrayTaskString(job),
    association_id: c.assoc,
    batch_features: '',
    batch_flag: true,
    batch_host: c.batchHost,
    flags: c.ran ? ['JOB_WAS_RUNNING'] : [],
    burst_buffer: '',
    burst_buffer_state: '',
    cluster: ctx.engine.cluster,
    cluster_features: '',
    command: '',
    comment: job.comment,
    container: '',
    contiguous: false,
    core_spec: null,
    thread_spec: null,
    cores_per_socket: null,
    billable_tres: c.ran ? job.cpus : null,
    cpus_per_task: null,
    cpu_frequency_minimum: null,
    cpu_frequency_maximum: null,
    cpu_frequency_governor: null,
    cpus_per_tres: '',
    deadline: 0,
    delay_boot: 0,
    dependency: '',
    derived_exit_code: 0,
    eligible_time: job.eligibleTime,
    end_time: job.endTime,
    excluded_nodes: '',
    exit_code: waitStatus(job),
    features: '',
    federation_origin: '',
    federation_siblings_active: '',
    federation_siblings_viable: '',
    gres_detail: [],
    group_id: job.groupId,
    group_name: job.group,
    job_id: job.id,
  };
  if (c.ran) out.job_resources = jobResourcesOld(ctx, job, c, false);
  Object.assign(out, {
    job_state: job.state,
    last_sched_evaluation: job.lastSchedEval,
    licenses: '',
    max_cpus: 0,
    max_nodes: 0,
    mcs_label: '',
    memory_per_tres: '',
    name: job.name,
    nodes: c.nodes,
    nice: null,
    tasks_per_core: null,
    tasks_per_node: 0,
    tasks_per_socket: null,
    tasks_per_board: 0,
    cpus: job.cpus,
    node_count: job.nodeCount,
    tasks: job.cpus,
    het_job_id: 0,
    het_job_id_set: '',
    het_job_offset: 0,
    partition: job.partition,
    prefer: '',
    memory_per_node: null,
    memory_per_cpu: job.memPerCpuMb,
    minimum_cpus_per_node: 1,
    minimum_tmp_disk_per_node: 0,
    preempt_time: 0,
    pre_sus_time: 0,
    priority: job.priority,
    profile: null,
    qos: job.qos,
    reboot: false,
    required_nodes: '',
    requeue: true,
    resize_time: 0,
    restart_cnt: job.restartCount,
    resv_name: '',
    shared: null,
    show_flags: ['SHOW_ALL', 'SHOW_DETAIL', 'SHOW_LOCAL'],
    sockets_per_board: 0,
    sockets_per_node: null,
    start_time: job.startTime,
    state_description: '',
    state_reason: job.stateReason,
    standard_error: c.stdout,
    standard_input: '/dev/null',
    standard_output: c.stdout,
    submit_time: job.submitTime,
    suspend_time: 0,
    system_comment: '',
    time_limit: job.timeLimitMin,
    time_minimum: 0,
    threads_per_core: null,
    tres_bind: '',
    tres_freq: '',
    tres_per_job: '',
    tres_per_node: '',
    tres_per_socket: '',
    tres_per_task: '',
    tres_req_str: jobTresReq(job),
    tres_alloc_str: jobTresAlloc(job),
    user_id: job.userId,
    user_name: job.user,
    wckey: '',
    current_working_directory: job.workDir,
  });
  return out;
}

/** v0.0.38–v0.0.40 job_resources: per node a `sockets` map of allocated cores. */
function jobResourcesOld(ctx: RenderContext, job: SimJob, c: Common, withAllocatedCpus: boolean): Record<string, unknown> {
  const allocatedNodes = job.alloc.map((a) => {
    const node = ctx.engine.nodes[a.node];
    const sockets: Record<string, { cores: Record<string, string> }> = {};
    for (const core of a.cores) {
      const s = String(Math.floor(core / node.coresPerSocket));
      (sockets[s] ??= { cores: {} }).cores[String(core % node.coresPerSocket)] = 'allocated';
    }
    return { sockets, nodename: node.name, cpus_used: 0, memory_used: 0, memory_allocated: a.cores.length * job.memPerCpuMb };
  });
  const cores = job.alloc.reduce((n, a) => n + a.cores.length, 0);
  return withAllocatedCpus
    ? { nodes: c.nodes, allocated_cores: cores, allocated_cpus: 0, allocated_hosts: job.alloc.length, allocated_nodes: allocatedNodes }
    : { nodes: c.nodes, allocated_cores: cores, allocated_hosts: job.alloc.length, allocated_nodes: allocatedNodes };
}

/** v0.0.41+ job_resources: `nodes.allocation[]` listing every core of each node with its status. */
function jobResourcesNew(ctx: RenderContext, job: SimJob, c: Common): Record<string, unknown> {
  const allocation = job.alloc.map((a, index) => {
    const node = ctx.engine.nodes[a.node];
    const mine = new Set(a.cores);
    const sockets = [];
    for (let s = 0; s < node.sockets; s++) {
      const cores = [];
      for (let k = 0; k < node.coresPerSocket; k++) {
        cores.push({ index: k, status: [mine.has(s * node.coresPerSocket + k) ? 'ALLOCATED' : 'UNALLOCATED'] });
      }
      sockets.push({ index: s, cores });
    }
    return {
      index,
      name: node.name,
      cpus: { count: a.cores.length, used: 0 },
      memory: { used: 0, allocated: a.cores.length * job.memPerCpuMb },
      sockets,
    };
  });
  return {
    select_type: ['CORE'],
    nodes: { count: job.alloc.length, select_type: ['ONE_ROW'], list: c.nodes, whole: job.nodeCount > 1, allocation },
    cpus: job.alloc.reduce((n, a) => n + a.cores.length, 0),
    threads_per_core: UNSET,
  };
}

function jobV39Plus(ctx: RenderContext, job: SimJob): Record<string, unknown> {
  const n = ctx.v.n;
  const c = common(ctx, job);
  // v0.0.40 turned the times into number objects; v0.0.39 keeps plain integers.
  const time = (t: number): number | NoVal => (n >= 40 ? num(t) : t);
  const exit = n >= 40 ? exitVerbose(job.exitCode, job.exitSignal) : num(waitStatus(job));
  const derivedExit = n >= 40 ? exitVerbose(0, 0) : num(0);
  const flags = c.ran
    ? ['EXACT_TASK_COUNT_REQUESTED', 'ACCRUE_COUNT_CLEARED', 'JOB_WAS_RUNNING', 'USING_DEFAULT_WCKEY']
    : ['EXACT_TASK_COUNT_REQUESTED', 'USING_DEFAULT_WCKEY', 'SCHEDULING_ATTEMPTED'];
  let resources: unknown;
  if (c.ran) resources = n >= 41 ? jobResourcesNew(ctx, job, c) : jobResourcesOld(ctx, job, c, true);
  else resources = n >= 41 ? null : {};

  const out: Record<string, unknown> = {
    account: job.account,
    accrue_time: time(c.accrue),
    admin_comment: '',
    allocating_node: 'login01',
    array_job_id: num(job.arrayJobId),
    array_task_id: job.arrayTaskId === null ? UNSET : num(job.arrayTaskId),
    array_max_tasks: num(job.arrayMaxTasks),
    array_task_string: ctx.engine.arrayTaskString(job),
    association_id: c.assoc,
    batch_features: '',
    batch_flag: true,
    batch_host: c.batchHost,
    flags,
    burst_buffer: '',
    burst_buffer_state: '',
    cluster: ctx.engine.cluster,
    cluster_features: '',
    command: '',
    comment: job.comment,
    container: '',
    container_id: '',
    contiguous: false,
    core_spec: 0,
    thread_spec: 32766,
    cores_per_socket: UNSET,
    billable_tres: c.ran ? num(job.cpus) : UNSET,
    cpus_per_task: num(1),
    cpu_frequency_minimum: UNSET,
    cpu_frequency_maximum: UNSET,
    cpu_frequency_governor: UNSET,
    cpus_per_tres: '',
    cron: '',
    deadline: time(0),
    delay_boot: num(0),
    dependency: '',
    derived_exit_code: derivedExit,
    eligible_time: time(job.eligibleTime),
    end_time: time(job.endTime),
    excluded_nodes: '',
    exit_code: exit,
    extra: '',
    failed_node: '',
    features: '',
    federation_origin: '',
    federation_siblings_active: '',
    federation_siblings_viable: '',
    gres_detail: [],
    group_id: job.groupId,
    group_name: job.group,
    het_job_id: num(0),
    het_job_id_set: '',
    het_job_offset: num(0),
    job_id: job.id,
    job_resources: resources,
    job_size_str: [],
    job_state: n >= 40 ? [job.state] : job.state,
    last_sched_evaluation: time(job.lastSchedEval),
    licenses: '',
  };
  if (n >= 43) out.licenses_allocated = '';
  Object.assign(out, {
    mail_type: [],
    mail_user: job.user,
    max_cpus: num(0),
    max_nodes: num(0),
    mcs_label: '',
    memory_per_tres: '',
    name: job.name,
    network: '',
    nodes: c.nodes,
    nice: 0,
    tasks_per_core: INFINITE,
    tasks_per_tres: num(0),
    tasks_per_node: num(0),
    tasks_per_socket: INFINITE,
    tasks_per_board: num(0),
    cpus: num(job.cpus),
    node_count: num(job.nodeCount),
    tasks: num(job.cpus),
    partition: job.partition,
    prefer: '',
    memory_per_cpu: num(job.memPerCpuMb),
    memory_per_node: UNSET,
    minimum_cpus_per_node: num(1),
    minimum_tmp_disk_per_node: num(0),
    power: { flags: [] },
    preempt_time: time(0),
    preemptable_time: time(0),
    pre_sus_time: time(0),
    hold: job.held !== '',
    priority: num(job.priority),
  });
  if (n >= 42) out.priority_by_partition = [];
  Object.assign(out, {
    profile: ['NOT_SET'],
    qos: job.qos,
    reboot: false,
    required_nodes: '',
  });
  if (n >= 42) out.required_switches = 0;
  else out.minimum_switches = 0;
  Object.assign(out, {
    requeue: true,
    resize_time: time(0),
    restart_cnt: job.restartCount,
    resv_name: '',
    scheduled_nodes: '',
  });
  if (n >= 43) out.segment_size = 0;
  out.selinux_context = '';
  out.shared = [];
  if (n <= 41) {
    out.exclusive = [];
    out.oversubscribe = true;
    out.show_flags = ['ALL', 'DETAIL', 'LOCAL'];
  }
  if (n >= 44) {
    out.step_id = { sluid: sluid(job), job_id: num(job.id), step_het_component: UNSET, step_id: 'entire' };
  }
  Object.assign(out, {
    sockets_per_board: 0,
    sockets_per_node: UNSET,
    start_time: time(job.startTime),
    state_description: '',
    state_reason: job.stateReason,
  });
  if (n >= 43) {
    Object.assign(out, {
      standard_input: '/dev/null',
      standard_output: c.stdout,
      standard_error: '',
      stdin_expanded: '/dev/null',
      stdout_expanded: c.stdout,
      stderr_expanded: '',
    });
  } else {
    Object.assign(out, { standard_error: c.stdout, standard_input: '/dev/null', standard_output: c.stdout });
  }
  out.submit_time = time(job.submitTime);
  if (n >= 44) out.submit_line = `sbatch --job-name=${job.name} --partition=${job.partition} --ntasks=${job.cpus} --time=${job.timeLimitMin} job.sh`;
  Object.assign(out, {
    suspend_time: time(0),
    system_comment: '',
    time_limit: num(job.timeLimitMin),
    time_minimum: num(0),
    threads_per_core: UNSET,
    tres_bind: '',
    tres_freq: '',
    tres_per_job: '',
    tres_per_node: '',
    tres_per_socket: '',
    tres_per_task: '',
    tres_req_str: jobTresReq(job),
    tres_alloc_str: jobTresAlloc(job),
    user_id: job.userId,
    user_name: job.user,
    maximum_switch_wait_time: 0,
    wckey: '',
    current_working_directory: job.workDir,
  });
  return out;
}

/** A stable Slurm-style unique id for the job (v0.0.44 step_id.sluid). */
function sluid(job: SimJob): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let x = BigInt(job.id) * 2654435761n + BigInt(job.submitTime);
  let s = '';
  for (let i = 0; i < 13; i++) {
    s = alphabet[Number(x % 32n)] + s;
    x /= 32n;
  }
  return `s${s}`;
}
