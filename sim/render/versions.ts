// The slurmrestd API versions the simulator speaks, each paired with the Slurm release that
// introduced it (its `meta` says that release). What changes from one version to the next, and
// where the renderers handle it:
//
// v0.0.38 (22.05.8, static spec)  flat numbers, `null` for unset; job_state a string; node `state`
//   lower case plus `state_flags`; exit_code is the raw wait status (exit 3 → 768, SIGTERM → 15);
//   `meta.Slurm` with numeric version; no `warnings`, no `last_update`; pending jobs carry no
//   `job_resources`; no node update endpoint; nodes?update_time has the 22.05 partition bug (500).
// v0.0.39 (23.02.8)  `{set, infinite, number}` objects for counts, limits, priority and exit codes
//   (times stay plain integers); `meta.Slurm` (capital S) gains plugin.data_parser and client;
//   `warnings` arrays; node `state` is an upper-case flag array; partition fields nested
//   (`nodes.configured`, `cpus.total`, `maximums.time`, no state and no default flag); ping has
//   `pinged`/`latency`; job `hold` appears; POST /node/{name} exists.
// v0.0.40 (23.11.10)  job_state becomes a flag array; times become number objects; exit_code
//   becomes `{status, return_code, signal}`; `meta.slurm` (lower case, string version parts,
//   cluster); top level `last_update` (and `last_backfill` for jobs), payload key first;
//   partition gains `partition.state` and memory no-val structs; node cpu_load plain integer again.
// v0.0.41 (24.05.3)  job_resources rewritten: `nodes.allocation[]` with per-core status; pending
//   job_resources is null; partition `select_type`; node `gpu_spec`, `res_cores_per_gpu`.
// v0.0.42 (24.11.5)  job drops `exclusive`, `oversubscribe`, `show_flags`, `minimum_switches`;
//   adds `priority_by_partition`, `required_switches`; ping adds `responding`/`primary`.
// v0.0.43 (25.05.4)  job adds `licenses_allocated`, `segment_size`, expanded std paths (and the
//   std stream keys reorder); node adds `cert_flags`, `tls_cert_last_renewal`, `topology`;
//   partition adds `topology`.
// v0.0.44 (25.11.0)  job adds `step_id` and `submit_line`; slurmrestd's not-found text changes.

export const API_VERSIONS = ['v0.0.38', 'v0.0.39', 'v0.0.40', 'v0.0.41', 'v0.0.42', 'v0.0.43', 'v0.0.44'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

export interface VersionInfo {
  version: ApiVersion;
  /** 38..44, for "from this version on" checks. */
  n: number;
  release: string;
  major: string;
  minor: string;
  micro: string;
  /** Body of slurmrestd's plain-text 404. */
  notFoundText: string;
}

const OLD_NOT_FOUND = 'Unable find requested URL. Please view /openapi/v3 for API reference.';
const NEW_NOT_FOUND =
  "Unable to find requested URL endpoint. Please query the '/openapi/v3' endpoint or visit 'https://slurm.schedmd.com/rest_api.html' for the OpenAPI specification which includes a list of all possible slurmrestd endpoints.";

const RELEASES: Record<ApiVersion, string> = {
  'v0.0.38': '22.05.8',
  'v0.0.39': '23.02.8',
  'v0.0.40': '23.11.10',
  'v0.0.41': '24.05.3',
  'v0.0.42': '24.11.5',
  'v0.0.43': '25.05.4',
  'v0.0.44': '25.11.0',
};

export function isApiVersion(v: string): v is ApiVersion {
  return (API_VERSIONS as readonly string[]).includes(v);
}

export function versionInfo(version: ApiVersion): VersionInfo {
  const release = RELEASES[version];
  const [major, minor, micro] = release.split('.');
  const n = Number(version.slice('v0.0.'.length));
  return { version, n, release, major, minor, micro, notFoundText: n >= 44 ? NEW_NOT_FOUND : OLD_NOT_FOUND };
}
