// slurmrestd v0.0.40 (data_parser v0.0.40: Slurm 23.11, 24.05, 24.11, 25.05). Differences
// from v0.0.39 that matter here:
// - job_state becomes an array of base + flags (`["PENDING","REQUEUED"]`, `["COMPLETED"]`),
//   so the base state is always known again.
// - exit_code becomes `{status: ["SIGNALED"], return_code: {set, number}, signal: {id, name}}`
//   instead of the raw wait status.
// - job submit/start/end times, node boot_time/last_busy/reason_changed_at and reservation
//   start/end become `{set, infinite, number}` objects (num() reads them).
// - node cpu_load is a flat integer again (still load*100).
// - partitions get their state back as `partition.state: ["UP"]` (still no default flag).
// - association `id` is an object `{id, account, cluster, partition, user}`.
// - meta.Slurm -> meta.slurm (lower case), version numbers as strings.
import { AdapterV0039 } from './v0.0.39.js';
import type { ApiVersion } from './adapter.js';
import {
  decodeExitObject,
  field,
  num,
  splitStateArray,
  JOB_BASE_STATES,
  type ExitStatus,
  type Rec,
  type SplitState,
} from './slurm-values.js';

export class AdapterV0040 extends AdapterV0039 {
  override readonly version: ApiVersion = 'v0.0.40';

  protected override jobState(r: Rec): SplitState {
    return splitStateArray(r.job_state, JOB_BASE_STATES, 'UNKNOWN');
  }

  protected override jobExit(r: Rec): ExitStatus {
    return decodeExitObject(r.exit_code);
  }

  protected override partitionState(r: Rec): string {
    const states = field(r.partition, 'state');
    if (Array.isArray(states)) {
      for (const s of states) if (typeof s === 'string' && s !== '') return s.toUpperCase();
      return '';
    }
    return typeof states === 'string' ? states.toUpperCase() : '';
  }

  protected override associationId(r: Rec): number | undefined {
    return num(field(r.id, 'id'));
  }
}
