// `sfleet quota`: usage against every limit of the caller's tenant (or, for an operator, of
// every tenant), the schedule in force and when it switches next (GET /api/v1/quotas).
import type { Command } from 'commander';
import type { QuotaLine, TenantQuotas } from '../../hub/quota/index.js';
import { render, type Column } from '../output/render.js';
import { clientFrom, formatFrom, withConnection, withOutput } from './connection-options.js';

type Row = QuotaLine & { tenant: string; schedule: string; next_switch_at: string };

const amount = (limit: string, n: number): string => (limit === 'max_memory' ? `${(n / 1024 ** 3).toFixed(1)}GiB` : String(n));

const COLUMNS: Column<Row>[] = [
  { header: 'TENANT', value: (r) => r.tenant },
  { header: 'SCOPE', value: (r) => `${r.scope} ${r.subject}` },
  { header: 'LIMIT', value: (r) => r.limit },
  { header: 'USAGE', value: (r) => `${amount(r.limit, r.usage)}/${amount(r.limit, r.value)}${r.over ? ' OVER' : ''}` },
  { header: 'SCHEDULE', value: (r) => r.schedule },
  { header: 'NEXT SWITCH', value: (r) => r.next_switch_at },
];

export function registerQuotaCommands(program: Command): void {
  withOutput(withConnection(program.command('quota').description("usage against the quota limits of your tenant (an operator: every tenant's, or --of TENANT)").option('--of <tenant>', 'one tenant (operators)'))).action(
    async (opts) => {
      const page = await clientFrom(opts).json<{ items: TenantQuotas[] }>('GET', `/api/v1/quotas${opts.of ? `?tenant=${encodeURIComponent(String(opts.of))}` : ''}`);
      const format = formatFrom(opts);
      if (format !== 'table') {
        process.stdout.write(`${render(page.items, format, [])}\n`);
        return;
      }
      const rows: Row[] = page.items.flatMap((t) =>
        t.limits.map((l) => ({ ...l, tenant: t.tenant, schedule: t.schedule.active ?? 'base', next_switch_at: t.schedule.next_switch_at ?? '-' })),
      );
      const text = rows.length ? render(rows, format, COLUMNS) : 'no quota limits in force\n';
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      // What each tenant's policy did: jobs held, association limits written in Slurm.
      for (const t of page.items) {
        const e = t.enforcement;
        if (!e || e.policy === 'alert') continue;
        const did = e.policy === 'hold' ? `${e.held_jobs} job(s) held by the hub` : e.slurm_limits.map((l) => `${l.cluster}/${l.account}${l.user ? `/${l.user}` : ''} ${Object.entries(l.limits).map(([k, v]) => `${k}=${v}`).join(' ')}`).join('; ') || 'no association limits written yet';
        process.stdout.write(`enforcement ${t.tenant}: ${e.policy}${e.dry_run ? ' (dry run)' : ''}: ${did}\n`);
      }
    },
  );
}
