// `npm run bench [-- --quick] [-- --only ingest,wire] [-- --profile]`: every benchmark of issue 5
// on this machine, one after the other (each starts and stops its own processes), then
// bench/results.json (an array of {name, value, unit, quick}) and a table on stdout.
// Timing lives here, never in test assertions. --profile writes CPU profiles of the measured
// processes (node --cpu-prof) under the run's scratch directory, which it then keeps; read one
// with `node dist/scripts/bench/profile-top.js <file>`. SFLEET_BENCH_VERBOSE=1 shows the
// children's output; SFLEET_BENCH_HUB_FLAGS adds node flags to every hub (e.g. --trace-gc).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BenchContext, Measured, Result } from './lib/context.js';
import { makePki, ROOT } from '../../test/harness/index.js';
import { agentCostBench } from './suites/agent-cost.js';
import { agentRssBench } from './suites/agent-rss.js';
import { binaryBench } from './suites/binary.js';
import { failoverBench } from './suites/failover.js';
import { fleetBench } from './suites/fleet.js';
import { freshnessBench } from './suites/freshness.js';
import { ingestBench } from './suites/ingest.js';
import { wireBench } from './suites/wire.js';


const SUITES: { name: string; run: (ctx: BenchContext) => Promise<Measured[]>; produces: string[] }[] = [
  { name: 'ingest', run: ingestBench, produces: ['ingest_updates_per_s_per_core', 'ingest_raw_updates_per_s_per_core', 'ingest_vs_raw_ratio', 'ingest_tracing_1pct_ratio', 'ingest_redis_encryption_ratio'] },
  { name: 'wire', run: wireBench, produces: ['wire_ratio'] },
  { name: 'agent-cost', run: agentCostBench, produces: ['agent_cpu_share'] },
  { name: 'agent-rss', run: agentRssBench, produces: ['agent_rss_idle_mib', 'agent_rss_100k_jobs_mib'] },
  { name: 'fleet', run: fleetBench, produces: ['hub_rss_1m_jobs_mib', 'hub_cold_start_s', 'query_p50_ms', 'query_p99_ms'] },
  { name: 'freshness', run: freshnessBench, produces: ['freshness_p50_ms', 'freshness_p99_ms'] },
  { name: 'failover', run: failoverBench, produces: ['agent_reconnect_ms'] },
  { name: 'binary', run: binaryBench, produces: ['binary_size_mb', 'binary_version_ms', 'binary_agent_rss_idle_mib'] },
  { name: 'leader-handover', run: (ctx) => import('./suites/leader-handover.js').then((m) => m.leaderHandoverBench(ctx)), produces: ['leader_handover_ms'] },
  { name: 'revocation-propagation', run: (ctx) => import('./suites/revocation-propagation.js').then((m) => m.revocationPropagationBench(ctx)), produces: ['revocation_propagation_p99_ms'] },
  { name: 'history-export', run: (ctx) => import('./suites/history-export.js').then((m) => m.historyExportBench(ctx)), produces: ['export_parquet_rows_per_s', 'export_parquet_rss_growth_mib'] },
  { name: 'history-report', run: (ctx) => import('./suites/history-report.js').then((m) => m.historyReportBench(ctx)), produces: ['history_report_account_cold_s', 'history_report_account_warm_s', 'history_report_account_warm_hub_cpu_s', 'history_report_user_cold_s', 'history_report_user_warm_s', 'history_report_user_warm_hub_cpu_s'] },
  { name: 'restore-10m', run: (ctx) => import('./suites/restore-10m.js').then((m) => m.restore10mBench(ctx)), produces: ['restore_10m_minutes', 'restore_10m_peak_rss_mib'] },
  { name: 'backup-restore', run: (ctx) => import('./suites/backup-restore.js').then((m) => m.backupRestoreBench(ctx)), produces: ['backup_restore_peak_rss_mib', 'backup_verify_peak_rss_mib'] },
  { name: 'fleet-export', run: (ctx) => import('./suites/fleet-export.js').then((m) => m.fleetExportBench(ctx)), produces: ['export_jobs_parquet_rows_per_s', 'export_jobs_parquet_rss_growth_mib', 'export_nodes_parquet_rows_per_s', 'export_nodes_parquet_rss_growth_mib', 'export_audit_parquet_rows_per_s', 'export_audit_parquet_rss_growth_mib'] },
  { name: 'sim-scale', run: (ctx) => import('./suites/sim-scale.js').then((m) => m.simScaleBench(ctx)), produces: ['sim_build_100k_jobs_ms', 'sim_tick_100k_jobs_ms'] },
  { name: 'login-flood', run: (ctx) => import('./suites/login-flood.js').then((m) => m.loginFloodBench(ctx)), produces: ['login_flood_p99_ratio'] },
  { name: 'watch-revocation', run: (ctx) => import('./suites/watch-revocation.js').then((m) => m.watchRevocationBench(ctx)), produces: ['watch_revoked_cert_end_p99_ms', 'watch_revoked_token_end_p99_ms', 'watch_group_logout_end_p99_ms'] },
  { name: 'tenants', run: (ctx) => import('./suites/tenants.js').then((m) => m.tenantsBench(ctx)), produces: ['tenant_flood_p99_ratio', 'tenant_flood_new_tls_p99_ratio', 'admission_p99_ms'] },
  { name: 'metrics', run: (ctx) => import('./suites/metrics.js').then((m) => m.metricsBench(ctx)), produces: ['metrics_fleet_series_100k_jobs', 'metrics_fleet_series_100k_jobs_accounts_everywhere', 'metrics_scrape_1m_jobs_ms', 'metrics_scrape_longest_turn_ms', 'metrics_scrape_query_p99_ratio'] },
  { name: 'alerting', run: (ctx) => import('./suites/alerting.js').then((m) => m.alertingBench(ctx)), produces: ['alert_notify_p50_ms', 'alert_notify_p99_ms', 'alert_rules_ingest_ratio'] },
  { name: 'dashboard', run: (ctx) => import('./suites/dashboard.js').then((m) => m.dashboardBench(ctx)), produces: ['dashboard_first_rows_ms', 'dashboard_filter_ms', 'dashboard_query_p50_ms', 'dashboard_query_p99_ms', 'dashboard_jobs_long_tasks', 'dashboard_overview_long_tasks', 'dashboard_initial_js_kb'] },
];

