// A batch job submitted through slurmrestd as the caller's Slurm user: the SlurmUser/root token
// with X-SLURM-USER-NAME set to that user (Slurm 22.05 runs the job as them). v0.0.38 shape:
// POST /slurm/{v}/job/submit {script, job:{...}}; environment is an object there, an array later.
import { SlurmUnavailableError } from '../../../shared/errors/index.js';
import { jobEnvironment, type SubmitSpec } from '../../../shared/submit/index.js';
import type { SubmitOutcome, SubmitRequest } from '../source.js';
import { compareVersions } from './negotiate.js';
import type { RestResponse } from './rest-exchange.js';
import { slurmErrors } from './rest-commands.js';

/** The v0.0.38+ job description of a checked spec, run in `home` unless chdir is given. */
export function restJob(spec: SubmitSpec, home: string, version: string): Record<string, unknown> {
  const env = jobEnvironment(spec, home);
  const job: Record<string, unknown> = {
    environment: compareVersions(version, 'v0.0.39') >= 0 ? Object.entries(env).map(([k, v]) => `${k}=${v}`) : env,
    current_working_directory: spec.chdir ?? home,
  };
  const put = (key: string, value: unknown): void => {
    if (value !== undefined) job[key] = value;
  };
  put('name', spec.job_name);
  put('partition', spec.partition);
  put('account', spec.account);
  put('qos', spec.qos);
  put('nodes', spec.nodes === undefined ? undefined : String(spec.nodes));
  put('tasks', spec.ntasks);
  put('cpus_per_task', spec.cpus_per_task);
  put('memory_per_node', spec.mem_mb);
  put('gres', spec.gres);
  put('gpus', spec.gpus);
  put('gpus_per_node', spec.gpus_per_node);
  put('time_limit', spec.time_minutes);
  put('array', spec.array);
  put('standard_output', spec.output);
  return job;
}

export type SubmitRequestFn = (path: string, body: unknown, user: string, signal?: AbortSignal) => Promise<RestResponse>;

/** Submits; Slurm's refusal comes back as ok:false with Slurm's own words. */
export async function submitThroughRest(version: string, req: SubmitRequest, send: SubmitRequestFn, signal?: AbortSignal): Promise<SubmitOutcome> {
  const res = await send(`/slurm/${version}/job/submit`, { script: req.spec.script, job: restJob(req.spec, req.home, version) }, req.user, signal);
  if (res.status === 401 || res.status === 403) throw new SlurmUnavailableError(`slurmrestd refused our credentials (HTTP ${res.status}) for submit`, res.status);
  let doc: { errors?: unknown; job_id?: unknown } | undefined;
  try {
    doc = JSON.parse(res.text) as typeof doc;
  } catch {
    throw new SlurmUnavailableError(`slurmrestd answered HTTP ${res.status} to submit with no JSON`, res.status);
  }
  const refusal = slurmErrors(doc?.errors);
  if (refusal.length > 0) return { ok: false, message: `submit: ${refusal.join('; ').slice(0, 500)}`, via: 'rest', job_id: '' };
  if (typeof doc?.job_id !== 'number') throw new SlurmUnavailableError(`slurmrestd answered HTTP ${res.status} to submit without a job id`, res.status);
  return { ok: true, message: `submitted job ${doc.job_id} as ${req.user}`, via: 'rest', job_id: String(doc.job_id) };
}
