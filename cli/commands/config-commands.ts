// `sfleet config validate|export|schema|migrate|agent-for`: check a hub or agent configuration before it is
// deployed, show what a running one would use (secrets masked), give editors a JSON Schema,
// and bring an s9s configuration over. The role is the file's: an agent config names its
// `cluster`, a hub config does not.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../shared/errors/index.js';

type Role = 'hub' | 'agent';

async function schemaOf(role: Role): Promise<z.ZodType> {
  return role === 'hub' ? (await import('../../hub/config/index.js')).hubConfigSchema : (await import('../../agent/config/index.js')).agentConfigSchema;
}

function roleOf(option: string | undefined, text: string): Role {
  if (option !== undefined) {
    if (option !== 'hub' && option !== 'agent') throw new ConfigError(`--role must be hub or agent, not "${option}"`);
    return option;
  }
  const top = parseDocument(text).toJS() as unknown;
  return top && typeof top === 'object' && 'cluster' in top ? 'agent' : 'hub';
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read config file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

const collect = (v: string, all: string[]): string[] => [...all, v];

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('check, export and describe hub and agent configurations');

  config
    .command('validate')
    .description('report every error of a config file at once, with file, line and key; exit 1 if any')
    .argument('<files...>', 'hub or agent YAML files')
    .option('--role <role>', 'hub or agent (default: agent when the file names a cluster)')
    .option('--no-require-env', 'do not require the ${VAR}s the file uses to be set here')
    .option('--set <key=value>', 'as the hub and agent commands take it (repeatable)', collect, [])
    .action(async (files: string[], opts: { role?: string; requireEnv: boolean; set: string[] }) => {
      const { validateConfigText } = await import('../../shared/config/index.js');
      let failed = 0;
      for (const file of files) {
        const text = readText(file);
        const role = roleOf(opts.role, text);
        const problems = validateConfigText(await schemaOf(role), text, file, { requireEnv: opts.requireEnv, overrides: opts.set });
        if (problems.length === 0) {
          process.stdout.write(`${file}: valid ${role} configuration\n`);
        } else {
          failed++;
          for (const p of problems) process.stderr.write(`${p}\n`);
          process.stderr.write(`${file}: ${problems.length} error${problems.length === 1 ? '' : 's'} (${role} configuration)\n`);
        }
      }
      if (failed > 0) process.exitCode = 1;
    });

  config
    .command('export')
    .description('the effective configuration (defaults filled in) as YAML, secrets masked')
    .argument('<file>', 'hub or agent YAML file')
    .option('--role <role>', 'hub or agent (default: agent when the file names a cluster)')
    .option('--set <key=value>', 'as the hub and agent commands take it (repeatable)', collect, [])
    .action(async (file: string, opts: { role?: string; set: string[] }) => {
      const { parseConfigText, exportConfig } = await import('../../shared/config/index.js');
      const text = readText(file);
      const role = roleOf(opts.role, text);
      const schema = await schemaOf(role);
      const raw = parseDocument(text).toJS() as unknown;
      let value = parseConfigText(schema, text, file, { overrides: opts.set });
      // What the load derives (integrations' channels, scaling's Redis) comes back from its source: not written twice.
      if (role === 'hub') value = (await import('../../hub/config/index.js')).withoutDerived(value as never, raw);
      process.stdout.write(exportConfig(schema, value, raw));
    });

  config
    .command('migrate')
    .description("turn the s9s terminal UI's config.yaml (--from), or a configuration in the feature brief's shapes (--from-brief), into a hub configuration and agent configurations (one per cluster, secrets in 0600 env files); lists every key it could not map")
    .option('--from <file>', 's9s configuration (~/.s9s/config.yaml)')
    .option('--from-brief <file>', "a YAML file of the brief's blocks (auth, sso, rbac, clusters, scaling, security, compliance, observability, alerting, multi_tenancy, backup, integrations), or Markdown with them as ```yaml blocks")
    .requiredOption('--out <dir>', 'where to write hub.yaml and <cluster>/agent.yaml + agent.env')
    .option('--hub <host:port>', "the hub's gRPC listener the agents stream to", '127.0.0.1:7443')
    .option('--pki-dir <dir>', 'where certificates live on the target machines', '/etc/sfleet/pki')
    .option('--force', 'overwrite files already in --out')
    .action(async (opts: { from?: string; fromBrief?: string; out: string; hub: string; pkiDir: string; force?: boolean }) => {
      const { readS9sConfig, migrateS9s, migrateBrief, writeMigration } = await import('../migrate/index.js');
      if (!opts.from === !opts.fromBrief) throw new ConfigError('name one file to migrate: --from (an s9s config.yaml) or --from-brief (the brief\'s blocks)');
      const source = (opts.from ?? opts.fromBrief)!;
      const migration = opts.from
        ? migrateS9s(readS9sConfig(readText(opts.from), opts.from), { hubEndpoint: opts.hub, pkiDir: opts.pkiDir, env: process.env })
        : await migrateBrief(readText(source), source, { hubEndpoint: opts.hub, pkiDir: opts.pkiDir });
      const written = await writeMigration(migration, opts.out, source, opts.force === true);
      const section = (title: string, lines: string[]): void => {
        if (lines.length > 0) process.stdout.write(`${title}:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
      };
      section('mapped', migration.mapped);
      section('not mapped', migration.unmapped);
      section('warnings', migration.warnings);
      section('written', written.files);
      section('next', [
        ...migration.agents.map((a) => `sfleet ca issue --dir ${opts.pkiDir} --role agent --name ${a.cluster}-agent --cluster ${a.cluster}`),
        `sfleet ca issue --dir ${opts.pkiDir} --role hub --name hub --san <hub host name>`,
        `sfleet ca issue --dir ${opts.pkiDir} --role client --name admin`,
      ]);
      for (const e of [...migration.errors, ...written.problems]) process.stderr.write(`${e}\n`);
      if (migration.errors.length > 0 || written.problems.length > 0) process.exitCode = 1;
    });

  config
    .command('agent-for')
    .description("write the agent configuration of a cluster that the hub's clusters: map declares (its slurmrestd endpoints and load_balancing), checked as `config validate` checks it")
    .argument('<cluster>', 'the cluster, as hub.yaml names it under clusters:')
    .requiredOption('--config <file>', 'the hub configuration that declares it')
    .option('--hub <host:port>', "a hub's gRPC listener the agent streams to (repeatable; default: the hub file's listen.grpc)", collect, [])
    .option('--pki-dir <dir>', 'where the certificates live on the head node', '/etc/sfleet/pki')
    .option('--spool-dir <dir>', "where the agent spools what the hub has not acknowledged", '/var/lib/sfleet-agent/spool')
    .option('--out <file>', 'write it there instead of stdout (not over an existing file without --force)')
    .option('--force', 'overwrite --out')
    .action(async (cluster: string, opts: { config: string; hub: string[]; pkiDir: string; spoolDir: string; out?: string; force?: boolean }) => {
      const { agentFor } = await import('../agent-for/index.js');
      const { text } = await agentFor(readText(opts.config), opts.config, cluster, { hubs: opts.hub, pkiDir: opts.pkiDir, spoolDir: opts.spoolDir });
      if (!opts.out) {
        process.stdout.write(text);
        return;
      }
      if (!opts.force && existsSync(opts.out)) throw new ConfigError(`${opts.out} exists: agent-for does not overwrite it (use --force)`);
      writeFileSync(opts.out, text);
      process.stdout.write(`${opts.out}: agent configuration of ${cluster}\n`);
    });

  config
    .command('schema')
    .description('JSON Schema of the hub or agent configuration, for editors (yaml-language-server)')
    .requiredOption('--role <role>', 'hub or agent')
    .option('--out <file>', 'write it there instead of stdout')
    .action(async (opts: { role: string; out?: string }) => {
      const role = roleOf(opts.role, '');
      const json = z.toJSONSchema(await schemaOf(role), {
        io: 'input',
        unrepresentable: 'any',
        target: 'draft-2020-12',
        // A default that depends on the machine (the host name) is this machine's: say it in words.
        override: (ctx) => {
          const described = ctx.jsonSchema as { default?: unknown; defaultText?: string; description?: string };
          if (described.defaultText !== undefined) {
            delete described.default;
            described.description = `${described.description ?? ''} Default: ${described.defaultText}.`.trim();
            delete described.defaultText;
          }
        },
      });
      const text = `${JSON.stringify({ ...json, title: `slurmfleet ${role} configuration` }, null, 2)}\n`;
      if (opts.out) writeFileSync(opts.out, text);
      else process.stdout.write(text);
    });
}
