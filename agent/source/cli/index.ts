// The Slurm client binaries as a SlurmSource, for sites without slurmrestd: squeue, sinfo,
// scontrol and sacctmgr output parsed into the model. Running the binaries and the commands as
// client calls live in ../slurm-commands (the slurmrestd source uses them too).
export { CliSource, serializerVersion, type CliSourceOptions } from './cli-source.js';
export * from './parse.js';
export { sbatchArgs, sbatchError } from './cli-submit.js';
