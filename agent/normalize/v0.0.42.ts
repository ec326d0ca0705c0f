// slurmrestd v0.0.42 (data_parser v0.0.42: Slurm 24.11 .. 25.11). Differences from v0.0.41
// that matter here:
// - ping entries gain `responding` and `primary` booleans; `pinged` and `mode` are deprecated
//   (still sent by 24.11..25.11). The booleans win when present.
// Ignored (not in the model): jobs gain `priority_by_partition`/`required_switches` and lose
// `exclusive`/`oversubscribe`/`show_flags`; QOS `limits.max.jobs.count`; new /slurmdb ping.
import { AdapterV0041 } from './v0.0.41.js';
import type { ApiVersion } from './adapter.js';
import type { Rec } from './slurm-values.js';

export class AdapterV0042 extends AdapterV0041 {
  override readonly version: ApiVersion = 'v0.0.42';

  protected override pingResponding(r: Rec): boolean {
    return typeof r.responding === 'boolean' ? r.responding : super.pingResponding(r);
  }

  protected override pingMode(r: Rec, i: number): string {
    if (typeof r.primary === 'boolean') return r.primary ? 'primary' : 'backup';
    return super.pingMode(r, i);
  }
}
