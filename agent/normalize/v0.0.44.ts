// slurmrestd v0.0.44 (data_parser v0.0.44: Slurm 25.11). No difference from v0.0.43 in the
// fields the model reads (checked against the spec and the 25.11 recordings).
// Ignored: jobs gain `step_id` {job_id, sluid, step_id...} and `submit_line`; new endpoints
// (/slurm/v0.0.44/new/node, /resources/{job_id}, /util/v0.0.44/hostlist and /hostnames). Partitions still have no default flag (`flags` only arrives in v0.0.45).
import { AdapterV0043 } from './v0.0.43.js';
import type { ApiVersion } from './adapter.js';

export class AdapterV0044 extends AdapterV0043 {
  override readonly version: ApiVersion = 'v0.0.44';
}
