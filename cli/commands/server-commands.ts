// Long-running roles: hub and agent.
// The roles are loaded when their command runs, so client commands start fast.
import type { Command } from 'commander';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Named flags are shorthands for --set key=value. */
function overrides(opts: Record<string, unknown>, names: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [flag, key] of Object.entries(names)) if (opts[flag] !== undefined) out.push(`${key}=${String(opts[flag])}`);
  return [...out, ...((opts.set as string[]) ?? [])];
}

function untilSignal(close: () => Promise<void>): void {
  let closing = false;
  const stop = (signal: string): void => {
    if (closing) return;
    closing = true;
    process.stderr.write(`${signal}: shutting down\n`);
    void close().finally(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

export function registerServerCommands(program: Command): void {
  program
    .command('hub')
    .description('run a hub')
    .option('--config <file>', 'hub YAML config')
    .option('--set <key=value>', 'set any config key, e.g. --set listen.http=0.0.0.0:8443 (repeatable)', collect, [])
    .option('--region <name>')
    .option('--data-dir <dir>')
    .option('--listen-http <host:port>')
    .option('--listen-grpc <host:port>')
    .option('--tls-ca <file>')
    .option('--tls-cert <file>')
    .option('--tls-key <file>')
    .action(async (opts) => {
      const { loadConfigFile } = await import('../../shared/config/index.js');
      const { hubConfigSchema } = await import('../../hub/config/index.js');
      const { startHub } = await import('../../hub/main.js');
      const load = () =>
        loadConfigFile(hubConfigSchema, opts.config, {
          overrides: overrides(opts, { region: 'region', dataDir: 'data_dir', listenHttp: 'listen.http', listenGrpc: 'listen.grpc', tlsCa: 'tls.ca', tlsCert: 'tls.cert', tlsKey: 'tls.key' }),
        });
      const config = load();
      // The rbac section reloads when the file changes and on SIGHUP (a bad file is refused and logged).
      const hub = await startHub(config, opts.config ? { reload: { file: opts.config as string, load } } : {});
      process.on('SIGHUP', () => void hub.reloadRbac());
      untilSignal(() => hub.close());
    });

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
