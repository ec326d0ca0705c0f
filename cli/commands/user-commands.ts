// `sfleet user add|passwd|remove|list`: the hub's local (break-glass) users in
// data_dir/users.json, with scrypt hashes and optional TOTP. Run on the hub's machine.
import type { Command } from 'commander';
import type { LocalUserStore } from '../../hub/login/index.js';
import { render } from '../output/render.js';
import { collect, hubFileOptions, hubFiles, type HubFileFlags } from './hub-files.js';
import { secretFrom } from './login-commands.js';
import { clientFrom, withConnection } from './connection-options.js';

async function userStore(flags: HubFileFlags): Promise<LocalUserStore> {
  const { LocalUserStore } = await import('../../hub/login/index.js');
  // users.json is sealed when the hub encrypts its data at rest.
  const { dataDir, atRest } = await hubFiles(flags, 'users.json');
  return new LocalUserStore(dataDir, undefined, atRest);
}

async function enrolTotp(name: string, issuer: string): Promise<string> {
  const { newTotpSecret, totpUri } = await import('../../hub/login/index.js');
  const secret = newTotpSecret();
  process.stdout.write(`TOTP for ${name}: add this to the authenticator app now, it is not shown again:\n${totpUri(secret, name, issuer)}\n`);
  return secret;
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('local users of the hub (break-glass logins; TOTP enrolment)');
  hubFileOptions(
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
  hubFileOptions(
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
  // Against a running hub (audited, for every hub of the group).
  withConnection(user.command('unlock <name>').description('end the login lockout of a user name (running hub; needs logins:unlock)')).action(async (name: string, opts) => {
    await clientFrom(opts).json('POST', `/api/v1/auth/users/${encodeURIComponent(name)}/unlock`);
    process.stdout.write(`unlocked ${name}\n`);
  });
  withConnection(
    user
      .command('mfa-exempt <name>')
      .description('let a user with an enrolled second factor log in without it, or end that with --off (running hub; needs logins:exempt)')
      .option('--reason <text>', 'why (kept with the user and audited); required unless --off')
      .option('--off', 'end the exemption: the enrolled factor is asked for again'),
  ).action(async (name: string, opts) => {
    if (!opts.off && !opts.reason) throw new Error('say why: --reason TEXT (or --off to end an exemption)');
    await clientFrom(opts).json('PUT', `/api/v1/auth/users/${encodeURIComponent(name)}/mfa-exemption`, opts.off ? { exempt: false } : { exempt: true, reason: opts.reason });
    process.stdout.write(opts.off ? `${name} needs the enrolled second factor again\n` : `${name} may log in without the enrolled second factor\n`);
  });
  hubFileOptions(user.command('remove <name>').description('remove a local user')).action(async (name: string, opts) => {
    if (!(await userStore(opts)).remove(name)) throw new Error(`no local user "${name}"`);
    process.stdout.write(`removed ${name}\n`);
  });
  hubFileOptions(user.command('list').option('-o, --output <format>', 'table, json or yaml', 'table')).action(async (opts) => {
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
