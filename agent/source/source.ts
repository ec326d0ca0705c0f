import type { FleetEvent } from '../../generated/fleet/v1/agent.js';
import type { ClusterModel, KindName } from '../../shared/model/index.js';
import type { SlurmrestdStats } from './slurmrestd/request-stats.js';

/** What the hub may ask an agent to do to Slurm. */
export type CommandKindName = 'cancel' | 'hold' | 'release' | 'requeue' | 'drain' | 'resume';

export interface SlurmCommand {
  kind: CommandKindName;
  /** Job id (as a string) for job commands, node name for node commands. */
  target: string;
  reason?: string;
}

export interface CommandOutcome {
  ok: boolean;
  message: string;
  /** How it was carried out: "rest", "scontrol". */
  via: string;
}

/** A checked batch job to submit as `user` (already checked by the agent's submit rules). */
export interface SubmitRequest {
  spec: import('../../shared/submit/index.js').SubmitSpec;
  user: string;
  /** The user's home: the working directory unless the spec gives chdir. */
  home: string;
}

export interface SubmitOutcome extends CommandOutcome {
  /** The new job's id when ok. */
  job_id: string;
}

export interface PollResult {
  model: ClusterModel;
  /** Kinds Slurm said did not change since the previous poll (304); the model still holds them. */
  unchanged: Set<KindName>;
  /** Kinds that could not be read this time (slurmdbd down...); the agent keeps the previous values. */
  failed: Map<KindName, Error>;
  apiVersion: string;
  endpoint: string;
}

/**
 * One Slurm controller as a source of the normalized model, and the way to act on it.
 * Implementations: slurmrestd (agent/source/slurmrestd) and the squeue/sinfo CLI (agent/source/cli).
 */
export interface SlurmSource {
  readonly name: 'rest' | 'cli';
  poll(signal?: AbortSignal): Promise<PollResult>;
  execute(command: SlurmCommand, signal?: AbortSignal): Promise<CommandOutcome>;
  /** Submits a batch job as another user; sources that cannot, lack it. */
  submit?(request: SubmitRequest, signal?: AbortSignal): Promise<SubmitOutcome>;
  close(): Promise<void>;
  /** Things that happened (controller failover, down, up) since the last call; the pipeline spools them. */
  takeEvents?(): FleetEvent[];
  /** Calls `listener` when an event is waiting, so it need not wait for the next poll. */
  onEvents?(listener: () => void): void;
  /** slurmrestd sources: every request's latency and errors by kind. */
  readonly slurmrestdStats?: SlurmrestdStats;
}
