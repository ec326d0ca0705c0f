// The Ansible role (deploy/ansible) as a site runs it, with Debian's ansible-core against
// localhost: the first run installs the agent (into a scratch root: systemd is not PID 1 here,
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
let playbook = 'ansible-playbook';

interface Run {
  code: number;
  out: string;
}

function ansible(vars: object): Promise<Run> {
  const varsFile = join(work, 'vars.json');
  writeFileSync(varsFile, JSON.stringify(vars));
  writeFileSync(join(work, 'inventory.ini'), '[slurm_head_nodes]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n');
  return new Promise((resolve) => {
    execFile(playbook, ['-i', join(work, 'inventory.ini'), join(ROOT, 'deploy/ansible/agents.yml'), '-e', `@${varsFile}`], { timeout: 300_000, env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_HOST_KEY_CHECKING: 'False', ANSIBLE_LOCAL_TEMP: join(work, 'tmp'), ANSIBLE_REMOTE_TEMP: join(work, 'tmp') } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

const recap = (out: string): Record<string, number> => {
  const line = /localhost\s+:\s+(.*)$/m.exec(out)?.[1] ?? '';
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
};

beforeAll(async () => {
  playbook = (await execText('bash', [join(ROOT, 'scripts/services/ansible.sh')], { env: process.env, timeoutMs: 600_000 })).trim();
}, 600_000);

describe('Ansible role sfleet_agent', () => {
  it('installs the agent once, then reports changed=0; a changed setting is one change', async () => {
    // The scratch root: this machine's user databases, without a slurm group.
    const root = join(work, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    for (const f of ['passwd', 'group', 'shadow', 'gshadow', 'login.defs']) copyFileSync(`/etc/${f}`, join(root, 'etc', f));
    // The release as `npm run release` lays it out (the binary: a launcher of this checkout's build).
    const release = join(work, 'release');
    const pki = join(work, 'pki', 'localhost');
    mkdirSync(release, { recursive: true });
    mkdirSync(pki, { recursive: true });
    const binary = `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin/sfleet.js')}" "$@"\n`;
    writeFileSync(join(release, 'sfleet-linux-x64'), binary, { mode: 0o755 });
    writeFileSync(join(release, 'SHA256SUMS'), `${createHash('sha256').update(binary).digest('hex')}  sfleet-linux-x64\n`);
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
    const root = join(work, 'root-bad');
    mkdirSync(join(root, 'etc'), { recursive: true });
    for (const f of ['passwd', 'group', 'shadow', 'gshadow', 'login.defs']) copyFileSync(`/etc/${f}`, join(root, 'etc', f));
    const bad = await ansible({ sfleet_release_dir: join(work, 'release'), sfleet_pki_dir: join(work, 'pki', 'localhost'), sfleet_arch: 'x64', sfleet_root: root, sfleet_stage_dir: join(work, 'stage-bad'), sfleet_agent_config: { cluster: 'prod-a', hub: { endpoints: [] } }, sfleet_agent_env: {} });
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/not a valid agent configuration/);
    expect(existsSync(join(root, 'usr/local/bin/sfleet'))).toBe(false);
  }, 300_000);
});
