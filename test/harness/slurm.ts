// The project's real local Slurm for integration tests: ensureSlurm() runs
// scripts/slurm/start.sh (a no-op when it is already up) and returns what it exported.
// Slurm client calls made here never carry SLURM_JWT (with it, the CLI uses auth/jwt).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { registerSecret } from '../../scripts/test/run-dir.js';
import { execText as exec } from './exec.js';
import { ROOT } from './sfleet-process.js';

export interface SlurmEnv {
  /** State directory ($SFLEET_SLURM_DIR). */
  dir: string;
  /** Slurm's ClusterName. */
  cluster: string;
  /** slurmrestd with rest_auth/jwt, `http://127.0.0.1:PORT`. */
  restUrl: string;
  restUser: string;
  /** A root token valid for a day; send it only as X-SLURM-USER-TOKEN. */
  jwt: string;
  /** slurmrestd with rest_auth/local (acts as the operator user `slurmrestd`). */
  socket: string;
  apiVersion: string;
  /** Environment for Slurm clients: SLURM_CONF set, SLURM_JWT removed. */
  cliEnv: NodeJS.ProcessEnv;
  /** Everything start.sh exported. */
  vars: Record<string, string>;
}

let started: Promise<SlurmEnv> | undefined;

export function ensureSlurm(): Promise<SlurmEnv> {
  started ??= start();
  started.catch(() => (started = undefined));
  return started;
}

async function start(): Promise<SlurmEnv> {
  if (process.getuid?.() !== 0) throw new Error('the local Slurm needs root: run the integration tests as root');
  const script = path.join(ROOT, 'scripts/slurm/start.sh');
  // The first start on a fresh machine installs packages (about 20 s), later ones take < 10 s.
  const out = await exec('bash', [script], { env: withoutJwt(process.env), timeoutMs: 300_000 });
  const vars = slurmExports(out);
  const need = (key: string): string => {
    if (!vars[key]) throw new Error(`scripts/slurm/start.sh did not export ${key}`);
    return vars[key];
  };
  registerSecret(need('SLURM_JWT'), 'SLURM_JWT of the local slurmrestd');
  return {
    dir: need('SFLEET_SLURM_DIR'),
    cluster: need('SLURM_CLUSTER_NAME'),
    restUrl: need('SLURMRESTD_URL'),
    restUser: need('SLURMRESTD_USER'),
    jwt: need('SLURM_JWT'),
    socket: need('SLURMRESTD_SOCKET'),
    apiVersion: need('SLURMRESTD_API_VERSION'),
    cliEnv: { ...withoutJwt(process.env), SLURM_CONF: need('SLURM_CONF') },
    vars,
  };
}

/** Runs a Slurm client (`squeue`, `scontrol`...) and returns stdout; a non-zero exit throws. */
export function slurmCli(env: SlurmEnv, binary: string, args: string[]): Promise<string> {
  return exec(binary, args, { env: env.cliEnv, timeoutMs: 60_000 });
}

/** Submits a batch job as a system user (runuser, no login shell needed); returns its id. */
export async function sbatchAs(env: SlurmEnv, user: string, args: string[]): Promise<number> {
  const out = await exec('runuser', ['-u', user, '--', 'sbatch', '--parsable', '--chdir=/tmp', '--output=/dev/null', ...args], {
    env: env.cliEnv,
    timeoutMs: 60_000,
  });
  const id = Number.parseInt(out.trim().split(';')[0], 10);
  if (!Number.isInteger(id)) throw new Error(`sbatch as ${user} printed "${out.trim()}"`);
  return id;
}

/** `squeue --json` (all jobs slurmctld still holds). */
export async function squeueJson(env: SlurmEnv): Promise<{ jobs: Record<string, unknown>[] }> {
  return JSON.parse(await slurmCli(env, 'squeue', ['--json'])) as { jobs: Record<string, unknown>[] };
}

/** The `export NAME=value` lines scripts/slurm/start.sh prints (and keeps in /tmp/sfleet-slurm/env). */
export function slurmExports(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

/** env without SLURM_JWT: with it, Slurm's clients use auth/jwt. */
export function withoutJwt(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.SLURM_JWT;
  return copy;
}

/**
 * Stops the slurmd of one node (SIGTERM, waits for it to exit). With it gone, a DOWN node stays
 * down: this Slurm runs ReturnToService=2, under which a running slurmd's next registration
 * brings even an admin-set DOWN node back within seconds.
 */
export async function stopSlurmd(env: SlurmEnv, node: string): Promise<void> {
  const pidFile = path.join(env.dir, 'run', `slurmd-${node}.pid`);
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  } catch {
    return;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`slurmd of ${node} (pid ${pid}) did not exit within 15 s`);
}

/** Starts the slurmd of one node again (it daemonizes; it registers with slurmctld by itself). */
export async function startSlurmd(env: SlurmEnv, node: string): Promise<void> {
  await exec('slurmd', ['-N', node, '-f', env.cliEnv.SLURM_CONF!], { env: env.cliEnv, timeoutMs: 30_000 });
}
