// Storage faults under a running agent, against the real Slurm 22.05 (scripts/slurm/start.sh):
// the agent's spool on a small tmpfs that fills up (ENOSPC), then on ext4 on a loop device that
// turns read-only (errors=remount-ro + trigger_fs_error: EROFS), then on faultfs (FUSE,
// scripts/faultfs) failing fsync, then write, with EIO. During each fault Slurm changes
// (a drain by scontrol, a burst of jobs) and a user cancels a job through the hub (audited); the
// hub shows the Slurm changes within two poll intervals, the agent logs the fault once, counts it
// in sfleet_agent_spool_write_errors_total and its /healthz says degraded, and after
// the fault clears the agent spools a snapshot, the hub equals Slurm (also after an agent
// restart from that spool) and `sfleet audit verify` passes. Root only (mounts). Also issue 11 item 7:
// `sfleet watch | head` exits quietly, and no agent or hub prints DEP0123 for an IP endpoint.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultMounts } from './harness/fault-mounts.js';
import { freePort } from './harness/ports.js';
import { assertBuilt, SFLEET, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { ensureSlurm, sbatchAs, slurmCli, squeueJson, type SlurmEnv } from './harness/slurm.js';
import { waitFor } from './harness/wait.js';

const POLL = 2_000;
const NODE = 'node3';
let slurm: SlurmEnv;
let work: string;
let mounts: FaultMounts;
let hub: SfleetProcess;
let agent: SfleetProcess | undefined;
let clientEnv: NodeJS.ProcessEnv;
let pki: string;
let grpcPort: number;
let observePort: number;

interface JobJson {
  id: number;
  state: string;
}

const fleetJobs = async (): Promise<JobJson[]> => JSON.parse(await sfleet(['jobs', '-o', 'json', '--cluster', slurm.cluster], clientEnv)) as JobJson[];

async function fleetNode(name: string): Promise<{ flags: string[]; reason: string } | undefined> {
  const nodes = JSON.parse(await sfleet(['nodes', '-o', 'json', '--cluster', slurm.cluster], clientEnv)) as { name: string; flags: string[]; reason: string }[];
  return nodes.find((n) => n.name === name);
}

async function clusterStatus(): Promise<{ epoch: number; seq: number; connected: boolean }> {
  const list = JSON.parse(await sfleet(['clusters', '-o', 'json'], clientEnv)) as { name: string; epoch: number; seq: number; connected: boolean }[];
  const c = list.find((x) => x.name === slurm.cluster);
  if (!c) throw new Error('cluster not at the hub yet');
  return c;
}

/** The hub's jobs equal squeue's (ids and states), and its node drain flags equal sinfo's. */
async function converged(): Promise<boolean> {
  const [truth, fleet] = await Promise.all([squeueJson(slurm), fleetJobs()]);
  const states = new Map(truth.jobs.map((j) => [Number(j.job_id), String(j.job_state)]));
  if (states.size !== fleet.length || fleet.some((j) => states.get(j.id) !== j.state)) return false;
  const drained = /drain/i.test(await slurmCli(slurm, 'sinfo', ['-h', '-n', NODE, '-o', '%T']));
  return ((await fleetNode(NODE))?.flags.includes('DRAIN') ?? false) === drained;
}

function startAgent(spoolDir: string, log: string): SfleetProcess {
  const config = join(work, `agent-${log}.yaml`);
  writeFileSync(
    config,
    [
      `cluster: ${slurm.cluster}`,
      'name: head1',
      `hub: { endpoints: ["127.0.0.1:${grpcPort}"], initial_backoff: 200ms, max_backoff: 1s }`,
      `tls: { ca: ${pki}/ca.pem, cert: ${pki}/head1.pem, key: ${pki}/head1-key.pem }`,
      `slurm: { source: rest, endpoints: ["${slurm.restUrl}"], auth: { user: ${slurm.restUser}, token: "\${SFLEET_TEST_SLURM_JWT}" } }`,
      `poll_interval: ${POLL / 1000}s`,
      `spool_dir: ${spoolDir}`,
      `observe: { listen: "127.0.0.1:${observePort}" }`,
      '',
    ].join('\n'),
  );
  return new SfleetProcess(['agent', '--config', config], join(work, `${log}.log`), { ...process.env, SFLEET_TEST_SLURM_JWT: slurm.jwt }).start();
}

/** The agent's own /healthz (503 while degraded) and its spool write error count. */
async function agentHealth(): Promise<{ status: string; reasons: string[] }> {
  return (await fetch(`http://127.0.0.1:${observePort}/healthz`)).json() as Promise<{ status: string; reasons: string[] }>;
}
async function spoolWriteErrors(): Promise<number> {
  const line = (await (await fetch(`http://127.0.0.1:${observePort}/metrics`)).text()).split('\n').find((l) => l.startsWith('sfleet_agent_spool_write_errors_total '));
  return line ? Number(line.split(' ').pop()) : 0;
}

const agentLines = (log: string): Array<Record<string, unknown>> =>
  readFileSync(join(work, `${log}.log`), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/**
 * One fault: inject, change Slurm and act through the hub, check the hub during the fault and
 * the agent's log, clear, check convergence and the spool on disk, restart the agent from it.
 */
async function underFault(log: string, spoolDir: string, code: string, fault: { inject(): Promise<void> | void; clear(): Promise<void> | void }): Promise<void> {
  agent = startAgent(spoolDir, log);
  await waitFor('agent connected and the hub equal to Slurm', async () => (await clusterStatus()).connected && (await converged()), 60_000, 500);
  const before = await clusterStatus();
  const errorsBefore = await spoolWriteErrors();
  await fault.inject();
  // A full tmpfs may still take a small append in the last page of deltas.log: jobs arrive one a
  // poll until the spool's first write fails (on a read-only filesystem that is the first one).
  const burst: number[] = [];
  const spoolFault = (): Array<Record<string, unknown>> => agentLines(log).filter((l) => l.store === 'spool' && l.level === 50);
  await waitFor('the spool fails to write', async () => {
    if (spoolFault().length > 0) return true;
    const submit = () => sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'debug', '--hold', '-J', `sf-storage-${log}`, '--wrap', 'sleep 300']);
    burst.push(...(await Promise.all([submit(), submit(), submit(), submit()])));
    await new Promise((r) => setTimeout(r, POLL));
    return spoolFault().length > 0;
  }, POLL * 40, 0);

  // Slurm changes during the fault: a drain by scontrol and a burst of jobs.
  await slurmCli(slurm, 'scontrol', ['update', `nodename=${NODE}`, 'state=drain', `reason=storage-fault-${log}`]);
  for (let i = 0; i < 5; i++) burst.push(await sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'debug', '--hold', '-J', `sf-storage-${log}`, '--wrap', 'sleep 300']));
  const changedAt = Date.now();
  const seenAt = await waitFor('the hub shows the drain and the burst', async () => {
    const askedAt = Date.now();
    const [jobs, node] = await Promise.all([fleetJobs(), fleetNode(NODE)]);
    return burst.every((id) => jobs.some((j) => j.id === id)) && node?.flags.includes('DRAIN') && node.reason === `storage-fault-${log}` && askedAt;
  }, POLL * 10, 200);
  expect(seenAt - changedAt).toBeLessThan(POLL * 2);

  // A user acts through the hub (audited); the command reaches Slurm through the agent.
  await sfleet(['cancel', `${slurm.cluster}/${burst[0]}`], clientEnv);
  await waitFor('the hub shows the cancel', async () => (await fleetJobs()).find((j) => j.id === burst[0])?.state === 'CANCELLED', POLL * 10, 300);

  // The fault is in the agent's log once (not once per write), and the agent is still up.
  const faultLines = spoolFault();
  expect(faultLines).toHaveLength(1);
  expect(faultLines[0]).toMatchObject({ code });
  expect(agent.alive).toBe(true);
  expect(await spoolWriteErrors()).toBeGreaterThan(errorsBefore);
  const health = await agentHealth();
  expect(health.status).toBe('degraded');
  expect(health.reasons.join('\n')).toMatch(new RegExp(`spool: ${code} since `));

  await fault.clear();
  await waitFor('the agent spools again', () => agentLines(log).some((l) => l.store === 'spool' && /work again/.test(String(l.msg))), 30_000, 300);
  await waitFor('the hub equals Slurm after the fault', converged, 30_000, 500);
  await waitFor('the agent healthy again', async () => (await agentHealth()).status === 'ok', 30_000, 300);
  const after = await clusterStatus();
  expect(after.seq > before.seq || after.epoch > before.epoch).toBe(true);
  expect(statSync(join(spoolDir, 'deltas.log')).size).toBeGreaterThan(0);
  expect(existsSync(join(spoolDir, 'checkpoint.bin'))).toBe(true);

  // What the agent spooled is whole: restarted from it, it resumes the epoch and nothing is missing.
  await agent.kill('SIGKILL');
  await slurmCli(slurm, 'scontrol', ['update', `nodename=${NODE}`, 'state=resume']);
  agent.start();
  await waitFor('the hub equals Slurm after an agent restart from the recovered spool', async () => (await clusterStatus()).connected && (await converged()), 60_000, 500);
  expect((await clusterStatus()).epoch).toBe(after.epoch);
  await agent.kill('SIGTERM');
  agent = undefined;
  await slurmCli(slurm, 'scancel', ['--quiet', '-n', `sf-storage-${log}`]);
}

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  work = mkdtempSync(join(tmpdir(), 'sfleet-storage-'));
  mounts = new FaultMounts(join(work, 'mnt'));
  pki = join(work, 'pki');
  const env = { ...process.env };
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'storage.test'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'head1', '--cluster', slurm.cluster], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'operator'], env);
  grpcPort = await freePort();
  observePort = await freePort();
  const httpPort = await freePort();
  writeFileSync(
    join(work, 'hub.yaml'),
    `listen: { grpc: "127.0.0.1:${grpcPort}", http: "127.0.0.1:${httpPort}" }\ntls: { ca: ${pki}/ca.pem, cert: ${pki}/hub1.pem, key: ${pki}/hub1-key.pem }\ndata_dir: ${work}/hub-data\n`,
  );
  hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log')).start();
  clientEnv = { ...process.env, SFLEET_HUB: `https://127.0.0.1:${httpPort}`, SFLEET_CA: `${pki}/ca.pem`, SFLEET_CERT: `${pki}/operator.pem`, SFLEET_KEY: `${pki}/operator-key.pem`, SFLEET_CONFIG: join(work, 'contexts.yaml') };
}, 120_000);

