import { describe, expect, it } from 'vitest';
import { checkSubmitSpec } from '../../../shared/submit/index.js';
import { sbatchArgs, sbatchError } from './cli-submit.js';

describe('sbatch for the CLI source', () => {
  it("turns a checked spec into sbatch's flags; the environment is exported by name, values never on the command line", () => {
    const spec = checkSubmitSpec({ wrap: 'hostname', partition: 'debug', account: 'research', nodes: 2, ntasks: 4, cpus_per_task: 2, mem_mb: 4096, gres: 'gpu:1', time_minutes: 90, job_name: 'a b', array: '1-10%2', output: '/tmp/o', export: { FOO: 'a,b c' } });
    const args = sbatchArgs(spec, '/home/alice');
    expect(args).toEqual([
      '--parsable', '--chdir=/home/alice', '--export=PATH,HOME,FOO', '--job-name=a b', '--partition=debug', '--account=research',
      '--nodes=2', '--ntasks=4', '--cpus-per-task=2', '--mem=4096M', '--gres=gpu:1', '--time=90', '--array=1-10%2', '--output=/tmp/o',
    ]);
    expect(args.join(' ')).not.toContain('a,b c');
    expect(sbatchArgs(checkSubmitSpec({ wrap: 'true', chdir: '/scratch' }), '/home/alice').slice(0, 3)).toEqual(['--parsable', '--chdir=/scratch', '--export=PATH,HOME']);
  });

  it('passes --gpus and --gpus-per-node to sbatch as given', () => {
    const args = sbatchArgs(checkSubmitSpec({ wrap: 'true', nodes: 2, gpus: 'a100:3', gpus_per_node: 2 }), '/home/alice');
    expect(args.slice(3)).toEqual(['--nodes=2', '--gpus=a100:3', '--gpus-per-node=2']);
  });

  it("gives Slurm's own words back", () => {
    expect(sbatchError('sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified\n')).toBe(
      'invalid partition specified: nope; Batch job submission failed: Invalid partition name specified',
    );
    expect(sbatchError('')).toBe('sbatch failed without a message');
  });
});
