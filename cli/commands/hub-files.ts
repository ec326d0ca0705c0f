// Which hub an offline command works on (token, user, revoke): its data_dir from --data-dir, or
// from --config hub.yaml (with --set overrides), and then also its encryption at rest, so
// sealed files (tokens.json, users.json) are read and written as the hub does.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { AtRest } from '../../shared/crypto/index.js';

export interface HubFileFlags {
  dataDir?: string;
  config?: string;
  set: string[];
}

/** A repeatable option's values, in order. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** --data-dir, --config and --set, as every offline hub command takes them. */
export function hubFileOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'the hub data_dir')
    .option('--config <file>', 'the hub config file (for its data_dir)')
    .option('--set <key=value>', 'override a hub config key', collect, []);
}

/**
 * The hub's data_dir, and with --config its at-rest encryption with `sealed` (a file of data_dir)
 * preloaded. --data-dir wins over --config and reads the files as they are.
 */
export async function hubFiles(flags: HubFileFlags, sealed?: string): Promise<{ dataDir: string; atRest?: AtRest }> {
  if (flags.dataDir) return { dataDir: resolve(flags.dataDir) };
  if (!flags.config) throw new Error('say which hub: --data-dir DIR (the hub data_dir) or --config hub.yaml');
  const { loadConfigFile } = await import('../../shared/config/index.js');
  const { hubConfigSchema } = await import('../../hub/config/index.js');
  const config = loadConfigFile(hubConfigSchema, flags.config, { overrides: flags.set });
  const dataDir = resolve(config.data_dir);
  if (!sealed) return { dataDir };
  const { AtRest } = await import('../../shared/crypto/index.js');
  const { effectiveEncryption } = await import('../../shared/security/index.js');
  const atRest = await AtRest.create(effectiveEncryption(config.encryption, config.security), { createKeyring: false });
  if (atRest.enabled) await atRest.preload(resolve(dataDir, sealed));
  return { dataDir, atRest };
}
