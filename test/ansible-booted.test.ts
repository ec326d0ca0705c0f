// The Ansible agent role against a booted Debian 12 (systemd-nspawn; systemd is not PID 1 on the
// build machines), as a site runs it against a head node: Debian's ansible-playbook reaches the
// container through nsenter (test/harness/ansible/nsenter.py; it runs no sshd). The first run
// installs the real binary and starts the unit, whose agent streams a simulated cluster to a hub
// on the host; the second run reports changed=0 and the service keeps running.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const TOKEN = 'booted-ansible-jwt-3f9a';
const work = mkdtempSync(join(tmpdir(), 'sfleet-ansible-boot-'));
let playbook = 'ansible-playbook';
let debian: BootedDebian | undefined;
const children: ChildProcess[] = [];

interface Run {
  code: number;
  out: string;
}

async function ansible(vars: object): Promise<Run> {
  const varsFile = join(work, 'vars.json');
  writeFileSync(varsFile, JSON.stringify(vars));
  // Root in the container already: no become (its minimal Debian has no sudo).
  writeFileSync(join(work, 'inventory.ini'), `[slurm_head_nodes]\nhead1 ansible_connection=nsenter ansible_host=${await debian!.init()} ansible_python_interpreter=/usr/bin/python3 ansible_become=false\n`);
  const env = { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_CONNECTION_PLUGINS: join(ROOT, 'test/harness/ansible'), ANSIBLE_LOCAL_TEMP: join(work, 'tmp') };
  return new Promise((resolve) => {
    execFile(playbook, ['-i', join(work, 'inventory.ini'), join(ROOT, 'deploy/ansible/agents.yml'), '-e', `@${varsFile}`], { timeout: 300_000, env }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

const recap = (out: string): Record<string, number> => {
  const line = /head1\s+:\s+(.*)$/m.exec(out)?.[1] ?? '';
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
};

let vars: object;
let get: (path: string) => Promise<{ status: number; body: string }>;

beforeAll(async () => {
  playbook = (await execText('bash', [join(ROOT, 'scripts/services/ansible.sh')], { env: process.env, timeoutMs: 600_000 })).trim();
  const binary = await releaseBinary();
  const sfleet = (args: string[]) => execText(binary, args, { env: process.env, timeoutMs: 120_000 });
  const pki = join(work, 'pki');
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'ansible.test']);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub']);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'ops']);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'head1', '--cluster', 'ansim']);

  // The release as `npm run release` lays it out, and the head node's certificates, on the controller.
  const release = join(work, 'release');
  mkdirSync(release);
  copyFileSync(binary, join(release, 'sfleet-linux-x64'));
  writeFileSync(join(release, 'SHA256SUMS'), `${createHash('sha256').update(readFileSync(binary)).digest('hex')}  sfleet-linux-x64\n`);
  const headPki = join(work, 'pki-head1');
  mkdirSync(headPki);
  for (const f of ['ca.pem', 'head1.pem', 'head1-key.pem']) copyFileSync(join(pki, f), join(headPki, f));

  // A hub and a simulated cluster on the host (the container shares its network).
  const [http, grpc, simPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(work, 'hub.yaml'), stringify({ region: 'ansible', hub_id: 'ansible-1', data_dir: join(work, 'hub-data'), listen: { http: `127.0.0.1:${http}`, grpc: `127.0.0.1:${grpc}` }, tls: { ca: join(pki, 'ca.pem'), cert: join(pki, 'hub.pem'), key: join(pki, 'hub-key.pem') } }));
  children.push(spawn(binary, ['sim', '--listen', `127.0.0.1:${simPort}`, '--nodes', '8', '--jobs', '40', '--token', TOKEN], { stdio: 'ignore' }));
  children.push(spawn(binary, ['hub', '--config', join(work, 'hub.yaml')], { stdio: 'ignore' }));
  get = (path) => httpsCall(`https://127.0.0.1:${http}${path}`, { ca: join(pki, 'ca.pem'), cert: join(pki, 'ops.pem'), key: join(pki, 'ops-key.pem'), timeoutMs: 5_000 });

  vars = {
    sfleet_release_dir: release,
    sfleet_pki_dir: headPki,
    sfleet_agent_config: {
      cluster: 'ansim',
      hub: { endpoints: [`127.0.0.1:${grpc}`] },
      tls: { ca: '/etc/sfleet/pki/ca.pem', cert: '/etc/sfleet/pki/head1.pem', key: '/etc/sfleet/pki/head1-key.pem' },
      slurm: { source: 'rest', endpoints: [`http://127.0.0.1:${simPort}`], auth: { user: 'root', token: '${SLURM_JWT}' }, simulator: true },
      poll_interval: '1s',
    },
    sfleet_agent_env: { SLURM_JWT: TOKEN },
  };
  debian = await bootDebian(work, 'sfleet-ansible');
}, 1_200_000);

afterAll(async () => {
  await debian?.stop();
  // The hub writes its data directory until it has exited.
  await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => (c.once('exit', r), c.kill('SIGTERM'))))));
  rmSync(work, { recursive: true, force: true });
});

describe('Ansible role sfleet_agent against a booted Debian 12', () => {
  it('installs and starts the agent, which streams to the hub; the second run reports changed=0 and the service keeps running', async () => {
    const first = await ansible(vars);
    expect(first.code, first.out.slice(-4000)).toBe(0);
    expect(recap(first.out).changed).toBeGreaterThan(0);
    expect(first.out).not.toMatch(/not started/);
    expect((await debian!.inside(['systemctl', 'is-enabled', 'sfleet-agent'])).trim()).toBe('enabled');
    expect((await debian!.inside(['systemctl', 'is-active', 'sfleet-agent'])).trim()).toBe('active');
    const pid = (await debian!.inside(['systemctl', 'show', '-p', 'MainPID', '--value', 'sfleet-agent'])).trim();
    expect(await debian!.inside(['stat', '-c', '%U', `/proc/${pid}`])).toMatch(/sfleet-agent/);
    await waitFor('the agent the role started streams its cluster to the hub', async () => {
      const answer = await get('/api/v1/jobs?cluster=ansim&limit=5').catch(() => undefined);
      return answer?.status === 200 && (JSON.parse(answer.body) as { items: unknown[] }).items.length > 0;
    }, 60_000, 500).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await debian!.inside(['journalctl', '-u', 'sfleet-agent', '--no-pager', '-n', '30']).catch(() => '')}`);
    });

    const second = await ansible(vars);
    expect(second.code, second.out.slice(-4000)).toBe(0);
    expect(recap(second.out), second.out.slice(-4000)).toMatchObject({ changed: 0, failed: 0 });
    expect((await debian!.inside(['systemctl', 'show', '-p', 'MainPID', '--value', 'sfleet-agent'])).trim()).toBe(pid); // not restarted
    for (const run of [first, second]) expect(run.out).not.toContain(TOKEN);
  }, 600_000);
});
