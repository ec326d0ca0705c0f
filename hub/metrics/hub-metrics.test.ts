import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { SlurmrestdRequests } from '../../generated/fleet/v1/agent.js';
import { jobDelta, testJob, testNode } from '../../shared/delta/testdata/fleet-fixtures.js';
import { wrapObject } from '../../shared/model/index.js';
import { ManualClock } from '../../shared/clock/index.js';
import { FleetState } from '../fleet/index.js';
import { AgentReports } from '../ingest/index.js';
import { newIngestStats } from '../ingest/stats.js';
import { FLEET_FAMILIES } from './fleet-series.js';
import { createHubMetrics } from './hub-metrics.js';
import { jobGpus, nodeGpus } from './fleet-tally.js';

/** value of the series whose labels contain all of `labels`, from the exposition text */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) return Number(m[3]);
  }
  return undefined;
}

function fleet(): FleetState {
  const state = new FleetState();
  const jobs = [
    testJob(1, { state: 'RUNNING', partition: 'gpu', account: 'physics', tres: 'cpu=4,mem=1G,node=1,gres/gpu=2,gres/gpu:a100=2' }),
    testJob(2, { state: 'PENDING', partition: 'gpu', account: 'physics', state_reason: 'Resources' }),
    testJob(3, { state: 'PENDING', partition: 'debug', account: 'chem', state_reason: 'Priority' }),
    testJob(4, { state: 'PENDING', partition: 'debug', account: 'chem', state_reason: 'Priority' }),
    testJob(5, { state: 'PENDING', partition: 'debug', account: 'bio', state_reason: 'QOSMaxJobsPerUserLimit' }),
    testJob(6, { state: 'COMPLETED', partition: 'debug', account: 'bio' }),
  ];
  const nodes = [
    testNode('g1', { state: 'MIXED', cpus: 32, alloc_cpus: 4, memory_mb: 1024, alloc_memory_mb: 256, partitions: ['gpu'], gres: 'gpu:a100:4(S:0-1)' }),
    testNode('c1', { state: 'IDLE', flags: ['DRAIN'], cpus: 16, partitions: ['debug', 'all'] }),
    testNode('c2', { state: 'IDLE', flags: ['MAINTENANCE'], cpus: 16, partitions: ['debug'] }),
    testNode('c3', { state: 'IDLE', cpus: 16, partitions: ['debug'] }),
  ];
  state.apply({ ...jobDelta(jobs, { snapshot: true, observed_at: '2026-01-01T00:00:00.000Z' }), upserts: [...jobs.map((j) => wrapObject('job', j)), ...nodes.map((n) => wrapObject('node', n))] });
  return state;
}

