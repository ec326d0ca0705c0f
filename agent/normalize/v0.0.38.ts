// slurmrestd v0.0.38 (Slurm 22.05 / 23.02 static plugins openapi/v0.0.38 + dbv0.0.38).
// The base of the adapter chain: every later version extends this class and overrides only
// what its spec changed. Shapes handled here:
// - numbers are flat: null = unset, -1 / 4294967295 = INFINITE, 4294967294 / -2 = NO_VAL;
//   times are flat unix seconds (0 = unset); time limits in minutes.
// - job_state is ONE string: Slurm's job_state_string() returns the first flag when one is
//   set (COMPLETING, CONFIGURING, REQUEUED...) instead of the base state.
// - exit_code is the raw wait(2) status (exit 3 -> 768, SIGTERM -> 15).
// - node `state` is the lower-case base state, flags apart in `state_flags`; `features` is
//   a comma string; `free_memory` (-2 when unknown); `slurmd_version`; `cpu_load` is load*100
//   (4294967294 for a node that never reported).
// - partitions are flat (`nodes`, `total_cpus`, `max_time_limit`...), `flags: ["default"]`.
// - ping: `ping: "UP"|"DOWN"`, `mode`, no latency. meta.Slurm.release (capital S).
// - dbv0.0.38 QOS list is under "QOS" in real 22.05 answers although the spec says "qos";
//   coordinators' `direct` is 0/1; associations have no id; unset user/partition are null.
import type {
  Account,
  Association,
  ControllerHealth,
  Job,
  Node,
  Partition,
  Qos,
  Reservation,
} from '../../shared/model/index.js';
import { SlurmResponseError } from '../../shared/errors/index.js';
import type { ApiVersion, DiagSummary, VersionAdapter } from './adapter.js';
import { diagStatistics } from './diag-statistics.js';
import {
  asRecord,
  badRecord,
  decodeWaitStatus,
  field,
  hosts,
  iso,
  minutesToSeconds,
  names,
  num,
  path,
  positive,
  records,
  requireName,
  slurmRelease,
  splitJobStateString,
  splitStateArray,
  str,
  upperList,
  NODE_BASE_STATES,
  type ExitStatus,
  type Rec,
  type SplitState,
} from './slurm-values.js';

export class AdapterV0038 implements VersionAdapter {
  readonly version: ApiVersion = 'v0.0.38';

  // ---- lists ------------------------------------------------------------------------------

  jobs(body: unknown, cluster: string): Job[] {
    const list = records(body, 'jobs', this.version, 'job');
    const out: Job[] = [];
    for (let i = 0; i < list.length; i++) out.push(this.jobAt(list[i], i, cluster));
    return out;
  }

  jobAt(item: unknown, index: number, cluster: string): Job {
    return this.job(asRecord(item, this.version, 'job', index), index, cluster);
  }

  nodes(body: unknown, cluster: string): Node[] {
    const list = records(body, 'nodes', this.version, 'node');
    const out: Node[] = [];
    for (let i = 0; i < list.length; i++) out.push(this.nodeAt(list[i], i, cluster));
    return out;
  }

  nodeAt(item: unknown, index: number, cluster: string): Node {
    return this.node(asRecord(item, this.version, 'node', index), index, cluster);
  }

  partitions(body: unknown, cluster: string): Partition[] {
    const list = records(body, 'partitions', this.version, 'partition');
    const out: Partition[] = [];
    for (let i = 0; i < list.length; i++) {
      out.push(this.partition(asRecord(list[i], this.version, 'partition', i), i, cluster));
    }
    return out;
  }

  reservations(body: unknown, cluster: string): Reservation[] {
    const list = records(body, 'reservations', this.version, 'reservation');
    const out: Reservation[] = [];
    for (let i = 0; i < list.length; i++) {
      out.push(this.reservation(asRecord(list[i], this.version, 'reservation', i), i, cluster));
    }
    return out;
  }

  qos(body: unknown, cluster: string): Qos[] {
    const list = records(body, this.qosKey(body), this.version, 'qos');
    const out: Qos[] = [];
    for (let i = 0; i < list.length; i++) out.push(this.qosRecord(asRecord(list[i], this.version, 'qos', i), i, cluster));
    return out;
  }

  accounts(body: unknown, cluster: string): Account[] {
    const list = records(body, 'accounts', this.version, 'account');
    const out: Account[] = [];
    for (let i = 0; i < list.length; i++) out.push(this.account(asRecord(list[i], this.version, 'account', i), i, cluster));
    return out;
  }

  associations(body: unknown, cluster: string): Association[] {
    const list = records(body, 'associations', this.version, 'association');
    const out: Association[] = [];
    for (let i = 0; i < list.length; i++) {
      out.push(this.association(asRecord(list[i], this.version, 'association', i), i, cluster));
    }
    return out;
  }

