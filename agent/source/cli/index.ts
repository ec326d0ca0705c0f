// The Slurm client binaries: a SlurmSource for sites without slurmrestd, and the scontrol /
// scancel commands the slurmrestd source falls back to where its API has no endpoint.
export { CliSource, serializerVersion, type CliSourceOptions } from './cli-source.js';
export { checkCommand, cleanReason, cliCall, describeCommand, executeWithCli, DEFAULT_DRAIN_REASON } from './commands.js';
export { runSlurm, type RunOptions, type RunResult, type SlurmRunner } from './run.js';
export { SingleFlight } from './single-flight.js';
export * from './parse.js';
