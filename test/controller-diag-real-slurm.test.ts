// Issue 15: slurmctld's diag statistics from the real Slurm 22.05 (scripts/slurm/start.sh)
// through slurmrestd v0.0.38 -> agent -> hub /metrics. A job submitted as alice shows in the
// submitted/started counters, her sbatch in the RPCs by type and by user; promtool finds the
// exposition clean. The agent's requests to the real slurmrestd are counted per request kind, on
// its own /metrics and, from its heartbeats, on the hub's.
// Touches Slurm (sdiag counters): run it alone, e.g. under flock /tmp/sfleet-integration.lock, never beside another file that drives the same Slurm.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { prometheusBins, promtoolCheck } from './harness/prometheus.js';
import { testLogger } from './harness/run-logs.js';
import { ensureSlurm, sbatchAs, slurmCli, type SlurmEnv } from './harness/slurm.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const logger = testLogger('controller-diag');
let slurm: SlurmEnv;
let pki: TestPki;
let hub: RunningHub;
let agent: RunningAgent;

async function metrics(): Promise<string> {
  const res = await httpsCall(`${hub.httpUrl}/metrics`, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 10_000 });
  expect(res.status).toBe(200);
  return res.body;
}

/** The value of the series of `name` whose labels include `labels` (any order), or undefined. */
function seriesValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** The value of one series, by its name and exact label text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  slurm = await ensureSlurm();
  pki = await makePki();
  hub = await startHub(hubConfigSchema.parse({ listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' }, tls: pki.hub, data_dir: mkdtempSync(join(tmpdir(), 'hub-diag-')) }), { logger });
  agent = await startTestAgent(
    { cluster: slurm.cluster, endpoints: [hub.grpcAddress], tls: await pki.agent(slurm.cluster), slurm: { source: 'rest', endpoints: [slurm.restUrl], auth: { user: slurm.restUser, token: slurm.jwt } }, pollInterval: '1s', extra: { observe: { listen: '127.0.0.1:0' } } },
    { logger },
  );
}, 240_000);

afterAll(async () => {
  if (slurm) await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'alice', '-n', 'diag-metrics']).catch(() => {});
  await agent?.close();
  await hub?.close();
});

describe('controller diag metrics from the real Slurm 22.05', () => {
  it('a submitted job moves the job counters; RPCs by type and by user; promtool clean', async () => {
    await waitFor('diag series at the hub', async () => /^sfleet_controller_schedule_cycles_total\{/m.test(await metrics()), 30_000, 500);
    const name = /^sfleet_controller_up\{cluster="[^"]+",controller="([^"]+)",mode="primary"\} 1$/m.exec(await metrics())?.[1];
    expect(name).toBeDefined();
    const ctl = (extra = '') => `{cluster="${slurm.cluster}",controller="${name}"${extra}}`;
    const before = await metrics();
    const submitted = sample(before, `sfleet_controller_jobs_total${ctl(',event="submitted"')}`)!;
    const started = sample(before, `sfleet_controller_jobs_total${ctl(',event="started"')}`)!;
    expect(submitted).toBeGreaterThanOrEqual(0);

    await sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'batch', '-J', 'diag-metrics', '--wrap', 'true']);
    await waitFor('the submit and start counted', async () => {
      const text = await metrics();
      return sample(text, `sfleet_controller_jobs_total${ctl(',event="submitted"')}`)! >= submitted + 1 && sample(text, `sfleet_controller_jobs_total${ctl(',event="started"')}`)! >= started + 1;
    }, 30_000, 500);
    const text = await metrics();
    // alice's sbatch is an RPC of its type, and she is one of the busiest users of this quiet cluster
    expect(sample(text, `sfleet_controller_rpcs_total${ctl(',type="REQUEST_SUBMIT_BATCH_JOB"')}`)).toBeGreaterThanOrEqual(1);
    expect(sample(text, `sfleet_controller_rpc_time_seconds_total${ctl(',type="REQUEST_SUBMIT_BATCH_JOB"')}`)).toBeGreaterThan(0);
    expect(sample(text, `sfleet_controller_user_rpcs_total${ctl(',user="alice"')}`)).toBeGreaterThanOrEqual(1);
    expect(sample(text, `sfleet_controller_schedule_cycle_max_seconds${ctl()}`)).toBeGreaterThan(0);
    expect(sample(text, `sfleet_controller_backfill_cycle_last_seconds${ctl()}`)).toBeGreaterThanOrEqual(0);
    const lint = await promtoolCheck((await prometheusBins()).promtool, text);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
  });

  it("the agent's requests to the real slurmrestd: a latency histogram per request kind on the agent and, from heartbeats, on the hub", async () => {
    const onAgent = () => agent.metrics!.metrics();
    const count = (text: string, path: string, extra: Record<string, string> = {}) => seriesValue(text, 'sfleet_agent_slurmrestd_request_duration_seconds_count', { method: 'GET', path, ...extra });
    await waitFor('job list requests counted on the agent', async () => (count(await onAgent(), '/slurm/jobs') ?? 0) >= 1, 30_000, 250);
    const first = count(await onAgent(), '/slurm/jobs')!;
    // each poll (1 s) is one more request
    await waitFor('the next polls counted', async () => count(await onAgent(), '/slurm/jobs')! >= first + 2, 30_000, 250);
    const text = await onAgent();
    for (const path of ['/slurm/nodes', '/slurm/partitions', '/slurm/diag']) expect(count(text, path), path).toBeGreaterThanOrEqual(1);
    // the buckets add up: +Inf holds every request, the sum is real time spent
    const jobs = { method: 'GET', path: '/slurm/jobs', cluster: slurm.cluster };
    expect(seriesValue(text, 'sfleet_agent_slurmrestd_request_duration_seconds_bucket', { ...jobs, le: '+Inf' })).toBe(count(text, '/slurm/jobs'));
    expect(seriesValue(text, 'sfleet_agent_slurmrestd_request_duration_seconds_sum', jobs)).toBeGreaterThan(0);
    const lint = await promtoolCheck((await prometheusBins()).promtool, text);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
    // the hub shows the same figures per agent, from the heartbeats
    await waitFor('the agent\'s slurmrestd figures on the hub', async () => (count(await metrics(), '/slurm/jobs', { cluster: slurm.cluster }) ?? 0) >= first, 30_000, 500);
  });
});
