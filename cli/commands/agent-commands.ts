// `sfleet agent` and `sfleet agent status`. Kept apart from the hub's command and the client
// commands: the single binary runs the agent from a script of its own (cli/agent-main.ts), so an
// agent on a head node holds none of the hub's or the CLI's code in memory.
import type { Command } from 'commander';
import { collect, overrides, untilSignal } from './run-options.js';

export function registerAgentCommands(program: Command): void {
  const agent = program
    .command('agent')
    .description('run an agent next to a Slurm controller')
    .option('--config <file>', 'agent YAML config')
    .option('--set <key=value>', 'set any config key, e.g. --set poll_interval=5s (repeatable)', collect, [])
    .option('--cluster <name>')
    .option('--spool-dir <dir>')
    .option('--poll-interval <duration>')
    .action(async (opts) => {
      const { loadConfigFile } = await import('../../shared/config/index.js');
      const { agentConfigSchema } = await import('../../agent/config/index.js');
      const { startAgent } = await import('../../agent/main.js');
      const config = loadConfigFile(agentConfigSchema, opts.config, {
        overrides: overrides(opts, { cluster: 'cluster', spoolDir: 'spool_dir', pollInterval: 'poll_interval' }),
      });
      const running = await startAgent(config);
      untilSignal(() => running.close());
    });

  agent
    .command('status')
    .description("what the agent on this host is doing (asks its observe listener); exit 0 ok, 1 degraded, 2 no answer")
    .option('--config <file>', 'the agent YAML config')
    .option('--json', 'print the answer as JSON')
    .action(async (opts, cmd: Command) => {
      const { loadConfigFile } = await import('../../shared/config/index.js');
      const { agentConfigSchema } = await import('../../agent/config/index.js');
      const { agentStatus } = await import('../../agent/observe/index.js');
      // `agent` has --config too, and commander gives it the flag wherever it stands.
      const file = (opts.config ?? cmd.parent?.opts().config) as string | undefined;
      const answer = await agentStatus(loadConfigFile(agentConfigSchema, file));
      process.stdout.write(opts.json && answer.json ? `${JSON.stringify(answer.json, null, 2)}\n` : answer.text);
      process.exitCode = answer.exitCode;
    });
}
