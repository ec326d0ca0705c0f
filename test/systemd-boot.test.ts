// The systemd units started for real: systemd is not PID 1 on this machine, so a minimal Debian 12
// boots with systemd-nspawn (test/harness/booted-debian.ts, shared with ansible-booted), sharing
// the host's network. install-hub.sh and install-agent.sh, run inside the booted system, install
// the release and enable and start the units. The agent reads a simulated cluster on the host and
// streams it to the hub; the test asks the hub from the host. Then what the units promise: a
// SIGKILLed service is restarted (Restart=on-failure), the sandbox holds in the running service
// (read-only system and /etc/sfleet, writable state and logs only, no capabilities, no new
// privileges), and
// `systemctl stop` ends each with exit 0 before the stop timeout.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { bootDebian, type BootedDebian } from './harness/booted-debian.js';
import { execText } from './harness/exec.js';
import { httpsCall } from './harness/hub-child.js';
import { freePort } from './harness/ports.js';
import { releaseBinary } from './harness/release-binary.js';
import { ROOT } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

const work = mkdtempSync(join(tmpdir(), 'sfleet-boot-'));
let debian: BootedDebian | undefined;
let sim: ChildProcess | undefined;
let get: (path: string) => Promise<{ status: number; body: string }>;

const R = '/root/release';
const hubInstall = ['bash', `${R}/install-hub.sh`, '--binary', `${R}/sfleet-linux-x64`, '--sums', `${R}/SHA256SUMS`, '--config', `${R}/hub.yaml`, '--pki', `${R}/hub-pki`, '--unit', `${R}/systemd/sfleet-hub.service`];
const agentInstall = ['bash', `${R}/install-agent.sh`, '--binary', `${R}/sfleet-linux-x64`, '--sums', `${R}/SHA256SUMS`, '--config', `${R}/agent.yaml`, '--env', `${R}/agent.env`, '--pki', `${R}/pki`, '--unit', `${R}/systemd/sfleet-agent.service`];

const inside = (args: string[]) => debian!.inside(args);
const show = async (unit: string, prop: string) => (await inside(['systemctl', 'show', '-p', prop, '--value', unit])).trim();
/** A shell command in the running service's own mount namespace, as root or as the service's user. */
const inService = (pid: string, script: string, user?: string) =>
  inside(['sh', '-c', `nsenter -t ${pid} -m ${user ? `-S $(id -u ${user}) -G $(id -g ${user})` : ''} sh -c '${script}' 2>&1; echo "exit=$?"`]);
const journal = () => inside(['journalctl', '-u', 'sfleet-agent', '-u', 'sfleet-hub', '--no-pager', '-n', '40']).catch(() => '');

async function clusterListed(what: string): Promise<void> {
  await waitFor(what, async () => {
    const answer = await get('/api/v1/jobs?cluster=bootsim&limit=5').catch(() => undefined);
    return answer?.status === 200 && (JSON.parse(answer.body) as { items: unknown[] }).items.length > 0;
  }, 90_000, 500).catch(async (err: Error) => {
    throw new Error(`${err.message}\n${await journal()}`);
  });
}

