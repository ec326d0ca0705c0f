// `sfleet user add|passwd|remove|list`: the hub's local (break-glass) users in
// data_dir/users.json, with scrypt hashes and optional TOTP. Run on the hub's machine.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { LocalUserStore } from '../../hub/identity/index.js';
import { render } from '../output/render.js';
import { secretFrom } from './login-commands.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function userStore(opts: { dataDir?: string; config?: string; set: string[] }): Promise<LocalUserStore> {
  const { LocalUserStore } = await import('../../hub/identity/index.js');
  if (opts.dataDir) return new LocalUserStore(resolve(opts.dataDir));
  if (opts.config) {
    const { loadConfigFile } = await import('../../shared/config/index.js');
    const { hubConfigSchema } = await import('../../hub/config/index.js');
    const config = loadConfigFile(hubConfigSchema, opts.config, { overrides: opts.set });
    // users.json is sealed when the hub encrypts its data at rest.
    const { AtRest } = await import('../../shared/crypto/index.js');
    const atRest = await AtRest.create(config.encryption, { createKeyring: false });
    if (atRest.enabled) await atRest.preload(resolve(config.data_dir, 'users.json'));
    return new LocalUserStore(resolve(config.data_dir), undefined, atRest);
  }
  throw new Error('say which hub: --data-dir DIR (the hub data_dir) or --config hub.yaml');
}

function hubOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'the hub data_dir')
    .option('--config <file>', 'the hub config file (for its data_dir)')
    .option('--set <key=value>', 'override a hub config key', collect, []);
}

async function enrolTotp(name: string, issuer: string): Promise<string> {
  const { newTotpSecret, totpUri } = await import('../../hub/identity/index.js');
  const secret = newTotpSecret();
  process.stdout.write(`TOTP for ${name}: add this to the authenticator app now, it is not shown again:\n${totpUri(secret, name, issuer)}\n`);
  return secret;
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('local users of the hub (break-glass logins; TOTP enrolment)');
  hubOptions(
    user
      .command('add <name>')
      .description('add a local user; the password comes from --password-stdin, env SFLEET_USER_PASSWORD or a prompt')
      .option('--password-stdin', 'read the password from stdin')
      .option('--no-password', 'no password: a TOTP enrolment for a directory (LDAP) user of this name')
      .option('--totp', 'enrol TOTP; prints the otpauth:// URI once')
      .option('--issuer <name>', 'TOTP issuer shown in the app', 'sfleet')
      .option('--group <group>', 'a group of the user, for RBAC bindings (repeatable)', collect, []),
  ).action(async (name: string, opts) => {
    if (!opts.password && !opts.totp) throw new Error('--no-password only makes sense with --totp (a second factor for a directory user)');
    const store = await userStore(opts);
    if (store.get(name)) throw new Error(`user "${name}" exists: use sfleet user passwd`);
    const password = opts.password ? await secretFrom({ stdin: opts.passwordStdin, env: 'SFLEET_USER_PASSWORD', prompt: `password for ${name}: ` }) : undefined;
    const totpSecret = opts.totp ? await enrolTotp(name, opts.issuer) : undefined;
    await store.add(name, { password, totpSecret, groups: opts.group });
    process.stdout.write(`user ${name} added${password ? '' : ' (no password: TOTP only)'}${totpSecret ? ' with TOTP' : ''}\n`);
  });
  hubOptions(
    user
      .command('passwd <name>')
      .description('set a new password and/or re-enrol TOTP')
      .option('--password-stdin', 'read the password from stdin')
      .option('--keep-password', 'leave the password as it is (with --totp or --no-totp)')
      .option('--totp', 're-enrol TOTP; prints the new otpauth:// URI once')
      .option('--no-totp', 'remove the TOTP enrolment')
      .option('--issuer <name>', 'TOTP issuer shown in the app', 'sfleet'),
  ).action(async (name: string, opts) => {
    const store = await userStore(opts);
    if (!store.get(name)) throw new Error(`no local user "${name}"`);
    const password = opts.keepPassword ? undefined : await secretFrom({ stdin: opts.passwordStdin, env: 'SFLEET_USER_PASSWORD', prompt: `new password for ${name}: ` });
    // --totp and --no-totp both defined: neither given leaves it undefined (commander).
    const totpFlag = opts.totp as boolean | undefined;
    const totpSecret = totpFlag === true ? await enrolTotp(name, opts.issuer) : totpFlag === false ? null : undefined;
    await store.update(name, { password, totpSecret });
    process.stdout.write(`user ${name} updated\n`);
  });
  hubOptions(user.command('remove <name>').description('remove a local user')).action(async (name: string, opts) => {
    if (!(await userStore(opts)).remove(name)) throw new Error(`no local user "${name}"`);
    process.stdout.write(`removed ${name}\n`);
  });
  hubOptions(user.command('list').option('-o, --output <format>', 'table, json or yaml', 'table')).action(async (opts) => {
    const rows = (await userStore(opts)).list();
    process.stdout.write(
      render(rows, opts.output, [
        { header: 'NAME', value: (u) => u.name },
        { header: 'PASSWORD', value: (u) => (u.password ? 'yes' : 'no') },
        { header: 'TOTP', value: (u) => (u.totp ? 'yes' : 'no') },
        { header: 'GROUPS', value: (u) => u.groups.join(',') },
        { header: 'UPDATED', value: (u) => u.updated_at },
      ]) + '\n',
    );
  });
}
