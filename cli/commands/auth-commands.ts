// `sfleet auth whoami` and `sfleet auth can-i VERB RESOURCE [--as USER]`: what the hub's RBAC
// makes of the caller, from GET /api/v1/auth/whoami and /api/v1/auth/can-i.
import type { Command } from 'commander';
import type { Decision, Grant } from '../../hub/policy/index.js';
import { render } from '../output/render.js';
import { clientFrom, formatFrom, withConnection, withOutput } from './connection-options.js';

interface WhoAmI {
  name: string;
  kind: string;
  method: string;
  groups: string[];
  attributes: Record<string, string>;
  roles: Grant[];
}

const collect = (v: string, all: string[]): string[] => [...all, v];

export function registerAuthCommands(program: Command): void {
  const auth = program.commands.find((c) => c.name() === 'auth') ?? program.command('auth').description('who the hub takes you for, and what it lets you do');

  withOutput(withConnection(auth.command('whoami').description('your identity, groups, attributes and RBAC roles, with the binding that gives each'))).action(async (opts) => {
    const me = await clientFrom(opts).json<WhoAmI>('GET', '/api/v1/auth/whoami');
    const format = formatFrom(opts);
    if (format !== 'table') {
      process.stdout.write(`${render(me, format, [])}\n`);
      return;
    }
    const lines = [
      `name:       ${me.name} (${me.kind}, ${me.method})`,
      `groups:     ${me.groups.join(', ') || '-'}`,
      `attributes: ${Object.entries(me.attributes).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}`,
      `roles:      ${me.roles.length ? '' : 'none'}`,
      ...me.roles.map((g) => `  ${g.role} via ${g.via}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  });

  withOutput(
    withConnection(
      auth
        .command('can-i <verb> <resource>')
        .description('may you (or --as someone) do VERB on RESOURCE, e.g. "can-i cancel jobs"; exits 1 when not; says which binding, role and permission decide it and which row filters apply')
        .option('--as <user>', 'ask for another caller (needs auth:impersonate): a user name, client:NAME or service:NAME')
        .option('--as-group <group>', 'a group of the --as caller (repeatable)', collect, [])
        .option('--as-attr <key=value>', 'a user attribute of the --as caller, e.g. project=research (repeatable)', collect, []),
    ),
  ).action(async (verb: string, resource: string, opts) => {
    const q = new URLSearchParams({ verb, resource });
    if (opts.as) q.set('as', opts.as);
    if (opts.asGroup.length) q.set('as_groups', (opts.asGroup as string[]).join(','));
    if (opts.asAttr.length) q.set('as_attrs', (opts.asAttr as string[]).join(','));
    const d = await clientFrom(opts).json<Decision>('GET', `/api/v1/auth/can-i?${q}`);
    const format = formatFrom(opts);
    if (format !== 'table') process.stdout.write(`${render(d, format, [])}\n`);
    else {
      const lines = [d.allowed ? 'yes' : 'no', d.reason];
      if (d.roles.length) lines.push('roles:', ...d.roles.map((g) => `  ${g.role} via ${g.via}`));
      if (d.allowed) lines.push(`filters: ${d.filters === null ? 'none (every row)' : JSON.stringify(d.filters)}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    if (!d.allowed) process.exitCode = 1;
  });
}