afterAll(async () => {
  await agent?.kill('SIGKILL');
  await hub?.kill('SIGTERM');
  if (slurm) {
    await slurmCli(slurm, 'scontrol', ['update', `nodename=${NODE}`, 'state=resume']).catch(() => {});
    for (const log of ['tmpfs', 'ext4', 'eio-fsync', 'eio-write', 'plain']) await slurmCli(slurm, 'scancel', ['--quiet', '-n', `sf-storage-${log}`]).catch(() => {});
  }
  await mounts?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('storage faults under the agent spool (real Slurm)', () => {
  it('a full disk (tmpfs, ENOSPC): changes reach the hub from memory, a snapshot is spooled once space is back', async () => {
    const dir = await mounts.tmpfs('spool-tmpfs', 512);
    let filler = '';
    await underFault('tmpfs', dir, 'ENOSPC', {
      inject: () => {
        filler = mounts.fill(dir);
      },
      clear: () => rmSync(filler),
    });
  });

  it('a filesystem turned read-only (ext4 on a loop device, EROFS): the same, once a checked copy is mounted in its place', async () => {
    const ext4 = await mounts.ext4('spool-ext4', 16);
    await underFault('ext4', ext4.dir, 'EROFS', { inject: () => ext4.fail(), clear: () => ext4.repair() });
  });

  // faultfs passes every call to a directory on the real disk and fails the chosen ones: the
  // agent's fsync (then, in the next case, its write) returns EIO from the kernel.
  for (const op of ['fsync', 'write'] as const) {
    it(`I/O errors on ${op} (faultfs, EIO): the same, once the disk answers again`, async () => {
      const fs = await mounts.faultfs(`spool-eio-${op}`);
      await underFault(`eio-${op}`, fs.dir, 'EIO', { inject: () => fs.set([{ op, fail: 'EIO', path: '/*' }]), clear: () => fs.clear() });
      expect(fs.log()).toMatch(new RegExp(`faultfs: ${op} /[^:]+: EIO`));
    });
  }

  it('`sfleet watch | head` exits quietly, and no process warns about an IP address as TLS server name (DEP0123)', async () => {
    agent = startAgent(join(work, 'spool-plain'), 'plain');
    await waitFor('agent connected', async () => (await clusterStatus()).connected, 60_000, 300);
    // bash's pipefail: the status is sfleet's, not only head's.
    const child = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${SFLEET}" watch -o json | head -n 2 >/dev/null`], { env: clientEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let done = false;
    void exited.then(() => (done = true));
    // Changes until head has its two lines and sfleet's next write meets the closed pipe.
    for (let i = 0; i < 30 && !done; i++) {
      await sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'debug', '--hold', '-J', 'sf-storage-plain', '--wrap', 'sleep 300']);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    if (!done) child.kill('SIGKILL');
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|Error|at /);
    await agent.kill('SIGTERM');
    agent = undefined;
    await slurmCli(slurm, 'scancel', ['--quiet', '-n', 'sf-storage-plain']);
    for (const log of ['hub', 'tmpfs', 'ext4', 'eio-fsync', 'eio-write', 'plain']) expect(readFileSync(join(work, `${log}.log`), 'utf8')).not.toContain('DEP0123');
  });

  it('the audit log of the commands made during the faults verifies', async () => {
    const out = await sfleet(['audit', 'verify', '--data-dir', join(work, 'hub-data')], clientEnv);
    expect(out).toMatch(/^OK: /);
    expect(out).not.toMatch(/ 0 records/);
  });
});
