// The hub role (`sfleet hub`); the agent's commands are in agent-commands.ts.
// The role is loaded when its command runs, so client commands start fast.
import type { Command } from 'commander';
import { collect, overrides, untilSignal } from './run-options.js';

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
      // What the hub and its libraries create is private, as under the systemd unit (UMask=0077):
      // DuckDB makes its database, WAL and spill files with the process's umask, not ours.
      process.umask(0o077);
      // The rbac section reloads when the file changes and on SIGHUP (a bad file is refused and logged).
      const hub = await startHub(config, opts.config ? { reload: { file: opts.config as string, load } } : {});
      process.on('SIGHUP', () => void hub.reloadRbac());
      untilSignal(() => hub.close());
    });
}
