// A batch job as `sfleet submit` / POST /api/v1/jobs/{cluster} describe it (sbatch's flags), checked
// the same way on the hub and again on the agent: values go to slurmrestd and sbatch argv.
import { BadRequestError } from '../errors/index.js';

export const MAX_SCRIPT_BYTES = 1024 * 1024;

export interface SubmitSpec {
  /** The job script; `wrap` becomes one. */
  script: string;
  partition?: string;
  account?: string;
  qos?: string;
  nodes?: number;
  ntasks?: number;
  cpus_per_task?: number;
  /** Per node, in MiB. */
  mem_mb?: number;
  gres?: string;
  /** --gpus: GPUs for the whole job, `[type:]count`. */
  gpus?: string;
  /** --gpus-per-node: `[type:]count` on each node. */
  gpus_per_node?: string;
  /** Minutes. */
  time_minutes?: number;
  job_name?: string;
  array?: string;
  output?: string;
  chdir?: string;
  /** --export values on top of --export=NONE (plus a minimal PATH). */
  export?: Record<string, string>;
}

const NAME = /^[A-Za-z0-9._+-]{1,128}$/;
const GRES = /^[A-Za-z0-9_:,.-]{1,200}$/;
const ARRAY = /^[0-9,%-]{1,200}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MINIMAL_PATH = '/usr/local/bin:/usr/bin:/bin';

function text(v: unknown, field: string, pattern: RegExp): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || !pattern.test(v)) throw new BadRequestError(`${field}: invalid value "${String(v).slice(0, 60)}"`, { field });
  return v;
}

function count(v: unknown, field: string, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw new BadRequestError(`${field}: must be a whole number from 1 to ${max}`, { field });
  return v;
}

const GPUS = /^(?:([A-Za-z0-9_.-]{1,64}):)?(\d{1,7})$/;
const MAX_GPUS = 1_000_000;

/** A GPU count as sbatch's --gpus / --gpus-per-node take it: `[type:]count` (a JSON number is a count). */
function gpus(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const m = typeof v === 'number' ? (Number.isInteger(v) ? GPUS.exec(String(v)) : null) : typeof v === 'string' ? GPUS.exec(v) : null;
  if (!m || Number(m[2]) < 1 || Number(m[2]) > MAX_GPUS) throw new BadRequestError(`${field}: [type:]count with a count from 1 to ${MAX_GPUS}, got "${String(v).slice(0, 60)}"`, { field });
  return m[0];
}

/** The count of a checked `[type:]count` GPU value (0 when absent). */
export function gpuCount(v: string | undefined): number {
  return v === undefined ? 0 : Number(GPUS.exec(v)?.[2] ?? 0);
}

function path(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  // eslint-disable-next-line no-control-regex
  if (typeof v !== 'string' || v.length > 1024 || /[\u0000-\u001f]/.test(v)) throw new BadRequestError(`${field}: invalid path`, { field });
  return v;
}

/** The spec with every field checked (otherwise a BadRequestError naming the field, in its text and as `field`, so a form can show it beside the input). */
export function checkSubmitSpec(input: unknown): SubmitSpec {
  if (typeof input !== 'object' || input === null) throw new BadRequestError('the job must be a JSON object');
  const o = input as Record<string, unknown>;
  let script = o.script;
  if (o.wrap !== undefined) {
    if (script !== undefined) throw new BadRequestError('give either script or wrap, not both', { field: 'script' });
    if (typeof o.wrap !== 'string' || o.wrap.trim() === '') throw new BadRequestError('wrap: a command is needed', { field: 'wrap' });
    script = `#!/bin/sh\n${o.wrap}\n`;
  }
  if (typeof script !== 'string' || script === '') throw new BadRequestError('a script or wrap command is needed', { field: 'script' });
  if (Buffer.byteLength(script) > MAX_SCRIPT_BYTES) throw new BadRequestError(`the script is larger than ${MAX_SCRIPT_BYTES} bytes`, { field: 'script' });
  if (!script.startsWith('#!')) throw new BadRequestError('the script must start with #! (as sbatch requires)', { field: 'script' });
  const spec: SubmitSpec = { script };
  const set = <K extends keyof SubmitSpec>(k: K, v: SubmitSpec[K] | undefined): void => {
    if (v !== undefined) spec[k] = v;
  };
  set('partition', text(o.partition, 'partition', NAME));
  set('account', text(o.account, 'account', NAME));
  set('qos', text(o.qos, 'qos', NAME));
  set('nodes', count(o.nodes, 'nodes', 100_000));
  set('ntasks', count(o.ntasks, 'ntasks', 10_000_000));
  set('cpus_per_task', count(o.cpus_per_task, 'cpus_per_task', 100_000));
  set('mem_mb', count(o.mem_mb, 'mem_mb', 1024 ** 3));
  set('gres', text(o.gres, 'gres', GRES));
  set('gpus', gpus(o.gpus, 'gpus'));
  set('gpus_per_node', gpus(o.gpus_per_node, 'gpus_per_node'));
  set('time_minutes', count(o.time_minutes, 'time_minutes', 525_600 * 10));
  // eslint-disable-next-line no-control-regex
  set('job_name', text(o.job_name, 'job_name', /^[^\u0000-\u001f]{1,200}$/));
  set('array', text(o.array, 'array', ARRAY));
  set('output', path(o.output, 'output'));
  set('chdir', path(o.chdir, 'chdir'));
  if (o.export !== undefined && o.export !== null) {
    if (typeof o.export !== 'object' || Array.isArray(o.export)) throw new BadRequestError('export: an object of NAME: value', { field: 'export' });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.export as Record<string, unknown>)) {
      if (!ENV_NAME.test(k) || typeof v !== 'string' || v.length > 4096) throw new BadRequestError(`export: invalid variable "${k.slice(0, 60)}"`, { field: 'export' });
      env[k] = v;
    }
    spec.export = env;
  }
  return spec;
}

/** The environment the job gets: --export=NONE semantics, a minimal PATH, then the --export values. */
export function jobEnvironment(spec: SubmitSpec, home: string | undefined): Record<string, string> {
  return { PATH: MINIMAL_PATH, ...(home ? { HOME: home } : {}), ...(spec.export ?? {}) };
}
