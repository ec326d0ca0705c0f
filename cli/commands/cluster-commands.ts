// `sfleet hubs`: the hub instances of the region (clustered mode: from etcd; standalone:
// the one hub), their health and who leads, from GET /api/v1/hubs.
import type { Command } from 'commander';
import type { MemberList, MemberView } from '../../hub/leader/index.js';
import { render, type Column } from '../output/render.js';
import { clientFrom, formatFrom, withConnection, withOutput } from './connection-options.js';

type HubsAnswer = MemberList & { mode: 'standalone' | 'clustered'; etcd: string };

const HUB_COLUMNS: Column<MemberView>[] = [
  { header: 'HUB', value: (h) => h.hub_id },
  { header: 'LEADER', value: (h) => (h.leader ? 'yes' : 'no') },
  { header: 'HEALTH', value: (h) => h.health },
  { header: 'READY', value: (h) => (h.ready ? 'yes' : 'no') },
  { header: 'REDIS', value: (h) => h.redis },
  { header: 'INGESTING', value: (h) => h.ingesting },
  { header: 'STALE', value: (h) => h.stale_clusters },
  { header: 'HTTP', value: (h) => h.http_url },
  { header: 'GRPC', value: (h) => h.grpc_address },
  { header: 'VERSION', value: (h) => h.version },
  { header: 'UPDATED', value: (h) => h.updated_at },
];

export function registerClusterCommands(program: Command): void {
  withOutput(withConnection(program.command('hubs').description("list the region's hub instances, their health and the leader"))).action(async (opts) => {
    const answer = await clientFrom(opts).json<HubsAnswer>('GET', '/api/v1/hubs');
    const format = formatFrom(opts);
    if (format !== 'table') {
      process.stdout.write(`${render(answer, format, [])}\n`);
      return;
    }
    const lines = [render(answer.items, 'table', HUB_COLUMNS)];
    lines.push('', `region ${answer.region} (${answer.mode}), leader: ${answer.leader ?? 'none known'}${answer.mode === 'clustered' ? `, etcd: ${answer.etcd}` : ''}`);
    if (answer.error) lines.push(`warning: ${answer.error}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}
