import type { Command } from 'commander';
import { HubClient, resolveConnection, type ConnectionFlags } from '../client/index.js';
import { parseFormat, type OutputFormat } from '../output/render.js';

/** The flags every client command takes; they win over SFLEET_* env and the context file. */
export function withConnection(cmd: Command): Command {
  return cmd
    .option('--hub <url>', 'hub API URL, e.g. https://127.0.0.1:8443 (env SFLEET_HUB)')
    .option('--ca <file>', 'fleet CA certificate (env SFLEET_CA)')
    .option('--cert <file>', 'client certificate (env SFLEET_CERT)')
    .option('--key <file>', 'client key (env SFLEET_KEY)')
    .option('--token <token>', 'bearer token instead of a certificate (env SFLEET_TOKEN)')
    .option('--context <name>', 'context from the contexts file (env SFLEET_CONTEXT)')
    .option('--tenant <name>', 'the tenant to act in, for a member of several (env SFLEET_TENANT)');
}

export function withOutput(cmd: Command): Command {
  return cmd.option('-o, --output <format>', 'table, json or yaml', 'table');
}

export function clientFrom(opts: ConnectionFlags): HubClient {
  return new HubClient(resolveConnection(opts));
}

export function formatFrom(opts: { output?: string }): OutputFormat {
  return parseFormat(opts.output ?? 'table');
}

/** "cluster/id" or "cluster/node" arguments. */
export function splitTarget(value: string, what: string): { cluster: string; target: string } {
  const i = value.indexOf('/');
  if (i <= 0 || i === value.length - 1) throw new Error(`expected CLUSTER/${what.toUpperCase()}, e.g. prod-a/${what === 'job' ? '1234' : 'node01'} (got "${value}")`);
  return { cluster: value.slice(0, i), target: value.slice(i + 1) };
}
