// Running one Slurm client binary: execFile (no shell), a timeout, an output cap and an
// environment without SLURM_JWT (with it, the Slurm CLI switches to auth/jwt and srun breaks).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { SlurmResponseError, SlurmUnavailableError } from '../../../shared/errors/index.js';

export interface RunOptions {
  /** Directory of the Slurm binaries; unset means PATH. */
  binDir?: string;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Base environment for the child; SLURM_JWT is always removed. Default process.env. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface RunResult {
  /** The exit code; 0 means success. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Injected where a component runs Slurm binaries, so tests can fake them. */
export type SlurmRunner = (binary: string, args: string[], signal?: AbortSignal) => Promise<RunResult>;

/**
 * Runs `binary args...`. A binary that cannot start, hangs or floods throws
 * SlurmUnavailableError / SlurmResponseError; a non-zero exit is returned, not thrown,
 * because for commands it is Slurm's answer ("Invalid job id specified").
 */
export function runSlurm(binary: string, args: string[], options: RunOptions): Promise<RunResult> {
  const file = options.binDir ? path.join(options.binDir, binary) : binary;
  const env = { ...(options.env ?? process.env) };
  delete env.SLURM_JWT;
  return new Promise((resolve, reject) => {
    options.signal?.throwIfAborted();
    execFile(
      file,
      args,
      {
        env,
        timeout: options.timeoutMs,
        maxBuffer: options.maxOutputBytes,
        signal: options.signal,
        killSignal: 'SIGKILL',
        encoding: 'utf8',
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: string | number; killed?: boolean; signal?: string };
        if (e.name === 'AbortError') return reject(options.signal?.reason ?? e);
        if (e.code === 'ENOENT' || e.code === 'EACCES') {
          return reject(new SlurmUnavailableError(`${binary} cannot be run (${e.code}: ${file})`));
        }
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          return reject(new SlurmResponseError(`${binary} printed more than ${options.maxOutputBytes} bytes`));
        }
        if (e.killed) return reject(new SlurmUnavailableError(`${binary} did not finish within ${options.timeoutMs} ms`));
        if (e.signal) return reject(new SlurmUnavailableError(`${binary} was killed by ${e.signal}`));
        if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
        reject(new SlurmUnavailableError(`${binary} failed (${String(e.code ?? 'error')})`));
      },
    );
  });
}

/** The first meaningful line of a Slurm client's stderr, trimmed for a message. */
export function firstError(stderr: string, stdout = ''): string {
  const line = `${stderr}\n${stdout}`
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  return (line ?? 'no message').slice(0, 300);
}

/** stderr that says the controller (not the request) is the problem. */
export function controllerUnreachable(stderr: string): boolean {
  return /Unable to contact slurm controller|Socket timed out|Connection refused|Zero Bytes were transmitted|Unable to establish control machine/i.test(
    stderr,
  );
}
