// The job history against the real Slurm 22.05: runs that ended reach the history through the
// agent (sacct on the head node, asked by the owning hub over the agent stream) with the same
// JobIDRaw, User, Account, Partition, QOS, State, ExitCode, Submit, Start, End, AllocTRES and
// NodeList as `sacct -P` shows, a requeued job as one row per run, and a job that started and
// ended while its agent was stopped. Queried with `sfleet history jobs` and `sfleet report usage`.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execText } from './harness/exec.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { ensureSlurm, sbatchAs, slurmCli, type SlurmEnv } from './harness/slurm.js';
import type { HistoryJobView } from '../shared/history/index.js';

let slurm: SlurmEnv;
let work: string;
let hub: SfleetProcess;
let agent: SfleetProcess;
let clientEnv: NodeJS.ProcessEnv;
const agentEnv = (): NodeJS.ProcessEnv => ({ ...process.env, SFLEET_TEST_SLURM_JWT: slurm.jwt });


const FIELDS = 'JobIDRaw,User,Account,Partition,QOS,State,ExitCode,Submit,Start,End,AllocTRES,NodeList';

/** `sacct -P --duplicates -X` for these jobs, times in UTC, one line per run. */
async function sacctLines(ids: number[]): Promise<string[]> {
  const out = await execText('sacct', ['-P', '-n', '-X', '--duplicates', '-j', ids.join(','), '-o', FIELDS], {
    env: { ...slurm.cliEnv, TZ: 'UTC', SLURM_TIME_FORMAT: '%Y-%m-%dT%H:%M:%S' },
    timeoutMs: 30_000,
  });
  return out.split('\n').filter(Boolean).sort();
}

/** The same line built from the history, as sacct prints it. */
function asSacct(r: HistoryJobView): string {
  const t = (iso: string | null): string => (iso === null ? 'Unknown' : iso.slice(0, 19));
  return [r.job_id, r.user, r.account, r.partition, r.qos, r.state, `${r.exit_code}:${r.exit_signal}`, t(r.submit_time), t(r.start_time), t(r.end_time), r.alloc_tres, r.node_list || 'None assigned'].join('|');
}

async function history(args: string[] = []): Promise<HistoryJobView[]> {
  return JSON.parse(await sfleet(['history', 'jobs', '-o', 'json', '--cluster', slurm.cluster, '--limit', '10000', ...args], clientEnv)) as HistoryJobView[];
}

/** Waits until every run sacct shows for `ids` is in the history, then returns both sides. */
async function sameAsSacct(ids: number[], timeoutMs = 60_000): Promise<{ truth: string[]; ours: string[] }> {
  return waitFor('the history equals sacct for the jobs', async () => {
    const truth = await sacctLines(ids);
    // sacct prints "CANCELLED by <uid>"; the history keeps the state word.
    const normal = truth.map((l) => l.replace(/\|CANCELLED by \d+\|/, '|CANCELLED|'));
    const ours = (await history()).filter((r) => ids.includes(r.job_id)).map(asSacct).sort();
    return ours.length === normal.length && ours.every((l, i) => l === normal[i]) && { truth: normal, ours };
  }, timeoutMs, 1000);
}

async function endedInSacct(id: number, runs = 1): Promise<void> {
  await waitFor(`job ${id} ended in slurmdbd`, async () => {
    const lines = await sacctLines([id]);
    return lines.length >= runs && lines.every((l) => /\|(COMPLETED|FAILED|CANCELLED[^|]*|REQUEUED|TIMEOUT)\|/.test(l));
  }, 90_000, 500);
}

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  work = mkdtempSync(join(tmpdir(), 'sfleet-history-'));
  const pki = join(work, 'pki');
  const env = { ...process.env };
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'history.test'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'head1', '--cluster', slurm.cluster], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'operator'], env);
  const grpcPort = await freePort();
  const httpPort = await freePort();
  writeFileSync(
    join(work, 'hub.yaml'),
    [
      `listen: { grpc: "127.0.0.1:${grpcPort}", http: "127.0.0.1:${httpPort}" }`,
      `tls: { ca: ${pki}/ca.pem, cert: ${pki}/hub1.pem, key: ${pki}/hub1-key.pem }`,
      `data_dir: ${work}/hub-data`,
      'history: { backfill_interval: 2s, backfill_margin: 2m, initial_lookback: 10m, max_window: 5m, threads: 1, memory_limit: 256MB }',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(work, 'agent.yaml'),
    [
      `cluster: ${slurm.cluster}`,
      'name: head1',
      `hub: { endpoints: ["127.0.0.1:${grpcPort}"], initial_backoff: 200ms, max_backoff: 1s }`,
      `tls: { ca: ${pki}/ca.pem, cert: ${pki}/head1.pem, key: ${pki}/head1-key.pem }`,
      `slurm: { source: rest, endpoints: ["${slurm.restUrl}"], auth: { user: ${slurm.restUser}, token: "\${SFLEET_TEST_SLURM_JWT}" } }`,
      'poll_interval: 2s',
      `spool_dir: ${work}/spool`,
      '',
    ].join('\n'),
  );
  hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log')).start();
  agent = new SfleetProcess(['agent', '--config', join(work, 'agent.yaml')], join(work, 'agent.log'), agentEnv()).start();
  clientEnv = { ...process.env, SFLEET_HUB: `https://127.0.0.1:${httpPort}`, SFLEET_CA: `${pki}/ca.pem`, SFLEET_CERT: `${pki}/operator.pem`, SFLEET_KEY: `${pki}/operator-key.pem`, SFLEET_CONFIG: join(work, 'contexts.yaml') };
  await waitFor('cluster connected', async () => {
    const list = JSON.parse(await sfleet(['clusters', '-o', 'json'], clientEnv)) as { name: string; connected: boolean }[];
    return list.some((c) => c.name === slurm.cluster && c.connected);
  }, 120_000, 500);
});

