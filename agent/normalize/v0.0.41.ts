// slurmrestd v0.0.41 (data_parser v0.0.41: Slurm 24.05 .. 25.11). Differences from v0.0.40
// that matter here:
// - association `id` becomes a plain integer (was `{id, account, ...}`).
// Ignored (not in the model): the spec renames `*_no_val` schemas to `*_no_val_struct` (same
// JSON); job `job_resources` is restructured (nodes.{list,count,allocation}); partitions gain
// `select_type`; nodes gain `gpu_spec`, `res_cores_per_gpu`.
import { AdapterV0040 } from './v0.0.40.js';
import type { ApiVersion } from './adapter.js';
import { num, type Rec } from './slurm-values.js';

export class AdapterV0041 extends AdapterV0040 {
  override readonly version: ApiVersion = 'v0.0.41';

  protected override associationId(r: Rec): number | undefined {
    return num(r.id);
  }
}