describe('hub metrics', () => {
  it('serves jobs by partition, state and account, nodes with their flags, and resources without per-job labels', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:30.000Z'));
    const reports = new AgentReports(clock);
    const { scrape } = createHubMetrics({ state: fleet(), ingest: { stats: newIngestStats(), reports }, clock });
    const text = await scrape();
    expect(value(text, 'sfleet_jobs', { cluster: 'a', partition: 'debug', state: 'PENDING' })).toBe(3);
    expect(value(text, 'sfleet_jobs', { cluster: 'a', partition: 'gpu', state: 'RUNNING' })).toBe(1);
    expect(value(text, 'sfleet_account_jobs', { cluster: 'a', account: 'chem', state: 'PENDING' })).toBe(2);
    // finished jobs are not graphed per account
    expect(value(text, 'sfleet_account_jobs', { cluster: 'a', account: 'bio', state: 'COMPLETED' })).toBeUndefined();
    expect(value(text, 'sfleet_nodes', { cluster: 'a', partition: 'debug', state: 'IDLE' })).toBe(3);
    expect(value(text, 'sfleet_node_flags', { cluster: 'a', partition: 'debug', flag: 'DRAIN' })).toBe(1);
    expect(value(text, 'sfleet_node_flags', { cluster: 'a', partition: 'debug', flag: 'MAINTENANCE' })).toBe(1);
    // drained and maintenance nodes' CPUs are not idle capacity
    expect(value(text, 'sfleet_cluster_cpus', { cluster: 'a', state: 'allocated' })).toBe(4);
    expect(value(text, 'sfleet_cluster_cpus', { cluster: 'a', state: 'idle' })).toBe(28 + 16);
    expect(value(text, 'sfleet_cluster_cpus', { cluster: 'a', state: 'unavailable' })).toBe(32);
    expect(value(text, 'sfleet_partition_cpus', { cluster: 'a', partition: 'debug', state: 'unavailable' })).toBe(32);
    expect(value(text, 'sfleet_cluster_gpus', { cluster: 'a', state: 'allocated' })).toBe(2);
    expect(value(text, 'sfleet_cluster_gpus', { cluster: 'a', state: 'idle' })).toBe(2);
    expect(value(text, 'sfleet_partition_gpus', { cluster: 'a', partition: 'gpu', state: 'allocated' })).toBe(2);
    expect(value(text, 'sfleet_cluster_memory_bytes', { cluster: 'a', state: 'allocated' })).toBe(256 * 1024 * 1024);
    expect(value(text, 'sfleet_pending_jobs', { cluster: 'a', reason: 'Priority' })).toBe(2);
    expect(value(text, 'sfleet_cluster_data_age_seconds', { cluster: 'a' })).toBe(30);
    expect(text).toMatch(/^sfleet_build_info\{version="[^"]+",node_version="v[^"]+"\} 1$/m);
    // promtool refuses _total on a gauge (prom-client's nodejs_active_handles_total was one)
    expect(text).not.toMatch(/^# TYPE \S+_total (gauge|histogram|summary)$/m);
    expect(text).toMatch(/^sfleet_hub_nodejs_active_handles\{/m);
    expect(text).not.toMatch(/job_id|\bid="/);
    // the fleet families are rendered by the hub, not prom-client: still clean for promtool
    execFileSync('promtool', ['check', 'metrics'], { input: text });
  });

  it("serves each cluster's busiest accounts and sums the rest into account=other, totals unchanged", async () => {
    const { scrape } = createHubMetrics({ state: fleet(), ingest: { stats: newIngestStats(), reports: new AgentReports(new ManualClock(0)) } }, { topAccounts: 1 });
    const text = await scrape();
    // chem and physics have 2 pending or running jobs each (the tie goes by name), bio 1
    expect(value(text, 'sfleet_account_jobs', { cluster: 'a', account: 'chem', state: 'PENDING' })).toBe(2);
    expect(value(text, 'sfleet_account_jobs', { cluster: 'a', account: 'physics', state: 'PENDING' })).toBeUndefined();
    expect(value(text, 'sfleet_account_jobs', { cluster: 'a', account: 'other', state: 'PENDING' })).toBe(2);
    expect(value(text, 'sfleet_account_jobs', { cluster: 'a', account: 'other', state: 'RUNNING' })).toBe(1);
    expect([...text.matchAll(/^sfleet_account_jobs\{.*\} \d+$/gm)]).toHaveLength(3);
    // the default keeps 100 accounts: all three here
    const all = await createHubMetrics({ state: fleet(), ingest: { stats: newIngestStats(), reports: new AgentReports(new ManualClock(0)) } }).scrape();
    expect(value(all, 'sfleet_account_jobs', { cluster: 'a', account: 'bio', state: 'PENDING' })).toBe(1);
    expect(all).not.toMatch(/^sfleet_account_jobs\{[^}]*account="other"/m);
  });

  it('folds the pending reasons beyond the top N into other', async () => {
    const { scrape } = createHubMetrics({ state: fleet(), ingest: { stats: newIngestStats(), reports: new AgentReports(new ManualClock(0)) } }, { topPendingReasons: 1 });
    const text = await scrape();
    expect(value(text, 'sfleet_pending_jobs', { cluster: 'a', reason: 'Priority' })).toBe(2);
    expect(value(text, 'sfleet_pending_jobs', { cluster: 'a', reason: 'other' })).toBe(2);
    expect(value(text, 'sfleet_pending_jobs', { cluster: 'a', reason: 'Resources' })).toBeUndefined();
  });

  it('the cardinality guard folds accounts (busiest kept) under the limit and says so', async () => {
    const state = new FleetState();
    const jobs = Array.from({ length: 300 }, (_, i) => testJob(i + 1, { account: i < 100 ? 'big' : `acct${i}`, state: 'PENDING' }));
    state.apply(jobDelta(jobs, { snapshot: true }));
    const open = createHubMetrics({ state, ingest: { stats: newIngestStats(), reports: new AgentReports(new ManualClock(0)) } }, { maxSeries: 1_000, topAccounts: 100_000 }); // every account served: the guard is what is tested
    const all = await open.scrape();
    expect(value(all, 'sfleet_metrics_fleet_series', { kind: 'served' })).toBe(value(all, 'sfleet_metrics_fleet_series', { kind: 'wanted' }));
    expect(all).not.toMatch(/^sfleet_metrics_folded_label_values\{/m);

    const { scrape } = createHubMetrics({ state, ingest: { stats: newIngestStats(), reports: new AgentReports(new ManualClock(0)) } }, { maxSeries: 100, topAccounts: 100_000 });
    const text = await scrape();
    const served = value(text, 'sfleet_metrics_fleet_series', { kind: 'served' })!;
    expect(served).toBeLessThanOrEqual(100);
    expect(value(text, 'sfleet_metrics_fleet_series', { kind: 'wanted' })).toBeGreaterThan(200);
    expect(value(text, 'sfleet_metrics_fleet_series_limit')).toBe(100);
    expect(value(text, 'sfleet_account_jobs', { cluster: 'a', account: 'big', state: 'PENDING' })).toBe(100);
    const kept = value(text, 'sfleet_metrics_folded_label_values', { label: 'account' })!;
    expect(kept).toBeGreaterThan(0);
    // nothing is lost in the sum
    expect(value(text, 'sfleet_account_jobs', { cluster: 'a', account: 'other', state: 'PENDING' })).toBe(300 - 100 - (kept - 1));
  });

  it('serves per-agent series from heartbeat reports, and drops them when the stream ends', async () => {
    const agentLabels = { cluster: 'a', agent: 'agent-1' };
    const clock = new ManualClock(1_700_000_000_000);
    const reports = new AgentReports(clock);
    const stream = {};
    const slurmrestd: SlurmrestdRequests[] = [
      { method: 'GET', path: '/slurm/jobs', le: [0.1, 1], bucket_counts: [5, 2, 1], sum_seconds: 3.5, count: 8, errors: { timeout: 1, http_5xx: 2 } },
      // what an agent could never make is no label on the hub
      { method: 'GET', path: '/slurm/job/12345', le: [0.1, 1], bucket_counts: [1, 0, 0], sum_seconds: 0.01, count: 1, errors: {} },
      { method: 'GET', path: '/slurm/jobs', le: [0.1], bucket_counts: [1, 0], sum_seconds: 0.01, count: 1, errors: { 'made-up': 1 } },
    ];
    reports.heard(stream, 'a', 'agent-1', { last_poll_duration_seconds: 0.25, last_poll_at: '2023-11-14T22:13:10.000Z', polls_total: 12, poll_failures_total: 2, slurm_read_errors_total: 3, spool_deltas: 4, spool_bytes: 4096, polling: true, slurmrestd });
    const { scrape } = createHubMetrics({ state: new FleetState(), ingest: { stats: newIngestStats(), reports }, clock });
    let text = await scrape();
    // the agent's slurmrestd latency and errors, per agent
    const jobs = { ...agentLabels, method: 'GET', path: '/slurm/jobs' };
    expect(value(text, 'sfleet_agent_slurmrestd_request_duration_seconds_bucket', { ...jobs, le: '0.1' })).toBe(5);
    expect(value(text, 'sfleet_agent_slurmrestd_request_duration_seconds_bucket', { ...jobs, le: '1' })).toBe(7);
    expect(value(text, 'sfleet_agent_slurmrestd_request_duration_seconds_bucket', { ...jobs, le: '+Inf' })).toBe(8);
    expect(value(text, 'sfleet_agent_slurmrestd_request_duration_seconds_sum', jobs)).toBe(3.5);
    expect(value(text, 'sfleet_agent_slurmrestd_errors_total', { ...jobs, kind: 'timeout' })).toBe(1);
    expect(value(text, 'sfleet_agent_slurmrestd_errors_total', { ...jobs, kind: 'http_5xx' })).toBe(2);
    expect(text).not.toMatch(/12345|made-up/);
    execFileSync('promtool', ['check', 'metrics'], { input: text });
    const agent = agentLabels;
    expect(value(text, 'sfleet_agent_poll_duration_seconds', agent)).toBe(0.25);
    expect(value(text, 'sfleet_agent_spool_deltas', agent)).toBe(4);
    expect(value(text, 'sfleet_agent_polls_total', agent)).toBe(12);
    expect(value(text, 'sfleet_agent_poll_failures_total', agent)).toBe(2);
    expect(value(text, 'sfleet_agent_slurm_read_errors_total', agent)).toBe(3);
    expect(value(text, 'sfleet_agent_last_seen_timestamp_seconds', agent)).toBe(1_700_000_000);
    expect(value(text, 'sfleet_agent_streams')).toBe(1);
    reports.gone(stream);
    text = await scrape();
    expect(value(text, 'sfleet_agent_spool_deltas', agent)).toBeUndefined();
    expect(value(text, 'sfleet_agent_streams')).toBe(0);
  });

  it("serves diag's cycle times, job counters and RPCs by type and by top user, counted once per cluster", async () => {
    const state = new FleetState();
    const base = { cluster: 'a', mode: 'primary', responding: true, api_version: 'v0.0.38', slurm_version: '22.05.8' };
    const diag = {
      schedule_cycle_last_us: 1_500, schedule_cycle_mean_us: 2_000, schedule_cycle_max_us: 30_000, schedule_cycles: 16, backfill_cycle_last_us: 250_000,
      backfill_cycle_mean_us: 200_000, backfill_cycle_max_us: 900_000, backfill_cycles: 3, backfilled_jobs: 2, jobs_submitted: 40, jobs_started: 35,
      jobs_completed: 30, jobs_canceled: 2, jobs_failed: 1,
      rpcs_by_type: [{ name: 'REQUEST_PING', count: 90, total_time_us: 9_000 }, { name: 'REQUEST_JOB_INFO', count: 5, total_time_us: 5_000_000 }],
      rpcs_by_user: [{ name: 'root', count: 50, total_time_us: 1_000 }, { name: 'alice', count: 30, total_time_us: 2_000 }, { name: 'bob', count: 20, total_time_us: 3_000 }, { name: '', count: 7, total_time_us: 4_000 }],
    };
    state.apply({ ...jobDelta([], { snapshot: true }), upserts: [wrapObject('controller', { ...base, hostname: 'ctl1', server_thread_count: 3, diag }), wrapObject('controller', { ...base, hostname: 'ctl2', mode: 'backup' })] });
    const { scrape } = createHubMetrics({ state, ingest: { stats: newIngestStats(), reports: new AgentReports(new ManualClock(0)) } }, { topRpcUsers: 2 });
    const text = await scrape();
    const ctl = { cluster: 'a', controller: 'ctl1' };
    expect(value(text, 'sfleet_controller_schedule_cycle_last_seconds', ctl)).toBe(0.0015);
    expect(value(text, 'sfleet_controller_schedule_cycle_max_seconds', ctl)).toBe(0.03);
    expect(value(text, 'sfleet_controller_backfill_cycle_mean_seconds', ctl)).toBe(0.2);
    expect(value(text, 'sfleet_controller_schedule_cycles_total', ctl)).toBe(16);
    expect(value(text, 'sfleet_controller_backfilled_jobs_total', ctl)).toBe(2);
    expect(value(text, 'sfleet_controller_jobs_total', { ...ctl, event: 'submitted' })).toBe(40);
    expect(value(text, 'sfleet_controller_jobs_total', { ...ctl, event: 'started' })).toBe(35);
    expect(value(text, 'sfleet_controller_jobs_total', { ...ctl, event: 'failed' })).toBe(1);
    expect(value(text, 'sfleet_controller_rpcs_total', { ...ctl, type: 'REQUEST_PING' })).toBe(90);
    expect(value(text, 'sfleet_controller_rpc_time_seconds_total', { ...ctl, type: 'REQUEST_JOB_INFO' })).toBe(5);
    expect(value(text, 'sfleet_controller_user_rpcs_total', { ...ctl, user: 'root' })).toBe(50);
    expect(value(text, 'sfleet_controller_user_rpcs_total', { ...ctl, user: 'alice' })).toBe(30);
    // beyond the top 2: bob and the agent's own remainder
    expect(value(text, 'sfleet_controller_user_rpcs_total', { ...ctl, user: 'bob' })).toBeUndefined();
    expect(value(text, 'sfleet_controller_user_rpcs_total', { ...ctl, user: 'other' })).toBe(27);
    expect(value(text, 'sfleet_controller_user_rpc_time_seconds_total', { ...ctl, user: 'other' })).toBeCloseTo(0.007, 9);
    expect(text).toMatch(/^# TYPE sfleet_controller_rpcs_total counter$/m);
    // the backup (no diag of its own) has none of these series
    expect(text).not.toMatch(/^sfleet_controller_(schedule|backfill|jobs|rpc|user)\w*\{[^}]*controller="ctl2"/m);
    expect(value(text, 'sfleet_controller_up', { cluster: 'a', controller: 'ctl2', mode: 'backup' })).toBe(1);
  });

  it('a large scrape lets other work run while it builds, and two scrapes at once give the same text', async () => {
    const state = new FleetState();
    const jobs = Array.from({ length: 6_000 }, (_, i) => testJob(i + 1, { account: `acct${Math.floor(i / 2) % 3_000}`, state: i % 2 ? 'PENDING' : 'RUNNING' }));
    state.apply(jobDelta(jobs, { snapshot: true }));
    const { scrape } = createHubMetrics({ state, ingest: { stats: newIngestStats(), reports: new AgentReports(new ManualClock(0)) } }, { topAccounts: 100_000 });
    const alone = await scrape();
    let done = false;
    let ranDuring = false;
    const scrapes = Promise.all([scrape(), scrape()]).finally(() => (done = true));
    setImmediate(() => (ranDuring = !done));
    const [a, b] = await scrapes;
    expect(ranDuring).toBe(true);
    // the fleet families (process series move between scrapes)
    const fleetLines = (text: string) => text.split('\n').filter((l) => Object.values(FLEET_FAMILIES).some((f) => l.startsWith(`${f.name}{`) || l.includes(` ${f.name} `))).join('\n');
    expect(fleetLines(alone).length).toBeGreaterThan(100_000);
    expect(fleetLines(a)).toBe(fleetLines(alone));
    expect(fleetLines(b)).toBe(fleetLines(alone));
    expect(alone.match(/^sfleet_account_jobs\{/gm)).toHaveLength(6_000);
  });

  it('counts the alerting room\'s alerts by cluster, state and severity', async () => {
    const alerts: { state: string; labels: Record<string, string> }[] = [
      { state: 'firing', labels: { cluster: 'a', severity: 'critical', alertname: 'ControllerDown' } },
      { state: 'firing', labels: { cluster: 'a', severity: 'critical', alertname: 'NodesDown' } },
      { state: 'pending', labels: { cluster: 'b', severity: 'warning' } },
      { state: 'resolved', labels: { alertname: 'HubLoginFlood' } },
    ];
    const { scrape } = createHubMetrics({ state: new FleetState(), ingest: { stats: newIngestStats(), reports: new AgentReports(new ManualClock(0)) }, alerts: { list: () => alerts } });
    let text = await scrape();
    expect(value(text, 'sfleet_alerts', { cluster: 'a', state: 'firing', severity: 'critical' })).toBe(2);
    expect(value(text, 'sfleet_alerts', { cluster: 'b', state: 'pending', severity: 'warning' })).toBe(1);
    expect(value(text, 'sfleet_alerts', { cluster: '', state: 'resolved', severity: '' })).toBe(1);
    // an alert's own labels (its name) are no series label
    expect(text).not.toMatch(/^sfleet_alerts\{[^}]*alertname/m);
    alerts.splice(0, 2);
    text = await scrape();
    expect(value(text, 'sfleet_alerts', { cluster: 'a', state: 'firing', severity: 'critical' })).toBeUndefined();
  });

  it('reads GPUs from gres and from job TRES', () => {
    expect(nodeGpus('gpu:a100:4(S:0-1),gpu:t4:2')).toBe(6);
    expect(nodeGpus('gpu:8')).toBe(8);
    expect(nodeGpus('(null)')).toBe(0);
    expect(jobGpus({ tres: 'cpu=4,gres/gpu=2,gres/gpu:a100=2' })).toBe(2);
    expect(jobGpus({ tres: 'cpu=4' })).toBe(0);
  });
});
