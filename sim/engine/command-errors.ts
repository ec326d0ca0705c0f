// Refusals of operator commands (scancel, scontrol hold/release/requeue/update...) in Slurm's
// own terms, so the hub reports the errno and text a real slurmctld would.
/** A Slurm error for a refused command, with slurm_errno.h's number and slurm_strerror()'s text. */
export class SimCommandError extends Error {
  constructor(
    readonly errno: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
    this.name = 'SimCommandError';
  }
}

export const SLURM_ERRORS = {
  INVALID_JOB_ID: [2017, 'Invalid job id specified'],
  INVALID_NODE_NAME: [2018, 'Invalid node name specified'],
  ALREADY_DONE: [2021, 'Job/step already completing or completed'],
  JOB_PENDING: [2024, 'Job is pending execution'],
  JOB_NOT_PENDING: [2073, 'Job is no longer pending execution'],
  INVALID_PARTITION_NAME: [2000, 'Invalid partition name specified'],
  INVALID_NODE_STATE: [2028, 'Invalid node state specified'],
  INVALID_ACCOUNT: [2045, 'Invalid account or account/partition combination specified'],
  INVALID_QOS: [2066, 'Invalid qos specification'],
  INVALID_CPU_COUNT: [2069, 'CPU count specification invalid'],
} as const satisfies Record<string, readonly [number, string]>;

export function slurmError(which: keyof typeof SLURM_ERRORS, description: string): SimCommandError {
  const [errno, text] = SLURM_ERRORS[which];
  return new SimCommandError(errno, text, description);
}