/** Figures issue 5 names that no suite measures yet (listed in the table, not in results.json). */
const NOT_MEASURED: { name: string; why: string }[] = [];

function parseArgs(argv: string[]): { quick: boolean; only?: Set<string>; profile: boolean; keep: boolean } {
  const quick = argv.includes('--quick');
  const profile = argv.includes('--profile');
  const keep = argv.includes('--keep') || profile;
  const i = argv.indexOf('--only');
  const only = i >= 0 && argv[i + 1] ? new Set(argv[i + 1].split(',')) : undefined;
  // An unknown flag (a guessed `--suite metrics`) would otherwise run every suite for minutes.
  const known = new Set(['--quick', '--profile', '--keep', '--only']);
  const unknown = argv.filter((a, n) => !known.has(a) && !(n === i + 1 && i >= 0));
  if (unknown.length) throw usage(`unknown argument ${unknown.map((a) => `"${a}"`).join(', ')}`);
  if (only) for (const name of only) if (!SUITES.some((s) => s.name === name)) throw usage(`--only: unknown benchmark "${name}" (known: ${SUITES.map((s) => s.name).join(', ')})`);
  return { quick, only, profile, keep };
}

function usage(message: string): Error {
  return Object.assign(new Error(`${message}\nusage: npm run bench -- [--quick] [--only ${SUITES[0].name},...] [--profile] [--keep]`), { usage: true });
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return String(v);
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 1 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const workDir = mkdtempSync(join(tmpdir(), 'sfleet-bench-'));
  if (args.profile) mkdirSync(join(workDir, 'profiles'), { recursive: true });
  const log = (line: string): void => {
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
  };
  log(`sfleet bench${args.quick ? ' --quick' : ''}: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}; scratch ${workDir}`);
  const ctx: BenchContext = { quick: args.quick, pki: await makePki('bench.sfleet', { parent: workDir, hubName: 'bench-hub', clientName: 'bench', reuseAgents: true, registerSecrets: false }), workDir, profile: args.profile, log };
  const measuredRows: Measured[] = [];
  const failures: { suite: string; error: string }[] = [];
  const times: string[] = [];
  for (const suite of SUITES) {
    if (args.only && !args.only.has(suite.name)) continue;
    const t0 = Date.now();
    log(`== ${suite.name}`);
    try {
      measuredRows.push(...(await suite.run(ctx)));
    } catch (err) {
      // A suite may have measured some of its figures before it failed.
      measuredRows.push(...((err as { partial?: Measured[] }).partial ?? []));
      const error = (err as Error).stack ?? String(err);
      failures.push({ suite: suite.name, error });
      log(`${suite.name} FAILED: ${error}`);
    }
    times.push(`${suite.name} ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const results: Result[] = measuredRows.map(({ name, value, unit, quick }) => ({ name, value, unit, quick }));
  const out = join(ROOT, 'bench', 'results.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);

  const rows = [['name', 'value', 'unit', 'target', 'met', 'note']];
  for (const r of measuredRows) rows.push([r.name, fmt(r.value), r.unit, r.target ?? '', r.target && r.met !== undefined ? (r.met ? 'yes' : 'NO') : '', r.note ?? '']);
  for (const n of NOT_MEASURED) if (!args.only) rows.push([n.name, '-', '', '', '', n.why]);
  for (const f of failures) {
    for (const name of SUITES.find((s) => s.name === f.suite)!.produces) {
      if (!measuredRows.some((r) => r.name === name)) rows.push([name, 'FAILED', '', '', '', f.error.split('\n')[0]]);
    }
  }
  const wall = (Date.now() - started) / 1000;
  process.stdout.write(`\n${table(rows)}\n\n`);
  process.stdout.write(`${args.quick ? 'quick run' : 'full run'} in ${wall.toFixed(0)} s (${times.join(', ')}) on ${cpus().length} cores, Node ${process.version}; wrote ${out}\n`);
  if (!args.keep) rmSync(workDir, { recursive: true, force: true });
  else process.stdout.write(`kept ${workDir}\n`);
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`${(err as { usage?: boolean }).usage ? err.message : (err.stack ?? err.message)}\n`);
    process.exit(1);
  },
);
