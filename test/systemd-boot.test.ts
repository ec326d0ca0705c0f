// The systemd units started for real: systemd is not PID 1 on this machine, so a minimal
// Debian 12 (scripts/release/debian-rootfs.sh) boots with systemd-nspawn, sharing the host's
// network. The hub's unit is installed as a package would; the agent is installed by
// scripts/install-agent.sh run inside the booted system, which enables and starts its unit.
// The agent reads a simulated cluster on the host and streams it to the hub; the test asks the
// hub from the host.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { execText } from './harness/exec.js';
import { httpsCall } from './harness/hub-child.js';
import { freePort } from './harness/ports.js';
import { releaseBinary } from './harness/release-binary.js';
import { ROOT } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

const run = (file: string, args: string[]) => execText(file, args, { env: process.env, timeoutMs: 900_000 });

let work: string;
let rootfs: string;
let boot: ChildProcess | undefined;
let sim: ChildProcess | undefined;
let bootLog = '';

/** PID 1 of the booted container, as the host sees it. */
async function containerInit(): Promise<number> {
  const children = (await run('pgrep', ['-P', String(boot!.pid)])).trim().split('\n').filter(Boolean);
  if (children.length !== 1) throw new Error(`systemd-nspawn has ${children.length} children`);
  return Number(children[0]);
}

/** A command inside the booted system, in all its namespaces. */
async function inside(args: string[]): Promise<string> {
  return run('nsenter', ['-t', String(await containerInit()), '-a', ...args]);
}

