// `sfleet events`: what agents saw happen (controller failover, down, up), from GET /api/v1/events.
import type { Command } from 'commander';
import type { EventView } from '../../hub/events/index.js';
import { render, type Column } from '../output/render.js';
import { clientFrom, formatFrom, withConnection, withOutput } from './connection-options.js';

const EVENT_COLUMNS: Column<EventView>[] = [
  { header: 'TIME', value: (e) => e.occurred_at },
  { header: 'CLUSTER', value: (e) => e.cluster },
  { header: 'TYPE', value: (e) => e.type },
  { header: 'SEVERITY', value: (e) => e.severity },
  { header: 'MESSAGE', value: (e) => e.message },
];

export function registerEventCommands(program: Command): void {
  withOutput(
    withConnection(
      program
        .command('events')
        .description('list fleet events (controller_failover, controller_down, controller_up), oldest first')
        .option('--cluster <name>')
        .option('--type <type>', 'one type or a comma list, e.g. controller_failover')
        .option('--since <when>', 'an ISO-8601 time or a duration back from now, e.g. 2h')
        .option('--limit <n>', 'at most the newest n events (1..5000, default 500)', (v) => Number(v)),
    ),
  ).action(async (opts) => {
    const q = new URLSearchParams();
    if (opts.cluster) q.set('cluster', opts.cluster);
    if (opts.type) q.set('type', opts.type);
    if (opts.since) q.set('since', opts.since);
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    const query = q.size ? `?${q}` : '';
    const page = await clientFrom(opts).json<{ items: EventView[] }>('GET', `/api/v1/events${query}`);
    const text = render(page.items, formatFrom(opts), EVENT_COLUMNS);
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  });
}
