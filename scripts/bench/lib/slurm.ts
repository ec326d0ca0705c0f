// The project's local Slurm 22.05 (scripts/slurm/start.sh) for the agent-cost benchmark. Only
// called from a process that holds the Slurm lock (lib/slurm-lock.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execText, ROOT, slurmExports, withoutJwt } from '../../../test/harness/index.js';

const ENV_FILE = '/tmp/sfleet-slurm/env';

export interface SlurmEnv {
  vars: Record<string, string>;
  restUrl: string;
  jwt: string;
  /** For Slurm clients: SLURM_CONF set, SLURM_JWT removed (with it the CLI would use auth/jwt). */
  cliEnv: NodeJS.ProcessEnv;
  restPid: number;
}

/** A Slurm client or script to completion; its stdout. */
export function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<string> {
  return execText(file, args, { env, timeoutMs });
}

function toEnv(vars: Record<string, string>): SlurmEnv {
  const cliEnv: NodeJS.ProcessEnv = { ...withoutJwt(process.env), SLURM_CONF: vars.SLURM_CONF };
  const pidFile = join(vars.SFLEET_SLURM_DIR ?? '/tmp/sfleet-slurm', 'run', 'slurmrestd.pid');
  return { vars, restUrl: vars.SLURMRESTD_URL, jwt: vars.SLURM_JWT, cliEnv, restPid: existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0 };
}

async function healthy(env: SlurmEnv): Promise<boolean> {
  if (!env.restUrl || !env.jwt || !env.restPid || !existsSync(`/proc/${env.restPid}`)) return false;
  try {
    const res = await fetch(`${env.restUrl}/slurm/v0.0.38/ping`, { headers: { 'x-slurm-user-name': 'root', 'x-slurm-user-token': env.jwt }, signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** The running local Slurm, started (or its token renewed) by scripts/slurm/start.sh when needed. */
export async function ensureSlurm(log: (line: string) => void): Promise<SlurmEnv> {
  if (existsSync(ENV_FILE)) {
    const env = toEnv(slurmExports(readFileSync(ENV_FILE, 'utf8')));
    if (await healthy(env)) return env;
  }
  if (process.getuid?.() !== 0) throw new Error('the local Slurm is not running and starting it needs root');
  log('agent cost: starting the local Slurm (scripts/slurm/start.sh)');
  const out = await run('bash', [join(ROOT, 'scripts/slurm/start.sh')], withoutJwt(process.env), 300_000);
  const env = toEnv(slurmExports(out));
  if (!(await healthy(env))) throw new Error('scripts/slurm/start.sh finished but slurmrestd does not answer');
  return env;
}
