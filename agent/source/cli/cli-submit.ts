// Submission for the CLI source: `sbatch --parsable` run as the caller's Slurm user with runuser
// (the agent runs as root, as slurmrestd's X-SLURM-USER-NAME needs the SlurmUser/root token), the
// script on stdin so the user need not read any file of the agent's. The job's environment is
// --export=NONE semantics plus the --export values: sbatch gets exactly that environment and
// exports those names (values never go on a command line, commas in them stay whole).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SlurmUnavailableError } from '../../../shared/errors/index.js';
import { jobEnvironment, type SubmitSpec } from '../../../shared/submit/index.js';
import type { SubmitOutcome, SubmitRequest } from '../source.js';

/** sbatch's flags for a checked spec (values were checked by checkSubmitSpec: no flag injection). */
export function sbatchArgs(spec: SubmitSpec, home: string): string[] {
  const env = jobEnvironment(spec, home);
  const args = ['--parsable', `--chdir=${spec.chdir ?? home}`, `--export=${Object.keys(env).join(',')}`];
  const put = (flag: string, value: string | number | undefined): void => {
    if (value !== undefined) args.push(`--${flag}=${value}`);
  };
  put('job-name', spec.job_name);
  put('partition', spec.partition);
  put('account', spec.account);
  put('qos', spec.qos);
  put('nodes', spec.nodes);
  put('ntasks', spec.ntasks);
  put('cpus-per-task', spec.cpus_per_task);
  put('mem', spec.mem_mb === undefined ? undefined : `${spec.mem_mb}M`);
  put('gres', spec.gres);
  put('gpus', spec.gpus);
  put('gpus-per-node', spec.gpus_per_node);
  put('time', spec.time_minutes);
  put('array', spec.array);
  put('output', spec.output);
  return args;
}

/** Slurm's own words from sbatch's stderr ("sbatch: error: " taken off each line). */
export function sbatchError(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^sbatch: error: /, '').trim())
    .filter(Boolean);
  return (lines.join('; ') || 'sbatch failed without a message').slice(0, 500);
}

/** `binary` as an absolute path: in `dir`, else the first PATH entry holding it. */
export function locate(binary: string, dir: string | undefined, searchPath: string): string | undefined {
  const dirs = dir ? [dir] : searchPath.split(':').filter(Boolean);
  return dirs.map((d) => path.join(d, binary)).find((f) => existsSync(f));
}

export interface SbatchOptions {
  binDir?: string;
  timeoutMs: number;
  /** The agent's environment: where sbatch and runuser are found, and SLURM_CONF. */
  env: NodeJS.ProcessEnv;
}

export function submitWithSbatch(req: SubmitRequest, opts: SbatchOptions, signal?: AbortSignal): Promise<SubmitOutcome> {
  const sbatch = locate('sbatch', opts.binDir, opts.env.PATH ?? '/usr/bin:/bin');
  const runuser = locate('runuser', undefined, `${opts.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/bin:/bin`);
  if (!sbatch) return Promise.reject(new SlurmUnavailableError('sbatch cannot be found'));
  if (!runuser) return Promise.reject(new SlurmUnavailableError('runuser cannot be found: the CLI source submits as the user with it'));
  const env: NodeJS.ProcessEnv = { ...jobEnvironment(req.spec, req.home), ...(opts.env.SLURM_CONF ? { SLURM_CONF: opts.env.SLURM_CONF } : {}) };
  return new Promise((resolve, reject) => {
    const child = execFile(
      runuser,
      ['-u', req.user, '--', sbatch, ...sbatchArgs(req.spec, req.home)],
      { env, cwd: '/', timeout: opts.timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', signal, maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) {
          const id = stdout.trim().split(';')[0];
          if (!/^\d+$/.test(id)) return reject(new SlurmUnavailableError(`sbatch printed no job id ("${stdout.trim().slice(0, 80)}")`));
          return resolve({ ok: true, message: `submitted job ${id} as ${req.user}`, via: 'sbatch', job_id: id });
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
        if (e.name === 'AbortError') return reject(signal?.reason ?? e);
        if (e.killed) return reject(new SlurmUnavailableError(`sbatch did not finish within ${opts.timeoutMs} ms`));
        if (typeof e.code !== 'number') return reject(new SlurmUnavailableError(`sbatch cannot be run (${String(e.code ?? e.message)})`));
        // runuser itself refusing (the agent is not root) is not Slurm's answer.
        if (/^runuser: /m.test(stderr)) return reject(new SlurmUnavailableError(`runuser: ${stderr.trim().split('\n')[0].replace(/^runuser: /, '').slice(0, 200)} (the CLI source submits as the user: run the agent as root)`));
        resolve({ ok: false, message: `submit: ${sbatchError(stderr)}`, via: 'sbatch', job_id: '' });
      },
    );
    child.stdin?.on('error', () => {}); // sbatch may exit before reading the whole script
    child.stdin?.end(req.spec.script);
  });
}
