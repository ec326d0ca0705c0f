// The Ansible roles (deploy/ansible) as a site runs them, with Debian's ansible-core against
// localhost: the first run installs the agent (or the hub) (into a scratch root: systemd is not PID 1 here,
// so starting the service is the one task not exercised, and the installer says so), the
// second reports changed=0, a changed setting is one change, and the token stays out of
// Ansible's output.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { execText, ROOT } from './harness/index.js';

const work = mkdtempSync(join(tmpdir(), 'sfleet-ansible-'));
const TOKEN = 'ansible-test-jwt-51d2';
const REDIS_PASSWORD = 'ansible-test-redis-7c1e';
let playbook = 'ansible-playbook';

interface Run {
  code: number;
  out: string;
}

function ansible(vars: object, play = 'agents.yml'): Promise<Run> {
  const varsFile = join(work, 'vars.json');
  writeFileSync(varsFile, JSON.stringify(vars));
  const host = 'localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3';
  writeFileSync(join(work, 'inventory.ini'), `[slurm_head_nodes]\n${host}\n[sfleet_hubs]\n${host}\n`);
  return new Promise((resolve) => {
    execFile(playbook, ['-i', join(work, 'inventory.ini'), join(ROOT, 'deploy/ansible', play), '-e', `@${varsFile}`], { timeout: 300_000, env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_HOST_KEY_CHECKING: 'False', ANSIBLE_LOCAL_TEMP: join(work, 'tmp'), ANSIBLE_REMOTE_TEMP: join(work, 'tmp') } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

const recap = (out: string): Record<string, number> => {
  const line = /localhost\s+:\s+(.*)$/m.exec(out)?.[1] ?? '';
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
};

/** The release as `npm run release` lays it out (the binary: a launcher of this checkout's build), and the machine's certificates. */
function releaseDir(): { release: string; pki: string } {
  const release = join(work, 'release');
  const pki = join(work, 'pki', 'localhost');
  mkdirSync(release, { recursive: true });
  mkdirSync(pki, { recursive: true });
  const binary = `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin/sfleet.js')}" "$@"\n`;
  writeFileSync(join(release, 'sfleet-linux-x64'), binary, { mode: 0o755 });
  writeFileSync(join(release, 'SHA256SUMS'), `${createHash('sha256').update(binary).digest('hex')}  sfleet-linux-x64\n`);
  return { release, pki };
}

/** A scratch root: this machine's user databases, without a slurm group. */
function scratchRoot(name: string): string {
  const root = join(work, name);
  mkdirSync(join(root, 'etc'), { recursive: true });
  for (const f of ['passwd', 'group', 'shadow', 'gshadow', 'login.defs']) copyFileSync(`/etc/${f}`, join(root, 'etc', f));
  return root;
}

beforeAll(async () => {
  playbook = (await execText('bash', [join(ROOT, 'scripts/services/ansible.sh')], { env: process.env, timeoutMs: 600_000 })).trim();
}, 600_000);

describe('Ansible role sfleet_agent', () => {
  it('installs the agent once, then reports changed=0; a changed setting is one change', async () => {
    const root = scratchRoot('root');
    const { release, pki } = releaseDir();
    for (const f of ['ca.pem', 'head1.pem', 'head1-key.pem']) writeFileSync(join(pki, f), `${f}\n`);
    const config = {
      cluster: 'prod-a',
      hub: { endpoints: ['hub1.example.org:7443'] },
      tls: { ca: '/etc/sfleet/pki/ca.pem', cert: '/etc/sfleet/pki/head1.pem', key: '/etc/sfleet/pki/head1-key.pem' },
      slurm: { endpoints: ['http://127.0.0.1:6820'], auth: { token: '${SLURM_JWT}' } },
      poll_interval: '10s',
    };
    const vars = { sfleet_release_dir: release, sfleet_pki_dir: join(work, 'pki', '{{ inventory_hostname }}'), sfleet_arch: 'x64', sfleet_root: root, sfleet_stage_dir: join(work, 'stage'), sfleet_agent_config: config, sfleet_agent_env: { SLURM_JWT: TOKEN } };

    const first = await ansible(vars);
    expect(first.code, first.out.slice(-3000)).toBe(0);
    expect(recap(first.out).changed).toBeGreaterThan(0);
    expect(first.out).toMatch(/not started: systemd does not run/);
    expect(parse(readFileSync(join(root, 'etc/sfleet/agent.yaml'), 'utf8'))).toEqual(config);
    expect(readFileSync(join(root, 'etc/sfleet/agent.env'), 'utf8')).toBe(`SLURM_JWT=${TOKEN}\n`);
    expect(statSync(join(root, 'etc/sfleet/agent.env')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(root, 'usr/local/bin/sfleet'))).toBe(true);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(/^sfleet-agent:/m);

    const second = await ansible(vars);
    expect(second.code, second.out.slice(-3000)).toBe(0);
    expect(recap(second.out), second.out.slice(-4000)).toMatchObject({ changed: 0, failed: 0 });

    const third = await ansible({ ...vars, sfleet_agent_config: { ...config, poll_interval: '5s' } });
    expect(recap(third.out).changed).toBe(2); // the staged file and the installed one
    expect(parse(readFileSync(join(root, 'etc/sfleet/agent.yaml'), 'utf8')).poll_interval).toBe('5s');

    for (const run of [first, second, third]) expect(run.out).not.toContain(TOKEN);
  }, 600_000);

  it('refuses a configuration the agent would not start with, before installing anything', async () => {
    const root = scratchRoot('root-bad');
    const bad = await ansible({ sfleet_release_dir: join(work, 'release'), sfleet_pki_dir: join(work, 'pki', 'localhost'), sfleet_arch: 'x64', sfleet_root: root, sfleet_stage_dir: join(work, 'stage-bad'), sfleet_agent_config: { cluster: 'prod-a', hub: { endpoints: [] } }, sfleet_agent_env: {} });
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/not a valid agent configuration/);
    expect(existsSync(join(root, 'usr/local/bin/sfleet'))).toBe(false);
  }, 300_000);

  it('installs a hub with the sfleet_hub role once, then reports changed=0; its secrets stay out of the output', async () => {
    const root = scratchRoot('root-hub');
    const { release, pki } = releaseDir();
    for (const f of ['ca.pem', 'hub.pem', 'hub-key.pem']) writeFileSync(join(pki, f), `${f}\n`);
    const config = {
      region: 'eu-west',
      hub_id: 'hub-a',
      data_dir: '/var/lib/sfleet-hub',
      tls: { ca: '/etc/sfleet/pki/ca.pem', cert: '/etc/sfleet/pki/hub.pem', key: '/etc/sfleet/pki/hub-key.pem' },
      etcd: { endpoints: ['http://etcd1.example.org:2379'] },
      redis: { url: 'redis://redis.example.org:6379', password: '${REDIS_PASSWORD}' },
    };
    const vars = { sfleet_release_dir: release, sfleet_pki_dir: join(work, 'pki', '{{ inventory_hostname }}'), sfleet_arch: 'x64', sfleet_root: root, sfleet_stage_dir: join(work, 'stage'), sfleet_hub_config: config, sfleet_hub_env: { REDIS_PASSWORD } };

    const first = await ansible(vars, 'hubs.yml');
    expect(first.code, first.out.slice(-3000)).toBe(0);
    expect(first.out).toMatch(/not started: systemd does not run/);
    expect(parse(readFileSync(join(root, 'etc/sfleet/hub.yaml'), 'utf8'))).toEqual(config);
    expect(statSync(join(root, 'etc/sfleet/hub.env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(root, 'etc/systemd/system/sfleet-hub.service'), 'utf8')).toMatch(/^User=sfleet-hub$/m);
    expect(statSync(join(root, 'etc/sfleet/pki/hub-key.pem')).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(/^sfleet-hub:/m);
    expect(existsSync(join(root, 'etc/systemd/system/sfleet-hub.service.d'))).toBe(false); // no slurm-group drop-in for a hub

    const second = await ansible(vars, 'hubs.yml');
    expect(recap(second.out), second.out.slice(-4000)).toMatchObject({ changed: 0, failed: 0 });
    for (const run of [first, second]) expect(run.out).not.toContain(REDIS_PASSWORD);
  }, 600_000);
});
