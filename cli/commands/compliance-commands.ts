// `sfleet compliance report [--framework F] [-o json]`: the evidence of each control's state,
// from GET /api/v1/compliance/report (permission compliance:report). Exits 1 when a control fails.
// `sfleet compliance pseudonymize USER`: GDPR erasure of a name from the stored job history
// (POST /api/v1/compliance/pseudonymize, permission compliance:erase).
import type { Command } from 'commander';
import { render } from '../output/render.js';
import { clientFrom, formatFrom, withConnection, withOutput } from './connection-options.js';

interface Report {
  generated_at: string;
  hub_id: string;
  frameworks: string[];
  summary: { pass: number; fail: number; info: number };
  controls: { id: string; title: string; frameworks: string[]; status: string; evidence: string }[];
}

function reportText(r: Report): string {
  const lines = [`compliance report of hub ${r.hub_id} at ${r.generated_at} (${r.frameworks.join(', ')}): ${r.summary.pass} pass, ${r.summary.fail} fail, ${r.summary.info} info`, ''];
  for (const c of r.controls) lines.push(`${c.status.toUpperCase().padEnd(4)}  ${c.id}: ${c.title} [${c.frameworks.join(', ')}]`, `      ${c.evidence}`);
  return `${lines.join('\n')}\n`;
}

export function registerComplianceCommands(program: Command): void {
  const compliance = program.command('compliance').description('compliance frameworks: the evidence report');
  withOutput(
    withConnection(
      compliance
        .command('report')
        .description("the state of each control (audit chain, retention, encryption, TLS, MFA, RBAC, backups) with its evidence; exits 1 when one fails")
        .option('--framework <name>', 'only the controls of sox, gdpr, hipaa or soc2'),
    ),
  ).action(async (opts) => {
    const q = opts.framework ? `?framework=${encodeURIComponent(opts.framework as string)}` : '';
    const report = await clientFrom(opts).json<Report>('GET', `/api/v1/compliance/report${q}`);
    const format = formatFrom(opts);
    process.stdout.write(format === 'table' ? reportText(report) : `${render(report, format, [])}\n`);
    if (report.summary.fail > 0) process.exitCode = 1;
  });
  withOutput(
    withConnection(
      compliance
        .command('pseudonymize <user>')
        .description('GDPR: replace USER by its pseudonym in the job history this hub stores, and in every run it stores from now on; names the clusters other hubs of the group write (run it there too)'),
    ),
  ).action(async (user: string, opts) => {
    const done = await clientFrom(opts).json<{ pseudonym: string; rows: number; partitions: number; not_owned: string[] }>('POST', '/api/v1/compliance/pseudonymize', { user });
    const format = formatFrom(opts);
    if (format !== 'table') return void process.stdout.write(`${render(done, format, [])}\n`);
    process.stdout.write(`${done.rows} history runs in ${done.partitions} partitions now read ${done.pseudonym}; runs stored later are pseudonymised too\n`);
    if (done.not_owned.length) process.stdout.write(`written by other hubs of the group (run this against them too): ${done.not_owned.join(', ')}\n`);
  });
}
