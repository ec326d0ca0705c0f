// The spine end to end against the real Slurm 22.05 started by scripts/slurm/start.sh:
// sbatch as different users -> slurmrestd -> agent -> hub -> `sfleet jobs -o json`, commands
// back to Slurm, a hub down for 30 s and an agent killed with SIGKILL.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { ensureSlurm, sbatchAs, slurmCli, squeueJson, type SlurmEnv } from './harness/slurm.js';

const POLL = 2_000;
let slurm: SlurmEnv;
let work: string;
let hub: SfleetProcess;
let agent: SfleetProcess;
let clientEnv: NodeJS.ProcessEnv;
let hubUrl: string;

interface JobJson {
  cluster: string;
  id: number;
  user: string;
  account: string;
  partition: string;
  state: string;
  name: string;
}

async function fleetJobs(): Promise<JobJson[]> {
  return JSON.parse(await sfleet(['jobs', '-o', 'json', '--cluster', slurm.cluster], clientEnv)) as JobJson[];
}

/** What squeue --json says, in the shape we compare on. */
async function slurmJobs(): Promise<Map<number, { user: string; account: string; partition: string; state: string }>> {
  const out = new Map<number, { user: string; account: string; partition: string; state: string }>();
  for (const j of (await squeueJson(slurm)).jobs) {
    out.set(Number(j.job_id), { user: String(j.user_name), account: String(j.account), partition: String(j.partition), state: String(j.job_state) });
  }
  return out;
}

/** The fleet's jobs equal Slurm's, for every job Slurm still holds. */
async function converged(): Promise<boolean> {
  const [truth, fleet] = await Promise.all([slurmJobs(), fleetJobs()]);
  if (truth.size !== fleet.length) return false;
  for (const j of fleet) {
    const t = truth.get(j.id);
    if (!t || t.user !== j.user || t.account !== j.account || t.partition !== j.partition || t.state !== j.state) return false;
  }
  return true;
}

async function clusterStatus(): Promise<{ epoch: number; seq: number; connected: boolean }> {
  const list = JSON.parse(await sfleet(['clusters', '-o', 'json'], clientEnv)) as { name: string; epoch: number; seq: number; connected: boolean }[];
  const c = list.find((x) => x.name === slurm.cluster);
  if (!c) throw new Error('cluster not at the hub yet');
  return c;
}

async function metric(name: string, label: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    // /metrics is not JSON: use node's https directly with the client certificate.
    import('node:https').then(({ request }) => {
      import('node:fs').then(({ readFileSync }) => {
        const req = request(`${hubUrl}/metrics`, { ca: readFileSync(clientEnv.SFLEET_CA!), cert: readFileSync(clientEnv.SFLEET_CERT!), key: readFileSync(clientEnv.SFLEET_KEY!) }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end();
      });
    });
  });
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${label}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'alice']).catch(() => {});
  await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'bob']).catch(() => {});
  work = mkdtempSync(join(tmpdir(), 'sfleet-spine-'));
  const pki = join(work, 'pki');
  const env = { ...process.env };
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'spine.test'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'head1', '--cluster', slurm.cluster], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'operator'], env);
  const grpcPort = await freePort();
  const httpPort = await freePort();
  hubUrl = `https://127.0.0.1:${httpPort}`;
  writeFileSync(
    join(work, 'hub.yaml'),
    `listen: { grpc: "127.0.0.1:${grpcPort}", http: "127.0.0.1:${httpPort}" }\ntls: { ca: ${pki}/ca.pem, cert: ${pki}/hub1.pem, key: ${pki}/hub1-key.pem }\ndata_dir: ${work}/hub-data\n`,
  );
  writeFileSync(
    join(work, 'agent.yaml'),
    [
      `cluster: ${slurm.cluster}`,
      'name: head1',
      `hub: { endpoints: ["127.0.0.1:${grpcPort}"], initial_backoff: 200ms, max_backoff: 1s }`,
      `tls: { ca: ${pki}/ca.pem, cert: ${pki}/head1.pem, key: ${pki}/head1-key.pem }`,
      `slurm: { source: rest, endpoints: ["${slurm.restUrl}"], auth: { user: ${slurm.restUser}, token: "\${SFLEET_TEST_SLURM_JWT}" } }`,
      `poll_interval: ${POLL / 1000}s`,
      `spool_dir: ${work}/spool`,
      '',
    ].join('\n'),
  );
  hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log')).start();
  agent = new SfleetProcess(['agent', '--config', join(work, 'agent.yaml')], join(work, 'agent.log'), { ...process.env, SFLEET_TEST_SLURM_JWT: slurm.jwt }).start();
  clientEnv = { ...process.env, SFLEET_HUB: hubUrl, SFLEET_CA: `${pki}/ca.pem`, SFLEET_CERT: `${pki}/operator.pem`, SFLEET_KEY: `${pki}/operator-key.pem`, SFLEET_CONFIG: join(work, 'contexts.yaml') };
  await waitFor('cluster connected', async () => (await clusterStatus()).connected, 30_000, 250);
});

