// What a SlurmSource is given besides its options: logger, clock, the Slurm binary runner and
// the environment. In a file of its own (not the barrel) so that both sources can take it
// without importing back up through agent/source/index.ts, which imports them.
import type { SlurmRunner } from './slurm-commands/index.js';

export interface LoggerLike {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface SourceDeps {
  logger?: LoggerLike;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
  /** Runs Slurm binaries (scontrol, squeue...); default execFile without a shell. */
  run?: SlurmRunner;
  /** Base environment of Slurm binaries (SLURM_JWT is always removed); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Each read of Slurm (a slurmrestd request, a CLI run) as a span of the poll in progress. */
  reads?: ReadTrace;
}

export interface ReadTrace {
  /** Called as a read starts; the function it returns, as it ends (with its error if it failed). */
  start(what: string): (err?: unknown) => void;
}