beforeAll(async () => {
  const binary = await releaseBinary();
  const sfleet = (args: string[]) => execText(binary, args, { env: process.env, timeoutMs: 120_000 });
  const pki = join(work, 'pki');
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'boot.test']);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub']);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'ops']);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'head1', '--cluster', 'bootsim']);
  const [http, grpc, simPort] = [await freePort(), await freePort(), await freePort()];
  get = (path) => httpsCall(`https://127.0.0.1:${http}${path}`, { ca: join(pki, 'ca.pem'), cert: join(pki, 'ops.pem'), key: join(pki, 'ops-key.pem'), timeoutMs: 5_000 });

  // The release as a site has it (binary, checksums, installers, units) and each service's files.
  const release = async (rootfs: string) => {
    const dir = join(rootfs, R);
    mkdirSync(dir, { recursive: true });
    copyFileSync(binary, join(dir, 'sfleet-linux-x64'));
    chmodSync(join(dir, 'sfleet-linux-x64'), 0o755);
    await execText('bash', ['-c', `cd '${dir}' && sha256sum sfleet-linux-x64 > SHA256SUMS`], { env: process.env, timeoutMs: 120_000 });
    for (const f of ['install.sh', 'install-agent.sh', 'install-hub.sh']) copyFileSync(join(ROOT, 'scripts', f), join(dir, f));
    cpSync(join(ROOT, 'deploy/systemd'), join(dir, 'systemd'), { recursive: true });
    mkdirSync(join(dir, 'pki'));
    for (const f of ['ca.pem', 'head1.pem', 'head1-key.pem']) copyFileSync(join(pki, f), join(dir, 'pki', f));
    writeFileSync(join(dir, 'agent.yaml'), stringify({
      cluster: 'bootsim',
      hub: { endpoints: [`127.0.0.1:${grpc}`] },
      tls: { ca: '/etc/sfleet/pki/ca.pem', cert: '/etc/sfleet/pki/head1.pem', key: '/etc/sfleet/pki/head1-key.pem' },
      slurm: { source: 'rest', endpoints: [`http://127.0.0.1:${simPort}`], auth: { user: 'root', token: '${SLURM_JWT}' }, simulator: true },
      poll_interval: '1s',
    }));
    writeFileSync(join(dir, 'agent.env'), 'SLURM_JWT=boot\n', { mode: 0o600 });
    mkdirSync(join(dir, 'hub-pki'));
    for (const f of ['ca.pem', 'hub.pem', 'hub-key.pem']) copyFileSync(join(pki, f), join(dir, 'hub-pki', f));
    writeFileSync(join(dir, 'hub.yaml'), stringify({ region: 'boot', hub_id: 'boot-1', data_dir: '/var/lib/sfleet-hub', listen: { http: `127.0.0.1:${http}`, grpc: `127.0.0.1:${grpc}` }, tls: { ca: '/etc/sfleet/pki/ca.pem', cert: '/etc/sfleet/pki/hub.pem', key: '/etc/sfleet/pki/hub-key.pem' } }));
  };
  sim = spawn(binary, ['sim', '--listen', `127.0.0.1:${simPort}`, '--nodes', '8', '--jobs', '40', '--token', 'boot'], { stdio: 'ignore' });
  debian = await bootDebian(work, 'sfleet-boot', release);
}, 1_200_000);

