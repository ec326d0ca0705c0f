// `sfleet agent ...` alone. The single binary runs this entry, bundled into a script of its own,
// when its first argument is `agent` (scripts/release/sea-entry.ts): an agent then compiles and
// holds only the agent's code, not the hub's and the client commands' (about 9 MB of source).
import { registerAgentCommands } from './commands/agent-commands.js';
import { exitQuietlyOnClosedPipe } from './output/closed-pipe.js';
import { newProgram, runProgram } from './program.js';

export function agentMain(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe(argv);
  const program = newProgram();
  registerAgentCommands(program);
  return runProgram(program, argv);
}
