// `sfleet history jobs` and `sfleet report usage`: the job history (GET /api/v1/history/jobs,
// /api/v1/reports/usage); the hub applies the caller's row filters.
import type { Command } from 'commander';
import { render, type Column } from '../output/render.js';
import { formatFrom, withConnection, withOutput } from './connection-options.js';
import { HubClient, resolveConnection, type ConnectionFlags } from '../client/index.js';
import { parseDuration } from '../../shared/model/time.js';
import type { HistoryJobView } from '../../shared/history/index.js';


interface UsageRow {
  key: string;
  jobs: number;
  cpu_hours: number;
  gpu_hours: number;
  wait_p50_s: number | null;
  wait_p90_s: number | null;
  wait_p99_s: number | null;
  failure_rate: number;
}

const HISTORY_COLUMNS: Column<HistoryJobView>[] = [
  { header: 'CLUSTER', value: (j) => j.cluster },
  { header: 'JOBID', value: (j) => String(j.job_id) },
  { header: 'USER', value: (j) => j.user },
  { header: 'ACCOUNT', value: (j) => j.account },
  { header: 'PARTITION', value: (j) => j.partition },
  { header: 'STATE', value: (j) => j.state },
  { header: 'EXIT', value: (j) => `${j.exit_code}:${j.exit_signal}` },
  { header: 'END', value: (j) => j.end_time },
  { header: 'NODES', value: (j) => j.node_list },
];

const fixed = (n: number | null, digits = 1): string => (n === null ? '-' : n.toFixed(digits));
const USAGE_COLUMNS: Column<UsageRow>[] = [
  { header: 'KEY', value: (r) => r.key },
  { header: 'JOBS', value: (r) => String(r.jobs) },
  { header: 'CPU-HOURS', value: (r) => fixed(r.cpu_hours) },
  { header: 'GPU-HOURS', value: (r) => fixed(r.gpu_hours) },
  { header: 'WAIT-P50', value: (r) => fixed(r.wait_p50_s, 0) },
  { header: 'WAIT-P90', value: (r) => fixed(r.wait_p90_s, 0) },
  { header: 'WAIT-P99', value: (r) => fixed(r.wait_p99_s, 0) },
  { header: 'FAILED', value: (r) => `${(r.failure_rate * 100).toFixed(1)}%` },
];

function filterOptions(cmd: Command): Command {
  return cmd
    .option('--cluster <name>')
    .option('--user <name>')
    .option('--account <name>')
    .option('--partition <name>')
    .option('--qos <name>')
    .option('--state <state>', 'e.g. COMPLETED, FAILED, REQUEUED')
    .option('--since <when>', 'runs that ended at or after: an ISO-8601 time or a duration back from now, e.g. 30d')
    .option('--until <when>', 'runs that ended before: an ISO-8601 time or a duration back from now')
    .option('--timeout <duration>', 'how long to wait for the hub\'s answer (a year of history can take minutes on a busy hub)', '10m');
}

/** A client that waits `--timeout` for the answer (the default 60 s cut long reports). */
function historyClient(opts: ConnectionFlags & { timeout?: string }): HubClient {
  const timeoutMs = parseDuration(opts.timeout ?? '10m');
  if (timeoutMs <= 0) throw new Error(`--timeout must be more than 0 (got "${opts.timeout}")`);
  return new HubClient(resolveConnection(opts), { timeoutMs });
}

function queryOf(opts: Record<string, unknown>, keys: string[]): string {
  const q = new URLSearchParams();
  for (const k of keys) if (opts[k] !== undefined) q.set(k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), String(opts[k]));
  return q.size ? `?${q}` : '';
}

const FILTERS = ['cluster', 'user', 'account', 'partition', 'qos', 'state', 'since', 'until'];

export function registerHistoryCommands(program: Command): void {
  const history = program.command('history').description('the job history: finished runs kept after Slurm forgets them');
  withOutput(
    withConnection(
      filterOptions(history.command('jobs').description('finished job runs (one row per run, as sacct --duplicates), newest end first'))
        .option('--job-id <id>', 'one job id (all its runs)')
        .option('--limit <n>', 'at most n runs (default 1000)'),
    ),
  ).action(async (opts) => {
    const page = await historyClient(opts).json<{ items: HistoryJobView[] }>('GET', `/api/v1/history/jobs${queryOf(opts, [...FILTERS, 'jobId', 'limit'])}`);
    const text = render(page.items, formatFrom(opts), HISTORY_COLUMNS);
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  });

  const report = program.command('report').description('reports over the job history');
  withOutput(
    withConnection(
      filterOptions(report.command('usage').description('CPU- and GPU-hours, runs, wait-time percentiles (s) and failure rate per group')).option(
        '--by <group>',
        'account, user, partition or cluster',
        'account',
      ),
    ),
  ).action(async (opts) => {
    const answer = await historyClient(opts).json<{ items: UsageRow[] }>('GET', `/api/v1/reports/usage${queryOf(opts, [...FILTERS, 'by'])}`);
    const text = render(answer.items, formatFrom(opts), USAGE_COLUMNS);
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  });
}
