// Commands that act on Slurm through the hub and the owning agent.
import type { Command } from 'commander';
import { clientFrom, splitTarget, withConnection } from './connection-options.js';

async function run(opts: Record<string, string>, path: string, reason?: string): Promise<void> {
  const result = await clientFrom(opts).json<{ ok: boolean; message: string; via: string }>('POST', path, reason ? { reason } : {});
  process.stdout.write(`${result.message || 'done'}${result.via ? ` (via ${result.via})` : ''}\n`);
}

export function registerControlCommands(program: Command): void {
  for (const verb of ['cancel', 'hold', 'release', 'requeue'] as const) {
    withConnection(program.command(`${verb} <cluster/id>`).description(`${verb} a job`)).action(async (ref: string, opts) => {
      const { cluster, target } = splitTarget(ref, 'job');
      await run(opts, `/api/v1/jobs/${encodeURIComponent(cluster)}/${encodeURIComponent(target)}/${verb}`);
    });
  }
  withConnection(program.command('drain <cluster/node>').description('drain a node').requiredOption('--reason <text>', 'why (Slurm requires a reason)')).action(
    async (ref: string, opts) => {
      const { cluster, target } = splitTarget(ref, 'node');
      await run(opts, `/api/v1/nodes/${encodeURIComponent(cluster)}/${encodeURIComponent(target)}/drain`, opts.reason);
    },
  );
  withConnection(program.command('resume <cluster/node>').description('resume a drained or down node')).action(async (ref: string, opts) => {
    const { cluster, target } = splitTarget(ref, 'node');
    await run(opts, `/api/v1/nodes/${encodeURIComponent(cluster)}/${encodeURIComponent(target)}/resume`);
  });
}
