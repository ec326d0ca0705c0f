// slurmrestd v0.0.43 (data_parser v0.0.43: Slurm 25.05, 25.11). No difference from v0.0.42
// in the fields the model reads (checked against the specs and the 25.05/25.11 recordings).
// Ignored: nodes gain `cert_flags`, `topology`, `tls_cert_last_renewal`; partitions gain
// `topology`; jobs gain `licenses_allocated`, `segment_size`, `std{in,out,err}_expanded`;
// enum schemas are inlined in the spec (same JSON).
import { AdapterV0042 } from './v0.0.42.js';
import type { ApiVersion } from './adapter.js';

export class AdapterV0043 extends AdapterV0042 {
  override readonly version: ApiVersion = 'v0.0.43';
}
