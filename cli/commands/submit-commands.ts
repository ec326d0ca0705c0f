// `sfleet submit CLUSTER [SCRIPT]`: sbatch's flags, sent to POST /api/v1/jobs/{cluster}; the hub
// admits it against quota and the cluster's agent submits it as your Slurm user.
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { HubRequestError } from '../client/index.js';
import { clientFrom, withConnection } from './connection-options.js';

const MAX_SCRIPT = 1024 * 1024;
const int = (flag: string) => (v: string): number => {
  if (!/^\d+$/.test(v)) throw new HubRequestError(`${flag}: a whole number, got "${v}"`);
  return Number(v);
};

/** sbatch's --mem: 500, 500M, 4G, 1T (MiB by default). */
function memMb(v: string): number {
  const m = /^(\d+)([KMGT]?)B?$/i.exec(v.trim());
  if (!m) throw new HubRequestError(`--mem: like 500M or 4G, got "${v}"`);
  const n = Number(m[1]);
  return Math.max(1, Math.ceil({ K: n / 1024, M: n, G: n * 1024, T: n * 1024 * 1024, '': n }[m[2].toUpperCase() as 'K']));
}

/** sbatch's --time: minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]]. */
function minutes(v: string): number {
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(v.trim());
  if (!m) throw new HubRequestError(`--time: like 30, 1:30:00 or 2-00:00:00, got "${v}"`);
  const [d, a, b, c] = [m[1], m[2], m[3], m[4]].map((x) => (x === undefined ? undefined : Number(x)));
  if (d !== undefined) return Math.max(1, d * 1440 + a! * 60 + (b ?? 0) + Math.ceil((c ?? 0) / 60));
  if (c !== undefined) return Math.max(1, a! * 60 + b! + Math.ceil(c / 60));
  if (b !== undefined) return Math.max(1, a! + Math.ceil(b / 60));
  return a!;
}

/** --export: NONE, or NAME=value[,NAME=value] (ALL is not offered: a job gets NONE semantics). */
function exportsOf(v: string | undefined): Record<string, string> | undefined {
  if (!v || v === 'NONE') return undefined;
  const out: Record<string, string> = {};
  for (const part of v.split(',')) {
    if (part === 'NONE') continue;
    const i = part.indexOf('=');
    if (i <= 0) throw new HubRequestError(`--export: NAME=value pairs (jobs start from --export=NONE), got "${part}"`);
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

export function registerSubmitCommands(program: Command): void {
  withConnection(
    program
      .command('submit <cluster> [script]')
      .description('submit a batch job as your Slurm user (admitted against your quotas first); prints the job id')
      .option('--wrap <cmd>', 'the job is this one command')
      .option('-p, --partition <name>').option('-A, --account <name>').option('-q, --qos <name>')
      .option('-N, --nodes <n>', '', int('--nodes')).option('-n, --ntasks <n>', '', int('--ntasks'))
      .option('-c, --cpus-per-task <n>', '', int('--cpus-per-task'))
      .option('--mem <size>', 'per node, e.g. 4G', memMb).option('--gres <list>', 'e.g. gpu:1')
      .option('-G, --gpus <[type:]n>', 'GPUs for the whole job').option('--gpus-per-node <[type:]n>', 'GPUs on each node')
      .option('-t, --time <time>', 'e.g. 30, 1:00:00', minutes).option('-J, --job-name <name>').option('-a, --array <spec>')
      .option('-o, --output <path>').option('-D, --chdir <dir>', 'default: your home on the cluster')
      .option('--export <list>', 'NAME=value,... on top of a clean environment (NONE semantics)')
      .option('--idempotency-key <key>', 'send the same key again to get the first answer instead of a second job'),
  ).action(async (cluster: string, scriptPath: string | undefined, opts) => {
    if (!!scriptPath === !!opts.wrap) throw new HubRequestError('give a script file or --wrap CMD (one of them)');
    let script: string | undefined;
    if (scriptPath) {
      if (statSync(scriptPath).size > MAX_SCRIPT) throw new HubRequestError(`${scriptPath} is larger than 1 MiB`);
      script = readFileSync(scriptPath, 'utf8');
    }
    const body = Object.fromEntries(
      Object.entries({
        script, wrap: opts.wrap, partition: opts.partition, account: opts.account, qos: opts.qos, nodes: opts.nodes, ntasks: opts.ntasks,
        cpus_per_task: opts.cpusPerTask, mem_mb: opts.mem, gres: opts.gres, gpus: opts.gpus, gpus_per_node: opts.gpusPerNode, time_minutes: opts.time, job_name: opts.jobName, array: opts.array,
        output: opts.output, chdir: opts.chdir, export: exportsOf(opts.export),
      }).filter(([, v]) => v !== undefined),
    );
    const key = String(opts.idempotencyKey ?? randomUUID());
    const answer = await clientFrom(opts).json<{ job_id: string; user: string }>('POST', `/api/v1/jobs/${encodeURIComponent(cluster)}`, body, { 'idempotency-key': key });
    process.stdout.write(`Submitted batch job ${answer.job_id} (as ${answer.user})\n`);
  });
}
