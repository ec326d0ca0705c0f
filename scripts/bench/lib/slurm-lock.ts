// The local Slurm is shared (integration tests, other benchmark runs): whatever uses it runs
// under `flock /tmp/sfleet-slurm.lock`. When an ancestor of ours already holds that lock (npm
// test holds it for its whole run and may start the benchmarks), taking it again would wait on
// ourselves forever, so the command then runs as it is.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';

export const SLURM_LOCK = '/tmp/sfleet-slurm.lock';

/** Pids holding a flock on the lock file (from /proc/locks). */
function lockHolders(): number[] {
  if (!existsSync(SLURM_LOCK)) return [];
  const st = statSync(SLURM_LOCK);
  const major = Math.floor(st.dev / 256).toString(16).padStart(2, '0');
  const minor = (st.dev % 256).toString(16).padStart(2, '0');
  const id = `${major}:${minor}:${st.ino}`;
  const out: number[] = [];
  for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    // "1: FLOCK  ADVISORY  WRITE 9090 fe:00:2163073 0 EOF"
    if (f[1] === 'FLOCK' && f[5] === id) out.push(Number(f[4]));
  }
  return out;
}

function ancestors(): Set<number> {
  const out = new Set<number>();
  let pid = process.pid;
  for (let i = 0; i < 64 && pid > 1; i++) {
    out.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return out;
}

/** True when a process above us holds the Slurm lock already. */
export function heldByAncestor(): boolean {
  const mine = ancestors();
  return lockHolders().some((pid) => mine.has(pid));
}

/**
 * Spawns `command args` under the Slurm lock (or directly when an ancestor holds it). `flock -o`:
 * the lock's descriptor is not handed down, so Slurm daemons a benchmark starts (start.sh) do
 * not keep the lock after it ends.
 */
export function spawnUnderSlurmLock(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): { proc: ChildProcess; locked: 'flock' | 'ancestor' } {
  const inherited = heldByAncestor();
  const proc = inherited
    ? spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env })
    : spawn('flock', ['-o', SLURM_LOCK, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  return { proc, locked: inherited ? 'ancestor' : 'flock' };
}
