// `sfleet audit verify` checks the hash chain of a hub's audit files (offline, on the hub's
// host); `sfleet audit query` reads records through GET /api/v1/audit (permission audit:read).
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import type { AuditRecord } from '../../hub/audit/index.js';
import { render, type Column } from '../output/render.js';
import { clientFrom, formatFrom, withConnection, withOutput } from './connection-options.js';
import { collect } from './hub-files.js';

const AUDIT_COLUMNS: Column<AuditRecord>[] = [
  { header: 'SEQ', value: (r) => String(r.seq) },
  { header: 'TIME', value: (r) => r.timestamp },
  { header: 'USER', value: (r) => r.user ?? '-' },
  { header: 'ACTION', value: (r) => r.action },
  { header: 'RESOURCE', value: (r) => r.resource },
  { header: 'OUTCOME', value: (r) => (r.status ? `${r.outcome} (${r.status})` : r.outcome) },
  { header: 'SOURCE', value: (r) => r.source_ip ?? '-' },
  { header: 'REASON', value: (r) => r.reason ?? '' },
];

interface VerifyFlags {
  dir?: string;
  dataDir?: string;
  config?: string;
  set: string[];
  keyEnv?: string;
  keyFile?: string;
}

/** The directory and the HMAC key (if the chain is keyed) from the flags or the hub config. */
async function auditTarget(opts: VerifyFlags): Promise<{ dir: string; key?: Buffer }> {
  const { readSecret } = await import('../../hub/audit/index.js');
  let keyRef = { env: opts.keyEnv, file: opts.keyFile };
  let dir: string | undefined;
  if (opts.dir) dir = resolve(opts.dir);
  else if (opts.dataDir) dir = resolve(opts.dataDir, 'audit');
  if (opts.config) {
    const { loadConfigFile } = await import('../../shared/config/index.js');
    const { hubConfigSchema } = await import('../../hub/config/index.js');
    const config = loadConfigFile(hubConfigSchema, opts.config, { overrides: opts.set });
    dir ??= resolve(config.audit.dir ?? join(config.data_dir, 'audit'));
    if (!keyRef.env && !keyRef.file) keyRef = { env: config.audit.hmac_key_env, file: config.audit.hmac_key_file };
  }
  if (!dir) throw new Error('say which audit log: --dir DIR, --data-dir DIR (the hub data_dir) or --config hub.yaml');
  const key = readSecret('audit HMAC key', keyRef);
  return { dir, key: key === undefined ? undefined : Buffer.from(key, 'utf8') };
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the audit log: verify its hash chain, query it');

  withOutput(
    audit
      .command('verify')
      .description('check every audit file and record: prints OK with counts, or the first broken record (file, line, why) and exits 1')
      .option('--dir <dir>', 'the audit directory (default <data_dir>/audit)')
      .option('--data-dir <dir>', 'the hub data_dir')
      .option('--config <file>', 'the hub config (its audit.dir or data_dir, and its HMAC key settings)')
      .option('--key-env <name>', 'environment variable holding the HMAC key of a keyed chain (audit.hmac_key_env)')
      .option('--key-file <file>', 'file holding the HMAC key of a keyed chain (audit.hmac_key_file)')
      .option('--set <key=value>', 'config override, as for sfleet hub (repeatable)', collect, []),
  ).action(async (opts) => {
    const { NodeAuditFiles, verifyChain } = await import('../../hub/audit/index.js');
    const { dir, key } = await auditTarget(opts);
    const result = verifyChain(new NodeAuditFiles(dir), { key });
    const format = formatFrom(opts);
    if (format !== 'table') process.stdout.write(`${render({ dir, ...result }, format, [])}\n`);
    else if (result.ok) {
      const range = result.last_seq !== null ? ` (seq ${result.first_seq}..${result.last_seq})` : '';
      const keyed = result.keyed_files ? `, ${result.keyed_files} of them HMAC-keyed` : '';
      process.stdout.write(`OK: ${dir}: ${result.files} files${keyed}, ${result.records} records${range}; the chain starts ${result.starts}\n`);
      // Files lost under a running hub, each named by the segment that follows it (not tampering: the hub recorded the loss).
      for (const b of result.breaks) process.stdout.write(`  named break: ${b}\n`);
    }
    if (!result.ok) throw new Error(`audit chain broken: ${result.file}${result.line ? ` line ${result.line}` : ''}: ${result.reason} (${dir})`);
  });

  withOutput(
    withConnection(
      audit
        .command('query')
        .description('list audit records, oldest first (needs the audit:read permission, e.g. the auditor role)')
        .option('--user <name>')
        .option('--action <action>', 'e.g. jobs:cancel, or jobs:* for every job action')
        .option('--resource <resource>', 'e.g. "job prod-a/123", or "job prod-a/*"')
        .option('--outcome <outcome>', 'success, denied, failed or error')
        .option('--since <when>', 'an ISO-8601 time or a duration back from now, e.g. 2h')
        .option('--until <when>', 'an ISO-8601 time or a duration back from now')
        .option('--limit <n>', 'at most n records (1..5000, default 100)', (v) => Number(v))
        .option('--cursor <seq>', 'continue after this seq (the next_cursor of the page before)'),
    ),
  ).action(async (opts) => {
    const q = new URLSearchParams();
    for (const key of ['user', 'action', 'resource', 'outcome', 'since', 'until', 'cursor'] as const) if (opts[key] !== undefined) q.set(key, String(opts[key]));
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    const page = await clientFrom(opts).json<{ items: AuditRecord[]; next_cursor: string | null }>('GET', `/api/v1/audit${q.size ? `?${q}` : ''}`);
    const text = render(page.items, formatFrom(opts), AUDIT_COLUMNS);
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    if (page.next_cursor && formatFrom(opts) === 'table') process.stderr.write(`more: --cursor ${page.next_cursor}\n`);
  });
}
