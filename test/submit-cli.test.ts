// Submission through an agent on the CLI source against the real Slurm 22.05: the agent runs
// `sbatch --parsable` as the caller's Slurm user (runuser), the job gets --export=NONE semantics
// plus the --export values (a comma inside a value stays whole), and Slurm's own words come back
// for a bad partition.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerSecret } from './harness/run-logs.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { ensureSlurm, slurmCli, type SlurmEnv } from './harness/slurm.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';

// alice has a uid below 1000 on this machine: the test lowers submit.min_uid to 900 (root and system accounts stay refused).
const MIN_UID = 900;
const TAG = `sfcli${process.pid}`;
const OUT = `/tmp/${TAG}.out`;
let slurm: SlurmEnv;
let work: string;
let hub: SfleetProcess;
let agent: SfleetProcess;
let hubUrl: string;
let ca: string;
let token = '';

function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${token}` };
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
    const req = request(`${hubUrl}${path}`, { method, ca: readFileSync(ca), headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  work = mkdtempSync(join(tmpdir(), 'sfleet-submit-cli-'));
  const pki = join(work, 'pki');
  ca = `${pki}/ca.pem`;
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'submit-cli.test'], process.env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], process.env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'head1', '--cluster', slurm.cluster], process.env);
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  hubUrl = `https://127.0.0.1:${httpPort}`;
  writeFileSync(
    join(work, 'hub.yaml'),
    stringify({
      listen: { grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}` },
      tls: { ca, cert: `${pki}/hub1.pem`, key: `${pki}/hub1-key.pem` },
      data_dir: join(work, 'hub-data'),
      log_level: 'warn',
      submit: { min_uid: MIN_UID, user_map: { alice: 'alice' } },
    }),
  );
  writeFileSync(
    join(work, 'agent.yaml'),
    stringify({
      cluster: slurm.cluster,
      name: 'head1',
      hub: { endpoints: [`127.0.0.1:${grpcPort}`], initial_backoff: '200ms', max_backoff: '1s' },
      tls: { ca, cert: `${pki}/head1.pem`, key: `${pki}/head1-key.pem` },
      slurm: { source: 'cli' },
      poll_interval: '1s',
      spool_dir: join(work, 'spool'),
      submit: { min_uid: MIN_UID },
    }),
  );
  const out = await sfleet(['token', 'create', '--name', 'alice', '--data-dir', join(work, 'hub-data')], { PATH: process.env.PATH, HOME: work });
  token = out.trim().split('\n').pop()!;
  registerSecret(token, 'API token alice (submit-cli)');
  hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log')).start();
  agent = new SfleetProcess(['agent', '--config', join(work, 'agent.yaml')], join(work, 'agent.log'), { ...process.env, ...slurm.cliEnv, SFLEET_TEST_LEAK: 'the agent environment' }).start();
  await waitFor('agent connected', async () => {
    const res = await call('GET', '/api/v1/clusters').catch(() => undefined);
    return res?.status === 200 && JSON.stringify(res.json).includes('"connected":true');
    // A hub and an agent starting on a loaded machine (CI shares it with other suites).
  }, 90_000, 250);
}, 150_000);

afterAll(async () => {
  const ids = (await slurmCli(slurm, 'squeue', ['-h', '-u', 'alice', '-o', '%i %j']).catch(() => '')).split('\n').filter((l) => l.includes(TAG)).map((l) => l.split(' ')[0]);
  if (ids.length) await slurmCli(slurm, 'scancel', ids);
  rmSync(OUT, { force: true });
  await agent?.kill('SIGTERM');
  await hub?.kill('SIGTERM');
});

describe('submit through an agent on the CLI source (sbatch, real Slurm 22.05)', () => {
  it("runs the job as alice with only the minimal PATH, HOME and the --export values; Slurm's words for a bad partition", async () => {
    const res = await call('POST', `/api/v1/jobs/${slurm.cluster}`, {
      wrap: `echo "$FOO|$(id -un)|$PATH|$SFLEET_TEST_LEAK" > ${OUT}`,
      account: 'research',
      partition: 'debug',
      job_name: `${TAG}-ok`,
      time_minutes: 1,
      output: '/dev/null',
      chdir: '/tmp',
      export: { FOO: 'a,b c' },
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json).toMatchObject({ user: 'alice', job_id: expect.stringMatching(/^\d+$/) });
    expect(String(res.json.message)).toMatch(/as alice/);
    await waitFor('the job wrote its output', async () => existsSync(OUT) && readFileSync(OUT, 'utf8').endsWith('\n'), 30_000, 250);
    expect(readFileSync(OUT, 'utf8')).toBe('a,b c|alice|/usr/local/bin:/usr/bin:/bin|\n');

    const bad = await call('POST', `/api/v1/jobs/${slurm.cluster}`, { wrap: 'true', account: 'research', partition: 'nope', job_name: `${TAG}-bad`, chdir: '/tmp' });
    expect(bad.status).toBe(422);
    expect(String(bad.json.detail)).toMatch(/Invalid partition name specified/);
  });
});
