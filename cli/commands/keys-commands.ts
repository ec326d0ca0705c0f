// Encryption at rest, operator side: which key seals each stored file, and key rotation.
//   sfleet keys status --config hub.yaml|agent.yaml
//   sfleet keys rotate --config hub.yaml|agent.yaml
// Rotation creates the new KEK version (file: appended to the keyring; vault: transit
// keys/<key>/rotate; env: the newest version already in the environment) and re-wraps the data
// key in every sealed file's header, in place; bulk data is not re-encrypted and old versions
// stay, so everything stays readable. Safe while the hub or agent runs: the header is swapped
// in its second slot (fsync'd) and appends are untouched; a file the running process rewrites
// during the rotation may keep the old version (`keys status` shows it; run rotate again).
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parse } from 'yaml';
import type { EncryptionConfig } from '../../shared/crypto/index.js';
import { parseFormat, render } from '../output/render.js';
import { collect } from './hub-files.js';
import { effectiveEncryption } from '../../shared/security/index.js';

interface Target {
  role: 'hub' | 'agent';
  root: string;
  encryption?: EncryptionConfig;
}

/** The hub's data_dir or the agent's spool_dir, and its encryption section. */
async function target(opts: { config: string; set: string[] }): Promise<Target> {
  const { loadConfigFile } = await import('../../shared/config/index.js');
  let raw: unknown;
  try {
    raw = parse(readFileSync(opts.config, 'utf8'));
  } catch {
    raw = undefined; // loadConfigFile below gives the precise message
  }
  const isAgent = !!raw && typeof raw === 'object' && ('cluster' in raw || 'spool_dir' in raw);
  if (isAgent) {
    const { agentConfigSchema } = await import('../../agent/config/index.js');
    const c = loadConfigFile(agentConfigSchema, opts.config, { overrides: opts.set });
    return { role: 'agent', root: resolve(c.spool_dir), encryption: effectiveEncryption(c.encryption, c.security) };
  }
  const { hubConfigSchema } = await import('../../hub/config/index.js');
  const c = loadConfigFile(hubConfigSchema, opts.config, { overrides: opts.set });
  return { role: 'hub', root: resolve(c.data_dir), encryption: effectiveEncryption(c.encryption, c.security) };
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('encryption at rest: key status and rotation');
  keys
    .command('status')
    .description('list the stored files of a hub or agent and the key version sealing each')
    .requiredOption('--config <file>', 'the hub or agent config file')
    .option('--set <key=value>', 'override a config key', collect, [])
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (opts) => {
      const format = parseFormat(opts.output);
      const { AtRest } = await import('../../shared/crypto/index.js');
      const t = await target(opts);
      const rows = AtRest.plaintext()
        .files([t.root])
        .map((f) => ({
          file: relative(t.root, f.path),
          encrypted: !!f.header,
          purpose: f.header?.purpose ?? null,
          provider: f.header?.provider ?? null,
          key_id: f.header?.key_id ?? null,
          key_version: f.header?.key_version ?? null,
        }));
      process.stdout.write(
        render(rows, format, [
          { header: 'FILE', value: (r) => r.file },
          { header: 'ENCRYPTED', value: (r) => (r.encrypted ? 'yes' : 'no') },
          { header: 'PURPOSE', value: (r) => r.purpose },
          { header: 'KEY', value: (r) => (r.provider ? `${r.provider}:${r.key_id}` : '') },
          { header: 'VERSION', value: (r) => (r.key_version ? `v${r.key_version}` : '') },
        ]) + '\n',
      );
    });
  keys
    .command('rotate')
    .description('create a new key version and re-wrap every stored data key to it (old data stays readable)')
    .requiredOption('--config <file>', 'the hub or agent config file')
    .option('--set <key=value>', 'override a config key', collect, [])
    .action(async (opts) => {
      const { AtRest } = await import('../../shared/crypto/index.js');
      const t = await target(opts);
      if (!t.encryption?.enabled) throw new Error(`${opts.config}: encryption is not enabled (encryption.enabled: true)`);
      const atRest = await AtRest.create(t.encryption, { createKeyring: false });
      const result = await atRest.rotate([t.root]);
      process.stdout.write(
        `${atRest.describe()}: ${result.created ? `created version v${result.version}` : `newest version in the environment is v${result.version}`}\n` +
          `re-wrapped ${result.rewrapped.length} file(s) in ${t.root}, ${result.current.length} already at v${result.version}\n`,
      );
      for (const f of result.failed) process.stderr.write(`failed: ${f.error}\n`);
      if (result.failed.length) throw new Error(`${result.failed.length} file(s) could not be re-wrapped; they stay readable with their previous key version`);
    });
}
