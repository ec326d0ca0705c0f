// `sfleet login` / `sfleet logout`: a user name and password (and a TOTP code when the hub asks
// for one), or a Kerberos ticket (--kerberos), become a session token, kept in the current context of the contexts file so every
// later command uses it.
import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { HubClient, HubRequestError, readContexts, resolveConnection, writeContexts, type ConnectionFlags } from '../client/index.js';
import { negotiateHeader } from '../../shared/kerberos/initiator.js';
import { withConnection } from './connection-options.js';

interface LoginResult {
  token: string;
  expires_at: string;
  user: string;
  provider: string;
  groups: string[];
  mfa: boolean;
}

/** Reads one line from the terminal without echoing it (passwords, codes). */
export async function promptHidden(question: string): Promise<string> {
  if (!process.stdin.isTTY) throw new Error(`${question.replace(/:\s*$/, '')} is needed and there is no terminal to ask on: pass it by flag or environment`);
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk as Buffer);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  process.stderr.write(question);
  muted = true;
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function secretFrom(opts: { stdin?: boolean; env: string; prompt: string }): Promise<string> {
  if (opts.stdin) return readStdin();
  const fromEnv = process.env[opts.env];
  if (fromEnv) return fromEnv;
  return promptHidden(opts.prompt);
}

/** The context a login is saved in: --context, SFLEET_CONTEXT, the current one, or "default". */
function saveSession(flags: ConnectionFlags, conn: { hub: string; ca?: string }, token: string): string {
  const file = readContexts();
  const name = flags.context ?? process.env.SFLEET_CONTEXT ?? file['current-context'] ?? 'default';
  const entry = file.contexts.find((c) => c.name === name) ?? { name };
  entry.hub ??= conn.hub;
  if (conn.ca) entry.ca ??= conn.ca;
  entry.token = token;
  file.contexts = [...file.contexts.filter((c) => c.name !== name), entry];
  file['current-context'] ??= name;
  writeContexts(file);
  return name;
}

/** `sfleet login --kerberos`: a SPNEGO token from the user's credential cache becomes a session. */
async function kerberosLogin(opts: ConnectionFlags & { kerberosService?: string }): Promise<void> {
  const conn = resolveConnection({ ...opts, token: undefined });
  const client = new HubClient({ ...conn, token: undefined });
  const service = opts.kerberosService ?? `HTTP/${new URL(conn.hub).hostname.replace(/^\[|\]$/g, '')}`;
  const { header, client: principal } = await negotiateHeader({ service });
  const result = await client.json<LoginResult>('POST', '/api/v1/auth/kerberos', undefined, { authorization: header });
  const context = saveSession(opts, conn, result.token);
  process.stdout.write(`logged in as ${result.user} (Kerberos ${principal})${result.groups.length ? `, groups ${result.groups.join(', ')}` : ''}; session expires ${result.expires_at}, saved in context ${context}\n`);
}

export function registerLoginCommands(program: Command): void {
  withConnection(
    program
      .command('login')
      .description('log in to the hub (local user or LDAP); the session token is saved in the current context')
      .option('-u, --username <name>', 'user name (env SFLEET_USERNAME; default: prompt)')
      .option('--password-stdin', 'read the password from stdin (else env SFLEET_PASSWORD, else a prompt)')
      .option('--totp <code>', 'the authenticator code (env SFLEET_TOTP; prompted when the hub asks)')
      .option('--provider <provider>', 'local or ldap (default: whichever knows the user)')
      .option('--kerberos', 'log in with the Kerberos ticket of `kinit` (KRB5CCNAME, krb5.conf) instead of a password')
      .option('--kerberos-service <principal>', 'the hub\'s service principal (default HTTP/<the hub\'s host name>)'),
  ).action(async (opts: ConnectionFlags & { username?: string; passwordStdin?: boolean; totp?: string; provider?: string; kerberos?: boolean; kerberosService?: string }) => {
    if (opts.kerberos || opts.kerberosService) return kerberosLogin(opts);
    if (opts.provider && !['local', 'ldap'].includes(opts.provider)) throw new Error(`--provider must be local or ldap (got "${opts.provider}")`);
    const conn = resolveConnection({ ...opts, token: undefined });
    // No credential of its own: the login is what gets one (a client certificate may still go along).
    const client = new HubClient({ ...conn, token: undefined });
    const username = opts.username ?? process.env.SFLEET_USERNAME ?? (await promptHidden('user name: '));
    const password = await secretFrom({ stdin: opts.passwordStdin, env: 'SFLEET_PASSWORD', prompt: `password for ${username}: ` });
    let totp = opts.totp ?? process.env.SFLEET_TOTP;
    const body = () => ({ username, password, ...(totp ? { totp } : {}), ...(opts.provider ? { provider: opts.provider } : {}) });
    let result: LoginResult;
    try {
      result = await client.json<LoginResult>('POST', '/api/v1/auth/login', body());
    } catch (err) {
      // Without a terminal the hub's own answer says what is missing (--totp / SFLEET_TOTP).
      if (!(err instanceof HubRequestError && err.code === 'SF_AUTH_MFA_REQUIRED') || totp || !process.stdin.isTTY) throw err;
      totp = await promptHidden('authenticator code: ');
      result = await client.json<LoginResult>('POST', '/api/v1/auth/login', body());
    }
    const context = saveSession(opts, conn, result.token);
    process.stdout.write(`logged in as ${result.user} (${result.provider}${result.mfa ? ', TOTP' : ''})${result.groups.length ? `, groups ${result.groups.join(', ')}` : ''}; session expires ${result.expires_at}, saved in context ${context}\n`);
  });

  withConnection(program.command('logout').description('end the session of the current context and forget its token')).action(async (opts: ConnectionFlags) => {
    const conn = resolveConnection(opts);
    if (!conn.token?.startsWith('sfs_')) throw new Error('no login session to end in this context (sfleet login first)');
    await new HubClient(conn).json('POST', '/api/v1/auth/logout').catch((err: unknown) => {
      // An expired session is as good as ended: forget it all the same.
      if (!(err instanceof HubRequestError && err.status === 401)) throw err;
    });
    const file = readContexts();
    const name = opts.context ?? process.env.SFLEET_CONTEXT ?? file['current-context'];
    const entry = file.contexts.find((c) => c.name === name);
    if (entry?.token === conn.token) {
      delete entry.token;
      writeContexts(file);
    }
    process.stdout.write(`logged out${name ? ` (context ${name})` : ''}\n`);
  });
}
