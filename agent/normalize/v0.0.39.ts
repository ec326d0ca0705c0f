// slurmrestd v0.0.39 (data_parser v0.0.39: Slurm 23.02, 23.11, 24.05). Differences from
// v0.0.38 that matter here:
// - counts and limits become `{set, infinite, number}` objects (cpus, node_count, priority,
//   time_limit, memory_per_*, array/het ids, exit_code, node cpu_load/free_mem...). Times
//   (submit/start/end, node boot_time/last_busy/reason_changed_at) stay flat unix seconds.
//   num() reads both shapes, so the job mapping itself is inherited unchanged.
// - job_state is still ONE string and exit_code still the raw wait status (inside the object).
// - node `state` becomes an array of base + flags (`["IDLE","DRAIN"]`), `state_flags` is gone;
//   `features` becomes an array; `free_memory` -> `free_mem`; `slurmd_version` -> `version`.
// - partitions are restructured into nested objects (nodes.configured, cpus.total,
//   accounts.allowed, qos.{allowed,assigned}, maximums.time, defaults.time) and carry NO state
//   and NO default flag: state stays "" and is_default false for this version.
// - QOS list is under "qos"; coordinators' `direct` is a boolean; associations get a `qos` list.
// - ping: `ping` -> `pinged` ("UP"), new `latency` in microseconds.
import type { Partition } from '../../shared/model/index.js';
import { AdapterV0038 } from './v0.0.38.js';
import type { ApiVersion } from './adapter.js';
import {
  field,
  hosts,
  minutesToSeconds,
  names,
  num,
  requireName,
  splitStateArray,
  str,
  NODE_BASE_STATES,
  type Rec,
  type SplitState,
} from './slurm-values.js';

export class AdapterV0039 extends AdapterV0038 {
  override readonly version: ApiVersion = 'v0.0.39';

  protected override nodeState(r: Rec): SplitState {
    return splitStateArray(r.state, NODE_BASE_STATES, 'UNKNOWN');
  }

  protected override nodeFreeMemory(r: Rec): unknown {
    return r.free_mem;
  }

  protected override nodeSlurmVersion(r: Rec): string {
    return str(r.version);
  }

  protected override partition(r: Rec, i: number, cluster: string): Partition {
    const name = requireName(r, 'name', this.version, 'partition', i);
    const nodes = r.nodes;
    const nodeList = str(field(nodes, 'configured'));
    const qos = r.qos;
    return {
      cluster,
      name,
      state: this.partitionState(r),
      nodes: hosts(nodeList),
      node_list: nodeList,
      total_cpus: num(field(r.cpus, 'total')) ?? 0,
      total_nodes: num(field(nodes, 'total')) ?? 0,
      is_default: false,
      max_time_s: minutesToSeconds(field(r.maximums, 'time')),
      default_time_s: minutesToSeconds(field(r.defaults, 'time')),
      allowed_accounts: names(field(r.accounts, 'allowed')),
      allowed_qos: names(field(qos, 'allowed')),
      qos: str(field(qos, 'assigned')),
    };
  }

  /** Not reported by v0.0.39. */
  protected partitionState(_r: Rec): string {
    return '';
  }

  protected override qosKey(_body: unknown): string {
    return 'qos';
  }

  protected override pingResponding(r: Rec): boolean {
    return str(r.pinged).toUpperCase() === 'UP';
  }

  protected override pingLatencyMs(r: Rec): number | undefined {
    const us = num(r.latency);
    return us === undefined ? undefined : us / 1000;
  }
}