afterAll(async () => {
  await slurmCli(slurm, 'scancel', ['--quiet', '-n', 'hist-test']).catch(() => {});
  await agent?.kill('SIGTERM');
  await hub?.kill('SIGTERM');
});

describe('job history against the real Slurm 22.05', () => {
  it('finished runs are in the history as sacct -P shows them (failed, completed, cancelled while pending, requeued)', async () => {
    const failed = await sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'debug', '-J', 'hist-test', '--wrap', 'exit 3']);
    const done = await sbatchAs(slurm, 'bob', ['-A', 'ops', '-p', 'batch', '-N', '2', '-J', 'hist-test', '--wrap', 'sleep 1']);
    const cancelled = await sbatchAs(slurm, 'bob', ['-A', 'ops', '-p', 'batch', '--hold', '-J', 'hist-test', '--wrap', 'sleep 1']);
    await slurmCli(slurm, 'scancel', [String(cancelled)]);
    const requeued = await sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'debug', '-J', 'hist-test', '--wrap', 'sleep 3']);
    await waitFor('the requeue candidate runs', async () => (await slurmCli(slurm, 'squeue', ['-h', '-j', String(requeued), '-o', '%T'])).trim() === 'RUNNING', 30_000, 300);
    await slurmCli(slurm, 'scontrol', ['requeue', String(requeued)]);
    // A requeued job waits for a begin time Slurm sets about two minutes out: run it now. The
    // requeue completes asynchronously (the job passes through COMPLETING), and an update made
    // before it is PENDING again is lost: repeat it until the job has left BeginTime.
    await waitFor('the requeued job runs again', async () => {
      const state = (await slurmCli(slurm, 'squeue', ['-h', '-j', String(requeued), '-o', '%T']).catch(() => '')).trim();
      if (state === 'PENDING') await slurmCli(slurm, 'scontrol', ['update', `JobId=${requeued}`, 'StartTime=now']).catch(() => undefined);
      // Started again: running now, or its second run already ended in slurmdbd (COMPLETING is
      // also the state the requeue itself passes through: not an answer).
      const runs = await sacctLines([requeued]);
      return state === 'RUNNING' || (runs.length >= 2 && runs.every((l) => /\|(COMPLETED|FAILED|REQUEUED|TIMEOUT)\|/.test(l)));
    }, 60_000, 500);
    for (const id of [failed, done, cancelled]) await endedInSacct(id);
    await endedInSacct(requeued, 2);

    const { ours } = await sameAsSacct([failed, done, cancelled, requeued], 90_000);
    expect(ours.filter((l) => l.startsWith(`${requeued}|`)).map((l) => l.split('|')[5]).sort()).toEqual(['COMPLETED', 'REQUEUED']);
    const rows = await history(['--user', 'alice', '--state', 'FAILED']);
    expect(rows.find((r) => r.job_id === failed)).toMatchObject({ account: 'research', exit_code: 3, partition: 'debug' });
    expect(rows.every((r) => r.user === 'alice' && r.state === 'FAILED')).toBe(true);

    const usage = JSON.parse(await sfleet(['report', 'usage', '--by', 'account', '--since', '1h', '-o', 'json'], clientEnv)) as { key: string; jobs: number; failure_rate: number }[];
    const research = usage.find((u) => u.key === 'research');
    expect(research?.jobs).toBeGreaterThanOrEqual(3);
    expect(research?.failure_rate).toBeGreaterThan(0);
    await expect(sfleet(['report', 'usage', '--since', 'yesterday'], clientEnv)).rejects.toThrow(/since: "yesterday" is neither/);
  }, 240_000);

  it('a job that starts and ends while its agent is stopped is backfilled when the agent is back', async () => {
    await agent.kill('SIGTERM');
    await waitFor('the hub sees the agent gone', async () => {
      const list = JSON.parse(await sfleet(['clusters', '-o', 'json'], clientEnv)) as { name: string; connected: boolean }[];
      return list.some((c) => c.name === slurm.cluster && !c.connected);
    }, 30_000, 250);
    const unseen = await sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'batch', '-J', 'hist-test', '--wrap', 'sleep 1']);
    await endedInSacct(unseen);
    expect((await history()).some((r) => r.job_id === unseen)).toBe(false);
    agent = new SfleetProcess(['agent', '--config', join(work, 'agent.yaml')], join(work, 'agent-2.log'), agentEnv()).start();
    await sameAsSacct([unseen], 60_000);
  }, 180_000);
});