  ping(body: unknown, cluster: string): ControllerHealth[] {
    const list = records(body, 'pings', this.version, 'controller');
    const release = slurmRelease(body);
    const out: ControllerHealth[] = [];
    for (let i = 0; i < list.length; i++) {
      const r = asRecord(list[i], this.version, 'controller', i);
      out.push({
        cluster,
        hostname: requireName(r, 'hostname', this.version, 'controller', i),
        responding: this.pingResponding(r),
        mode: this.pingMode(r, i),
        latency_ms: this.pingLatencyMs(r),
        api_version: this.version,
        slurm_version: release,
        observed_at: undefined,
        server_thread_count: undefined,
        agent_queue_size: undefined,
        jobs_running: undefined,
        jobs_pending: undefined,
        endpoint: undefined,
      });
    }
    return out;
  }

  diag(body: unknown): DiagSummary {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new SlurmResponseError(`slurmrestd ${this.version} diag response is not a JSON object`);
    }
    const stats = (body as Rec).statistics;
    if (stats === null || typeof stats !== 'object') {
      throw new SlurmResponseError(`slurmrestd ${this.version} diag response has no "statistics" object`);
    }
    const s = stats as Rec;
    return {
      server_thread_count: num(s.server_thread_count),
      agent_queue_size: num(s.agent_queue_size),
      jobs_running: num(s.jobs_running),
      jobs_pending: num(s.jobs_pending),
      diag: diagStatistics(s),
    };
  }

  // ---- records ----------------------------------------------------------------------------

  protected job(r: Rec, i: number, cluster: string): Job {
    const id = num(r.job_id);
    if (id === undefined || id === 0 || !Number.isInteger(id)) badRecord(this.version, 'job', i, 'missing "job_id"');
    const st = this.jobState(r);
    const exit = this.jobExit(r);
    const nodeList = str(r.nodes);
    const cpus = num(r.cpus) ?? 0;
    const arrayJobId = num(r.array_job_id);
    const isArray = arrayJobId !== undefined && arrayJobId !== 0;
    const taskString = isArray ? str(r.array_task_string) : '';
    const hetJobId = num(r.het_job_id);
    const isHet = hetJobId !== undefined && hetJobId !== 0;
    const alloc = str(r.tres_alloc_str);
    return {
      cluster,
      id,
      array_job_id: isArray ? arrayJobId : undefined,
      array_task_id: isArray ? num(r.array_task_id) : undefined,
      array_task_string: taskString !== '' ? taskString : undefined,
      het_job_id: isHet ? hetJobId : undefined,
      het_job_offset: isHet ? num(r.het_job_offset) : undefined,
      name: str(r.name),
      user: str(r.user_name),
      account: str(r.account),
      partition: str(r.partition),
      qos: str(r.qos),
      state: st.state,
      state_flags: st.flags,
      state_reason: str(r.state_reason),
      nodes: hosts(nodeList),
      node_list: nodeList,
      submit_time: iso(r.submit_time),
      start_time: iso(r.start_time),
      end_time: iso(r.end_time),
      exit_code: exit.exit_code,
      exit_signal: exit.exit_signal,
      cpus,
      node_count: num(r.node_count) ?? 0,
      memory_mb: jobMemory(r, cpus),
      time_limit_s: minutesToSeconds(r.time_limit),
      priority: num(r.priority),
      working_dir: str(r.current_working_directory),
      comment: str(r.comment),
      tres: alloc !== '' ? alloc : str(r.tres_req_str),
    };
  }

  /** v0.0.38/39: one string, possibly a flag name hiding the base state. */
  protected jobState(r: Rec): SplitState {
    return splitJobStateString(r.job_state);
  }

  /** v0.0.38/39: raw wait status. */
  protected jobExit(r: Rec): ExitStatus {
    return decodeWaitStatus(r.exit_code);
  }

  protected node(r: Rec, i: number, cluster: string): Node {
    const name = requireName(r, 'name', this.version, 'node', i);
    const st = this.nodeState(r);
    const load = num(r.cpu_load);
    return {
      cluster,
      name,
      state: st.state,
      flags: st.flags,
      reason: str(r.reason),
      cpus: num(r.cpus) ?? 0,
      alloc_cpus: num(r.alloc_cpus) ?? 0,
      memory_mb: num(r.real_memory) ?? 0,
      alloc_memory_mb: num(r.alloc_memory) ?? 0,
      free_memory_mb: num(this.nodeFreeMemory(r)),
      partitions: names(r.partitions),
      features: names(r.features),
      gres: str(r.gres),
      // Every version reports node_info_t.cpu_load, which is the OS load average * 100.
      cpu_load: load === undefined ? undefined : load / 100,
      boot_time: iso(r.boot_time),
      last_busy: iso(r.last_busy),
      reason_set_by: str(r.reason_set_by_user),
      reason_time: iso(r.reason_changed_at),
      address: str(r.address),
      hostname: str(r.hostname),
      slurm_version: this.nodeSlurmVersion(r),
    };
  }

  /** v0.0.38: lower-case base state string plus `state_flags`. */
  protected nodeState(r: Rec): SplitState {
    const base = str(r.state).toUpperCase();
    const flags = upperList(r.state_flags);
    if (base.indexOf('+') >= 0) {
      const split = splitStateArray(base.split('+'), NODE_BASE_STATES, 'UNKNOWN');
      return { state: split.state, flags: split.flags.concat(flags) };
    }
    return { state: base !== '' ? base : 'UNKNOWN', flags };
  }

  protected nodeFreeMemory(r: Rec): unknown {
    return r.free_memory;
  }

  protected nodeSlurmVersion(r: Rec): string {
    return str(r.slurmd_version);
  }

  protected partition(r: Rec, i: number, cluster: string): Partition {
    const name = requireName(r, 'name', this.version, 'partition', i);
    const nodeList = str(r.nodes);
    let isDefault = false;
    const flags = r.flags;
    if (Array.isArray(flags)) for (const f of flags) if (typeof f === 'string' && f.toUpperCase() === 'DEFAULT') isDefault = true;
    return {
      cluster,
      name,
      state: str(r.state).toUpperCase(),
      nodes: hosts(nodeList),
      node_list: nodeList,
      total_cpus: num(r.total_cpus) ?? 0,
      total_nodes: num(r.total_nodes) ?? 0,
      is_default: isDefault,
      max_time_s: minutesToSeconds(r.max_time_limit),
      default_time_s: minutesToSeconds(r.default_time_limit),
      allowed_accounts: names(r.allowed_accounts),
      allowed_qos: names(r.allowed_qos),
      qos: str(r.qos),
    };
  }

  protected reservation(r: Rec, i: number, cluster: string): Reservation {
    const name = requireName(r, 'name', this.version, 'reservation', i);
    const nodeList = str(r.node_list);
    return {
      cluster,
      name,
      nodes: hosts(nodeList),
      node_list: nodeList,
      start_time: iso(r.start_time),
      end_time: iso(r.end_time),
      users: names(r.users),
      accounts: names(r.accounts),
      flags: upperList(r.flags),
      partition: str(r.partition),
      node_count: num(r.node_count) ?? 0,
      core_count: num(r.core_count) ?? 0,
    };
  }

  /** Real dbv0.0.38 answers use "QOS"; accept the spec's "qos" too. */
  protected qosKey(body: unknown): string {
    if (body !== null && typeof body === 'object' && Array.isArray((body as Rec).QOS)) return 'QOS';
    return 'qos';
  }

  protected qosRecord(r: Rec, i: number, cluster: string): Qos {
    const name = requireName(r, 'name', this.version, 'qos', i);
    const preempt = field(r.preempt, 'mode');
    return {
      cluster,
      name,
      description: str(r.description),
      priority: num(r.priority) ?? 0,
      max_wall_s: minutesToSeconds(path(r.limits, 'max', 'wall_clock', 'per', 'job')),
      flags: upperList(r.flags),
      preempt_mode: upperList(preempt).join(','),
    };
  }

  protected account(r: Rec, i: number, cluster: string): Account {
    const name = requireName(r, 'name', this.version, 'account', i);
    const coordinators: string[] = [];
    const list = r.coordinators;
    if (Array.isArray(list)) {
      for (const c of list) {
        const n = c !== null && typeof c === 'object' ? (c as Rec).name : c;
        if (typeof n === 'string' && n !== '') coordinators.push(n);
      }
    }
    return {
      cluster,
      name,
      description: str(r.description),
      organization: str(r.organization),
      coordinators,
    };
  }

  protected association(r: Rec, i: number, cluster: string): Association {
    return {
      cluster,
      account: requireName(r, 'account', this.version, 'association', i),
      user: str(r.user),
      partition: str(r.partition),
      parent_account: str(r.parent_account),
      qos: names(r.qos),
      default_qos: str(field(r.default, 'qos')),
      id: this.associationId(r),
    };
  }

  /** dbv0.0.38 / v0.0.39 associations carry no id. */
  protected associationId(_r: Rec): number | undefined {
    return undefined;
  }

  /** v0.0.38: `ping: "UP"|"DOWN"`. */
  protected pingResponding(r: Rec): boolean {
    return str(r.ping).toUpperCase() === 'UP';
  }

  /** `mode` is "primary", "backup1", "backup2"...; without it the first entry is the primary. */
  protected pingMode(r: Rec, i: number): string {
    const mode = str(r.mode);
    if (mode === 'primary') return 'primary';
    if (mode.startsWith('backup')) return 'backup';
    return i === 0 ? 'primary' : 'backup';
  }

  protected pingLatencyMs(_r: Rec): number | undefined {
    return undefined;
  }
}

/** Job memory in MB: memory_per_node, else memory_per_cpu * cpus; 0/unset is unknown. */
function jobMemory(r: Rec, cpus: number): number | undefined {
  const perNode = positive(r.memory_per_node);
  if (perNode !== undefined) return perNode;
  const perCpu = positive(r.memory_per_cpu);
  if (perCpu !== undefined && cpus > 0) return perCpu * cpus;
  return undefined;
}