afterAll(async () => {
  await debian?.stop();
  sim?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

describe('systemd units in a booted Debian 12', () => {
  it('install-hub.sh and install-agent.sh enable and start both units; each runs as its own user; the agent streams to the hub; a second install changes nothing', async () => {
    expect(await inside(hubInstall)).not.toMatch(/not started/);
    expect(await inside(agentInstall)).not.toMatch(/not started/);
    for (const unit of ['sfleet-hub', 'sfleet-agent']) {
      expect((await inside(['systemctl', 'is-enabled', unit])).trim()).toBe('enabled');
      expect((await inside(['systemctl', 'is-active', unit])).trim()).toBe('active');
      expect(await inside(['stat', '-c', '%U', `/proc/${await show(unit, 'MainPID')}`])).toMatch(unit);
    }
    await clusterListed('the agent under systemd streams its cluster to the hub under systemd');

    expect(await inside(hubInstall)).toMatch(/changed 0/);
    expect(await inside(agentInstall)).toMatch(/changed 0/);
    expect(await inside(['journalctl', '-u', 'sfleet-agent', '--no-pager'])).not.toContain('SLURM_JWT=boot');
    expect(readFileSync(join(debian!.rootfs, 'etc/sfleet/agent.env'), 'utf8')).toBe('SLURM_JWT=boot\n');
  }, 300_000);

  it('a SIGKILLed hub and agent are restarted by systemd, and the hub answers with the cluster again', async () => {
    for (const unit of ['sfleet-hub', 'sfleet-agent']) {
      const before = await show(unit, 'MainPID');
      // Counted from now: the agent may have been restarted once already (e.g. while its hub was down).
      const restarts = Number(await show(unit, 'NRestarts'));
      await inside(['sh', '-c', `kill -9 ${before}`]); // the shell's kill: the minimal Debian has no procps
      await waitFor(`${unit} restarted after SIGKILL`, async () => {
        const pid = await show(unit, 'MainPID');
        return pid !== '0' && pid !== before && (await show(unit, 'ActiveState')) === 'active';
      }, 60_000, 250).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await journal()}`);
      });
      expect(Number(await show(unit, 'NRestarts'))).toBe(restarts + 1);
    }
    await clusterListed('the restarted agent streams to the restarted hub');
  }, 300_000);

  it('the sandbox holds in each running service: only its state and log directories are writable, no capabilities, no new privileges', async () => {
    for (const unit of ['sfleet-hub', 'sfleet-agent']) {
      const pid = await show(unit, 'MainPID');
      const status = await inside(['cat', `/proc/${pid}/status`]);
      expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
      expect(status).toMatch(/^CapBnd:\s+0+$/m);
      expect(status).toMatch(/^CapEff:\s+0+$/m);
      expect(status).toMatch(/^Seccomp:\s+2$/m);
      // Even root, in the service's mount namespace, cannot write the system (ProtectSystem=strict),
      // nor its configuration and certificates (ReadOnlyPaths=/etc/sfleet: ConfigurationDirectory=
      // alone leaves it writable)...
      for (const path of ['/etc', '/etc/sfleet', '/etc/sfleet/pki', '/usr/local/bin', '/var/lib', '/opt', '/']) {
        expect(await inService(pid, `touch ${path}/sandbox-probe`), path).toMatch(/Read-only file system[\s\S]*exit=1/);
      }
      // ...nor sees into homes (ProtectHome=true: /root holds the release outside the sandbox)...
      expect((await inService(pid, 'ls -A /root')).trim()).toBe('exit=0');
      expect(await inService(pid, 'ls -A /home', unit)).toMatch(/Permission denied[\s\S]*exit=2/);
      // ...and the service's user writes its own state and log directories only.
      for (const dir of [`/var/lib/${unit}`, `/var/log/${unit}`]) {
        expect((await inService(pid, `touch ${dir}/sandbox-probe && rm ${dir}/sandbox-probe`, unit)).trim(), dir).toBe('exit=0');
      }
      expect(await inService(pid, 'touch /var/lib/sandbox-probe', unit)).toMatch(/Read-only file system[\s\S]*exit=1/);
      for (const dir of ['/etc/sfleet', '/etc/sfleet/pki']) {
        expect(await inService(pid, `touch ${dir}/sandbox-probe`, unit), dir).toMatch(/Read-only file system[\s\S]*exit=1/);
      }
    }
  }, 120_000);

  it('systemctl stop ends each service with exit 0 before the stop timeout, and leaves no process', async () => {
    for (const unit of ['sfleet-agent', 'sfleet-hub']) {
      await inside(['systemctl', 'stop', unit]);
      expect(await show(unit, 'ActiveState')).toBe('inactive');
      expect(await show(unit, 'Result')).toBe('success'); // not "timeout" (SIGKILLed) nor "exit-code"
      expect(await show(unit, 'ExecMainCode')).toBe('1'); // CLD_EXITED: it exited, not killed by a signal
      expect(await show(unit, 'ExecMainStatus')).toBe('0');
      // The minimal Debian has no procps: the owners of /proc's process directories.
      expect(await inside(['sh', '-c', 'stat -c %U /proc/[0-9]* 2>/dev/null || true'])).not.toContain(unit);
    }
  }, 120_000);
});
