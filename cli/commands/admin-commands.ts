// CA, tokens and contexts: the setup an operator does once.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { parseDuration } from '../../shared/model/time.js';
import type { Role } from '../../shared/tls/identity.js';
import type { TokenStore, TokenView } from '../../hub/policy/index.js';
import { clientFrom, withConnection } from './connection-options.js';
import { contextsPath, readContexts, writeContexts } from '../client/index.js';
import { render } from '../output/render.js';
import { collect, hubFileOptions, hubFiles, type HubFileFlags } from './hub-files.js';

async function tokenStore(flags: HubFileFlags): Promise<TokenStore> {
  const { TokenStore } = await import('../../hub/policy/index.js');
  // tokens.json is sealed when the hub encrypts its data at rest.
  const { dataDir, atRest } = await hubFiles(flags, 'tokens.json');
  return new TokenStore(dataDir, atRest);
}

export function registerAdminCommands(program: Command): void {
  const ca = program.command('ca').description('the fleet certificate authority');
  ca.command('init')
    .description('create a private CA (ECDSA P-256)')
    .requiredOption('--dir <dir>', 'where ca.pem and ca-key.pem go')
    .option('--trust-domain <name>', 'SPIFFE trust domain', 'sfleet.local')
    .option('--days <n>', 'validity', (v) => Number(v), 3650)
    .option('--force', 'replace an existing CA')
    .action(async (opts) => {
      const { initCa } = await import('../../shared/tls/index.js');
      const files = await initCa(opts.dir, { trustDomain: opts.trustDomain, days: opts.days, force: !!opts.force });
      process.stdout.write(`CA written: ${files.cert} (key ${files.key}, keep it private)\n`);
    });
  ca.command('issue')
    .description('issue a certificate for an agent, a hub or a client (user)')
    .requiredOption('--dir <dir>', 'the CA directory; the certificate is written here')
    .requiredOption('--role <role>', 'agent, hub or client')
    .requiredOption('--name <name>', 'agent name, hub name or user name')
    .option('--cluster <cluster>', 'the cluster an agent speaks for (required for agents)')
    .option('--san <list>', 'extra DNS names / IPs, comma separated', '')
    .option('--days <n>', 'validity', (v) => Number(v), 365)
    .option('--lifetime <duration>', 'validity as a duration (e.g. 12h, 20s); wins over --days')
    .action(async (opts) => {
      const { issueCertificate } = await import('../../shared/tls/index.js');
      if (!['agent', 'hub', 'client'].includes(opts.role)) throw new Error(`--role must be agent, hub or client (got "${opts.role}")`);
      const out = await issueCertificate(opts.dir, {
        role: opts.role as Role,
        name: opts.name,
        cluster: opts.cluster,
        sans: String(opts.san).split(',').filter(Boolean),
        days: opts.days,
        ...(opts.lifetime ? { lifetimeMs: parseDuration(opts.lifetime) } : {}),
      });
      process.stdout.write(`certificate ${out.cert}, key ${out.key}\nidentity ${out.id}\n`);
    });
  hubFileOptions(
    ca
      .command('revoke')
      .description('revoke a certificate: the hub refuses it from then on (it watches data_dir/revoked.json)')
      .option('--cert <file>', 'the certificate (PEM) to revoke')
      .option('--serial <hex>', 'or its serial number (hex)')
      .option('--reason <text>', 'why (kept in the list)', 'unspecified'),
  ).action(async (opts) => {
    const { certificateSerial, revocationPath, revokeCertificate } = await import('../../shared/tls/index.js');
    if (!!opts.cert === !!opts.serial) throw new Error('say which certificate: --cert FILE or --serial HEX (one of them)');
    const target = opts.cert ? certificateSerial(resolve(opts.cert)) : { serial: String(opts.serial), subject: undefined };
    const path = revocationPath((await hubFiles(opts)).dataDir);
    const { added, entry } = revokeCertificate(path, { serial: target.serial, reason: opts.reason, subject: target.subject });
    process.stdout.write(added ? `revoked ${entry.serial}${entry.subject ? ` (${entry.subject})` : ''} in ${path}\n` : `${entry.serial} was already revoked at ${entry.revoked_at}\n`);
  });

  // Against a running hub (its API: checked by RBAC, audited, shared by a hub group) unless
  // --data-dir or --config names the data directory of a stopped standalone hub.
  const token = program.command('token').description('API bearer tokens: through the running hub\'s API, or in a hub data directory (--data-dir/--config)');
  const offline = (opts: HubFileFlags): boolean => !!(opts.dataDir || opts.config);
  withConnection(
    hubFileOptions(
      token
        .command('create')
        .description('create a token; it is printed once, on the last line')
        .requiredOption('--name <name>', 'who or what uses it')
        .option('--ttl <duration>', 'expire after, e.g. 30d, 12h')
        .option('--role <role>', 'an RBAC role granted to the token itself (repeatable; through the API at least one, within your own permissions)', collect, [])
        .option('--attr <key=value>', 'a user attribute for RBAC row filters, e.g. project=research (repeatable)', collect, []),
    ),
  ).action(async (opts) => {
    const attributes: Record<string, string> = {};
    for (const pair of opts.attr as string[]) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`--attr "${pair}": expected key=value`);
      attributes[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    let made: { token: string; record: { id: string; name: string; roles?: string[]; expires_at?: string } };
    if (offline(opts)) made = (await tokenStore(opts)).create(opts.name, opts.ttl ? parseDuration(opts.ttl) : undefined, { roles: opts.role, attributes });
    else {
      const body = { name: opts.name, roles: opts.role, ...(opts.ttl ? { ttl: opts.ttl } : {}), ...(Object.keys(attributes).length ? { attributes } : {}) };
      const { token: secret, ...record } = await clientFrom(opts).json<{ token: string; id: string; name: string; roles?: string[]; expires_at?: string }>('POST', '/api/v1/tokens', body);
      made = { token: secret, record };
    }
    const { token: secret, record } = made;
    process.stdout.write(`token ${record.id} for ${record.name}${record.roles ? ` (roles ${record.roles.join(', ')})` : ''}${record.expires_at ? `, expires ${record.expires_at}` : ''}\n${secret}\n`);
  });
  withConnection(hubFileOptions(token.command('list')))
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (opts) => {
      const rows = offline(opts) ? (await tokenStore(opts)).list() : (await clientFrom(opts).json<{ items: TokenView[] }>('GET', '/api/v1/tokens')).items;
      process.stdout.write(
        render(rows, opts.output, [
          { header: 'ID', value: (t) => t.id },
          { header: 'NAME', value: (t) => t.name },
          { header: 'CREATED', value: (t) => t.created_at },
          { header: 'EXPIRES', value: (t) => t.expires_at },
          { header: 'ROLES', value: (t) => t.roles?.join(',') },
          { header: 'BY', value: (t) => t.created_by },
        ]) + '\n',
      );
    });
  withConnection(hubFileOptions(token.command('revoke <name-or-id>'))).action(async (nameOrId: string, opts) => {
    if (offline(opts)) {
      if (!(await tokenStore(opts)).revoke(nameOrId)) throw new Error(`no token "${nameOrId}"`);
    } else await clientFrom(opts).json('DELETE', `/api/v1/tokens/${encodeURIComponent(nameOrId)}`);
    process.stdout.write(`revoked ${nameOrId}\n`);
  });

  const context = program.command('context').description(`named connections in ${contextsPath()}`);
  context
    .command('set <name>')
    .description('create or update a context')
    .option('--hub <url>')
    .option('--ca <file>')
    .option('--cert <file>')
    .option('--key <file>')
    .option('--token <token>')
    .action((name: string, opts) => {
      const file = readContexts();
      const entry = file.contexts.find((c) => c.name === name) ?? { name };
      for (const k of ['hub', 'token'] as const) if (opts[k]) entry[k] = opts[k];
      for (const k of ['ca', 'cert', 'key'] as const) if (opts[k]) entry[k] = resolve(opts[k]);
      file.contexts = [...file.contexts.filter((c) => c.name !== name), entry];
      file['current-context'] ??= name;
      writeContexts(file);
      process.stdout.write(`context ${name} saved\n`);
    });
  context
    .command('use <name>')
    .action((name: string) => {
      const file = readContexts();
      if (!file.contexts.some((c) => c.name === name)) throw new Error(`no context "${name}"`);
      file['current-context'] = name;
      writeContexts(file);
      process.stdout.write(`now using ${name}\n`);
    });
  context.command('list').action(() => {
    const file = readContexts();
    for (const c of file.contexts) process.stdout.write(`${c.name === file['current-context'] ? '*' : ' '} ${c.name}  ${c.hub ?? ''}\n`);
  });
}