afterAll(async () => {
  await agent?.kill('SIGTERM');
  await hub?.kill('SIGTERM');
  // Its held jobs would count against the quotas of the files after it.
  await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'alice']).catch(() => {});
  await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'bob']).catch(() => {});
});

describe('against the real Slurm 22.05', () => {
  it('jobs of different users appear with Slurm\'s ids, users, accounts, partitions and states within a poll', async () => {
    const a1 = await sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'debug', '-J', 'alice-run', '--wrap', 'sleep 300']);
    const a2 = await sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'batch', '-J', 'alice-held', '--hold', '--wrap', 'sleep 300']);
    const b1 = await sbatchAs(slurm, 'bob', ['-A', 'ops', '-p', 'batch', '-J', 'bob-fail', '--wrap', 'exit 3']);
    const submitted = Date.now();
    const jobs = await waitFor('the three jobs at the hub', async () => {
      const list = await fleetJobs();
      return [a1, a2, b1].every((id) => list.some((j) => j.id === id)) && list;
    }, POLL * 5, 200);
    // One poll interval, plus one more of slack for the CLI round trips on a loaded CI machine.
    expect(Date.now() - submitted).toBeLessThan(POLL * 2);
    const byId = new Map(jobs.map((j) => [j.id, j]));
    expect(byId.get(a1)).toMatchObject({ cluster: slurm.cluster, user: 'alice', account: 'research', partition: 'debug', name: 'alice-run' });
    expect(byId.get(a2)).toMatchObject({ user: 'alice', account: 'research', partition: 'batch', state: 'PENDING' });
    expect(byId.get(b1)).toMatchObject({ user: 'bob', account: 'ops', partition: 'batch' });
    await waitFor('fleet equals squeue --json', converged, 20_000, 500);
    const failed = await waitFor('the failed job reported with its exit code', async () => {
      const j = JSON.parse(await sfleet(['job', `${slurm.cluster}/${b1}`, '-o', 'json'], clientEnv)) as { state: string; exit_code: number | null };
      return j.state === 'FAILED' && j;
    }, 30_000, 500);
    expect(failed.exit_code).toBe(3);
    const byUser = JSON.parse(await sfleet(['jobs', '-o', 'json', '--user', 'bob'], clientEnv)) as JobJson[];
    expect(byUser.every((j) => j.user === 'bob')).toBe(true);
  });

  it('cancel and drain through sfleet take effect in Slurm', async () => {
    const id = await sbatchAs(slurm, 'bob', ['-A', 'ops', '-p', 'batch', '-J', 'to-cancel', '--hold', '--wrap', 'sleep 300']);
    await waitFor('job at the hub', async () => (await fleetJobs()).some((j) => j.id === id), 20_000, 300);
    const out = await sfleet(['cancel', `${slurm.cluster}/${id}`], clientEnv);
    expect(out).toMatch(/via rest/);
    await waitFor('Slurm shows the job cancelled', async () => (await slurmJobs()).get(id)?.state === 'CANCELLED', 20_000, 300);
    await waitFor('the hub shows it cancelled', async () => (await fleetJobs()).find((j) => j.id === id)?.state === 'CANCELLED', 20_000, 300);

    await sfleet(['drain', `${slurm.cluster}/node2`, '--reason', 'sfleet test'], clientEnv);
    const sinfo = await slurmCli(slurm, 'sinfo', ['-h', '-n', 'node2', '-o', '%T %E']);
    expect(sinfo).toMatch(/drain/i);
    expect(sinfo).toContain('sfleet test');
    await waitFor('the hub shows node2 drained', async () => {
      const nodes = JSON.parse(await sfleet(['nodes', '-o', 'json', '--cluster', slurm.cluster], clientEnv)) as { name: string; flags: string[]; reason: string }[];
      const n = nodes.find((x) => x.name === 'node2');
      return n?.flags.includes('DRAIN') && n.reason === 'sfleet test';
    }, 20_000, 300);
    await sfleet(['resume', `${slurm.cluster}/node2`], clientEnv);
    expect(await slurmCli(slurm, 'sinfo', ['-h', '-n', 'node2', '-o', '%T'])).not.toMatch(/drain/i);
    await expect(sfleet(['cancel', `${slurm.cluster}/999999`], clientEnv)).rejects.toThrow(/SF_SLURM_COMMAND_FAILED/);
  });

  it('a hub down for 30 s while jobs change loses nothing', async () => {
    const before = await clusterStatus();
    await hub.kill('SIGKILL');
    const during: number[] = [];
    for (let i = 0; i < 6; i++) {
      during.push(await sbatchAs(slurm, i % 2 ? 'alice' : 'bob', i % 2 ? ['-A', 'research', '-p', 'debug', '--hold', '--wrap', 'sleep 300'] : ['-A', 'ops', '-p', 'batch', '--hold', '--wrap', 'sleep 300']));
      await new Promise((r) => setTimeout(r, 5_000));
    }
    await slurmCli(slurm, 'scancel', [String(during[0])]);
    hub.start();
    await waitFor('hub back', async () => (await clusterStatus()).connected, 30_000, 300);
    await waitFor('fleet equals squeue --json after the outage', converged, 30_000, 500);
    const after = await clusterStatus();
    expect(after.epoch).toBe(before.epoch);
    expect(after.seq).toBeGreaterThan(before.seq);
    expect(await metric('sfleet_ingest_deltas_total', 'outcome="gap"')).toBe(0);
  });

  it('an agent killed with SIGKILL resumes its epoch without duplicates or gaps', async () => {
    await waitFor('fleet settled', converged, 20_000, 500);
    const before = await clusterStatus();
    const snapshotsBefore = await metric('sfleet_ingest_deltas_total', 'outcome="snapshot"');
    await agent.kill('SIGKILL');
    const id = await sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'debug', '--hold', '-J', 'while-agent-dead', '--wrap', 'sleep 300']);
    agent.start();
    await waitFor('the new job at the hub', async () => (await fleetJobs()).some((j) => j.id === id), 30_000, 300);
    await waitFor('fleet equals squeue --json', converged, 20_000, 500);
    const after = await clusterStatus();
    expect(after.epoch).toBe(before.epoch);
    expect(after.seq).toBeGreaterThan(before.seq);
    expect(await metric('sfleet_ingest_deltas_total', 'outcome="gap"')).toBe(0);
    expect(await metric('sfleet_ingest_deltas_total', 'outcome="snapshot"')).toBe(snapshotsBefore);
    const all = await fleetJobs();
    expect(new Set(all.map((j) => j.id)).size).toBe(all.length);
  });
});
