// The `sfleet` program's frame, shared by the full CLI (main.ts) and the agent's own entry
// (agent-main.ts): name, version, and how a failure becomes an exit code and one line on stderr.
import { Command, CommanderError } from 'commander';
import { FleetError } from '../shared/errors/index.js';
import { VERSION } from '../shared/version.js';

export function newProgram(): Command {
  return new Command('sfleet')
    .version(VERSION)
    .description('slurmfleet: see, control and be paged about many Slurm clusters')
    .showSuggestionAfterError()
    .exitOverride();
}

/** 0 done, 1 the command failed, 2 a usage error (commander has printed it). */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    const message = err instanceof FleetError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message}\n`);
    return 1;
  }
}
