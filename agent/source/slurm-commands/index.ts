// Running the Slurm client binaries (scontrol, squeue, scancel...) and the hub's commands as
// client calls: shared by the CLI source, which reads and acts through them, and by the
// slurmrestd source, which checks every command here and falls back to a client call where its
// API version has no endpoint.
export { checkCommand, cleanReason, cliCall, describeCommand, executeWithCli, DEFAULT_DRAIN_REASON } from './commands.js';
export { controllerUnreachable, firstError, runSlurm, type RunOptions, type RunResult, type SlurmRunner } from './run.js';