beforeAll(async () => {
  const binary = await releaseBinary();
  const cached = (await run('bash', [join(ROOT, 'scripts/release/debian-rootfs.sh')])).trim();
  work = mkdtempSync(join(tmpdir(), 'sfleet-boot-'));
  rootfs = join(work, 'root');
  await run('cp', ['-a', cached, rootfs]); // device nodes and owners as they are

  // The release as a site has it: binary, checksums, the install script, the agent's files.
  const release = join(rootfs, 'root/release');
  mkdirSync(release, { recursive: true });
  copyFileSync(binary, join(release, 'sfleet-linux-x64'));
  chmodSync(join(release, 'sfleet-linux-x64'), 0o755);
  await run('bash', ['-c', `cd '${release}' && sha256sum sfleet-linux-x64 > SHA256SUMS`]);
  for (const f of ['install.sh', 'install-agent.sh', 'install-hub.sh']) copyFileSync(join(ROOT, 'scripts', f), join(release, f));
  cpSync(join(ROOT, 'deploy/systemd'), join(release, 'systemd'), { recursive: true });
  const pki = join(work, 'pki');
  const sfleet = (args: string[]) => run(binary, args);
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'boot.test']);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub']);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'ops']);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'head1', '--cluster', 'bootsim']);
  const [http, grpc, simPort] = [await freePort(), await freePort(), await freePort()];
  mkdirSync(join(release, 'pki'));
  for (const f of ['ca.pem', 'head1.pem', 'head1-key.pem']) copyFileSync(join(pki, f), join(release, 'pki', f));
  writeFileSync(
    join(release, 'agent.yaml'),
    stringify({
      cluster: 'bootsim',
      hub: { endpoints: [`127.0.0.1:${grpc}`] },
      tls: { ca: '/etc/sfleet/pki/ca.pem', cert: '/etc/sfleet/pki/head1.pem', key: '/etc/sfleet/pki/head1-key.pem' },
      slurm: { source: 'rest', endpoints: [`http://127.0.0.1:${simPort}`], auth: { user: 'root', token: '${SLURM_JWT}' }, simulator: true },
      poll_interval: '1s',
    }),
  );
  writeFileSync(join(release, 'agent.env'), 'SLURM_JWT=boot\n', { mode: 0o600 });

  // The hub's files: install-hub.sh puts them in place inside the booted system.
  mkdirSync(join(release, 'hub-pki'));
  for (const f of ['ca.pem', 'hub.pem', 'hub-key.pem']) copyFileSync(join(pki, f), join(release, 'hub-pki', f));
  writeFileSync(
    join(release, 'hub.yaml'),
    stringify({ region: 'boot', hub_id: 'boot-1', data_dir: '/var/lib/sfleet-hub', listen: { http: `127.0.0.1:${http}`, grpc: `127.0.0.1:${grpc}` }, tls: { ca: '/etc/sfleet/pki/ca.pem', cert: '/etc/sfleet/pki/hub.pem', key: '/etc/sfleet/pki/hub-key.pem' } }),
  );

  sim = spawn(binary, ['sim', '--listen', `127.0.0.1:${simPort}`, '--nodes', '8', '--jobs', '40', '--token', 'boot'], { stdio: 'ignore' });
  boot = spawn('systemd-nspawn', ['--quiet', '--directory', rootfs, '--boot', '--register=no', '--keep-unit', '--console=pipe', '--machine', `sfleet-boot-${process.pid}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => (bootLog = (bootLog + chunk.toString('utf8')).slice(-4_000));
  boot.stdout!.on('data', keep);
  boot.stderr!.on('data', keep);
  await waitFor('the container boots to multi-user', async () => {
    if (boot!.exitCode !== null) throw new Error(`systemd-nspawn exited ${boot!.exitCode}: ${bootLog}`);
    // It exits non-zero while starting and when degraded: the word it prints is what counts.
    const state = (await inside(['sh', '-c', 'systemctl is-system-running || true']).catch(() => '')).trim();
    return state === 'running' || state === 'degraded';
  }, 120_000, 500);
  (globalThis as { bootPorts?: unknown }).bootPorts = { http, pki };
}, 1_200_000);

afterAll(async () => {
  if (boot && boot.exitCode === null) {
    await inside(['systemctl', 'poweroff']).catch(() => boot?.kill('SIGKILL'));
    await waitFor('the container to stop', async () => boot!.exitCode !== null, 30_000, 200).catch(() => boot?.kill('SIGKILL'));
  }
  sim?.kill('SIGTERM');
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('systemd units in a booted Debian 12', () => {
  it('install-hub.sh and install-agent.sh enable and start both units; the hub runs as its own user; the agent streams to it', async () => {
    const { http, pki } = (globalThis as { bootPorts?: { http: number; pki: string } }).bootPorts!;
    const hubInstall = ['bash', '/root/release/install-hub.sh', '--binary', '/root/release/sfleet-linux-x64', '--sums', '/root/release/SHA256SUMS', '--config', '/root/release/hub.yaml', '--pki', '/root/release/hub-pki', '--unit', '/root/release/systemd/sfleet-hub.service'];
    expect(await inside(hubInstall)).not.toMatch(/not started/);
    expect((await inside(['systemctl', 'is-enabled', 'sfleet-hub'])).trim()).toBe('enabled');
    expect((await inside(['systemctl', 'is-active', 'sfleet-hub'])).trim()).toBe('active');
    const hubPid = (await inside(['systemctl', 'show', '-p', 'MainPID', '--value', 'sfleet-hub'])).trim();
    expect(await inside(['ps', '-o', 'user=', '-p', hubPid]).catch(() => inside(['stat', '-c', '%U', `/proc/${hubPid}`]))).toMatch(/sfleet-hub/);

    const installed = await inside([
      'bash', '/root/release/install-agent.sh', '--binary', '/root/release/sfleet-linux-x64', '--sums', '/root/release/SHA256SUMS',
      '--config', '/root/release/agent.yaml', '--env', '/root/release/agent.env', '--pki', '/root/release/pki', '--unit', '/root/release/systemd/sfleet-agent.service',
    ]);
    expect(installed).not.toMatch(/not started/);
    expect((await inside(['systemctl', 'is-enabled', 'sfleet-agent'])).trim()).toBe('enabled');
    expect((await inside(['systemctl', 'is-active', 'sfleet-agent'])).trim()).toBe('active');

    const get = (path: string) => httpsCall(`https://127.0.0.1:${http}${path}`, { ca: join(pki, 'ca.pem'), cert: join(pki, 'ops.pem'), key: join(pki, 'ops-key.pem'), timeoutMs: 5_000 });
    await waitFor('the agent under systemd streams its cluster to the hub under systemd', async () => {
      const answer = await get('/api/v1/jobs?cluster=bootsim&limit=5').catch(() => undefined);
      return answer?.status === 200 && (JSON.parse(answer.body) as { items: unknown[] }).items.length > 0;
    }, 60_000, 500).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await inside(['journalctl', '-u', 'sfleet-agent', '-u', 'sfleet-hub', '--no-pager', '-n', '30']).catch(() => '')}`);
    });

    // A second run of either changes nothing and the services keep running.
    expect(await inside(hubInstall)).toMatch(/changed 0/);
    expect(await inside(['bash', '/root/release/install-agent.sh', '--binary', '/root/release/sfleet-linux-x64', '--sums', '/root/release/SHA256SUMS', '--config', '/root/release/agent.yaml', '--env', '/root/release/agent.env', '--pki', '/root/release/pki', '--unit', '/root/release/systemd/sfleet-agent.service'])).toMatch(/changed 0/);
    // Its journal never shows the Slurm token.
    expect(await inside(['journalctl', '-u', 'sfleet-agent', '--no-pager'])).not.toContain('SLURM_JWT=boot');
    expect(readFileSync(join(rootfs, 'etc/sfleet/agent.env'), 'utf8')).toBe('SLURM_JWT=boot\n');
  }, 300_000);
});
