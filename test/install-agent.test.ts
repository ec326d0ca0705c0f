// scripts/install-agent.sh as an operator runs it, into a scratch root (systemd is not PID 1
// here, so the service itself is not started: the script says so): it refuses a binary whose
// checksum the release does not give and a configuration the binary rejects, before touching
// anything; installs binary, unit, config, env file and certificates with the right owners and
// modes and a system user; changes nothing the second time; uninstalls, and purges.
import { execFile } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ROOT } from './harness/index.js';

const SCRIPT = join(ROOT, 'scripts/install-agent.sh');
const work = mkdtempSync(join(tmpdir(), 'sfleet-install-'));

interface Run {
  code: number;
  out: string;
}

function installer(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('bash', [SCRIPT, ...args], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
  });
}

/** A scratch root with this machine's user databases, with or without a slurm group. */
function scratchRoot(name: string, slurmGroup: boolean): string {
  const root = join(work, name);
  mkdirSync(join(root, 'etc'), { recursive: true });
  for (const f of ['passwd', 'group', 'shadow', 'gshadow', 'login.defs']) copyFileSync(`/etc/${f}`, join(root, 'etc', f));
  for (const f of ['group', 'gshadow']) {
    const kept = readFileSync(join(root, 'etc', f), 'utf8').split('\n').filter((l) => !l.startsWith('slurm:') && !l.startsWith('sfleet-agent:'));
    writeFileSync(join(root, 'etc', f), `${kept.join('\n').trim()}\n${slurmGroup ? `slurm:${f === 'group' ? 'x:64030:' : '!::'}\n` : ''}`);
  }
  const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').filter((l) => !l.startsWith('sfleet-agent:'));
  writeFileSync(join(root, 'etc/passwd'), `${passwd.join('\n').trim()}\n`);
  return root;
}

// A "release": the binary here is a launcher of this checkout's build (the real single binary
// is tested in binary.test.ts); what matters is that its checksum is in SHA256SUMS.
const release = join(work, 'release');
mkdirSync(join(release, 'pki'), { recursive: true });
const binary = join(release, 'sfleet-linux-x64');
writeFileSync(binary, `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin/sfleet.js')}" "$@"\n`, { mode: 0o755 });
const sums = join(release, 'SHA256SUMS');
const config = join(release, 'agent.yaml');
writeFileSync(config, stringify({ cluster: 'prod-a', hub: { endpoints: ['hub1.example.org:7443'] }, tls: { ca: '/etc/sfleet/pki/ca.pem', cert: '/etc/sfleet/pki/head1.pem', key: '/etc/sfleet/pki/head1-key.pem' }, slurm: { endpoints: ['http://127.0.0.1:6820'], auth: { token: '${SLURM_JWT}' } }, spool_dir: '/var/lib/sfleet-agent/spool' }));
const envFile = join(release, 'agent.env');
writeFileSync(envFile, 'SLURM_JWT=install-test-jwt\n', { mode: 0o600 });
for (const f of ['ca.pem', 'head1.pem', 'head1-key.pem']) writeFileSync(join(release, 'pki', f), `${f}\n`);

const installArgs = (root: string, cfg = config): string[] => ['--binary', binary, '--sums', sums, '--config', cfg, '--env', envFile, '--pki', join(release, 'pki'), '--root', root];
const idOf = (root: string, file: 'passwd' | 'group', name: string): number => Number(readFileSync(join(root, 'etc', file), 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))?.split(':')[2]);
const owner = (path: string): string => {
  const s = statSync(path);
  return `${(s.mode & 0o777).toString(8)} ${s.uid}:${s.gid}`;
};

describe('scripts/install-agent.sh', () => {
  it('refuses a binary the release does not vouch for, and a config the binary rejects, changing nothing', async () => {
    const root = scratchRoot('refused', true);
    writeFileSync(sums, `${'0'.repeat(64)}  sfleet-linux-x64\n`);
    const tampered = await installer(installArgs(root));
    expect(tampered.code).not.toBe(0);
    expect(tampered.out).toMatch(/sfleet-linux-x64: SHA-256 [0-9a-f]{64} does not match/);

    const { createHash } = await import('node:crypto');
    writeFileSync(sums, `${createHash('sha256').update(readFileSync(binary)).digest('hex')}  sfleet-linux-x64\n`);
    const badConfig = join(release, 'bad.yaml');
    writeFileSync(badConfig, 'cluster: prod-a\nhub: { endpoints: [] }\n');
    const rejected = await installer(installArgs(root, badConfig));
    expect(rejected.code).not.toBe(0);
    expect(rejected.out).toMatch(/bad\.yaml is not a valid agent configuration/);
    expect(existsSync(join(root, 'usr/local/bin/sfleet'))).toBe(false);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).not.toContain('sfleet-agent:');
  });

  it('installs once, then changes nothing; the agent user joins slurm only where there is one', async () => {
    const root = scratchRoot('installed', false);
    const first = await installer(installArgs(root));
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/created user sfleet-agent[\s\S]*not started: systemd does not run/);
    const gid = idOf(root, 'group', 'sfleet-agent');
    expect(idOf(root, 'passwd', 'sfleet-agent')).toBeGreaterThan(0);
    expect(owner(join(root, 'usr/local/bin/sfleet'))).toBe('755 0:0');
    expect(owner(join(root, 'etc/sfleet/agent.yaml'))).toBe(`640 0:${gid}`);
    expect(owner(join(root, 'etc/sfleet/agent.env'))).toBe('600 0:0');
    expect(owner(join(root, 'etc/sfleet/pki/head1-key.pem'))).toBe(`640 0:${gid}`);
    expect(owner(join(root, 'etc/sfleet/pki/ca.pem'))).toBe('644 0:0');
    expect(readFileSync(join(root, 'etc/systemd/system/sfleet-agent.service'), 'utf8')).toContain('ExecStart=/usr/local/bin/sfleet agent --config /etc/sfleet/agent.yaml');
    // No slurm group here: the unit's SupplementaryGroups=slurm would stop systemd starting it.
    expect(readFileSync(join(root, 'etc/systemd/system/sfleet-agent.service.d/no-slurm-group.conf'), 'utf8')).toMatch(/^SupplementaryGroups=$/m);

    const second = await installer(installArgs(root));
    expect(second.code, second.out).toBe(0);
    expect(second.out).toMatch(/changed 0\s*$/);

    appendFileSync(config, 'poll_interval: 5s\n');
    const edited = await installer(installArgs(root));
    expect(edited.out).toMatch(/installed \/etc\/sfleet\/agent\.yaml[\s\S]*changed 1\s*$/);

    const withSlurm = scratchRoot('with-slurm', true);
    expect((await installer(installArgs(withSlurm))).code).toBe(0);
    expect(existsSync(join(withSlurm, 'etc/systemd/system/sfleet-agent.service.d'))).toBe(false);
  });

  it('uninstalls the service and keeps configuration and user; --purge removes them', async () => {
    const root = scratchRoot('removed', true);
    expect((await installer(installArgs(root))).code).toBe(0);
    const removed = await installer(['--uninstall', '--root', root]);
    expect(removed.code, removed.out).toBe(0);
    expect(existsSync(join(root, 'usr/local/bin/sfleet'))).toBe(false);
    expect(existsSync(join(root, 'etc/systemd/system/sfleet-agent.service'))).toBe(false);
    expect(existsSync(join(root, 'etc/sfleet/agent.yaml'))).toBe(true);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toContain('sfleet-agent:');

    const purged = await installer(['--uninstall', '--purge', '--root', root]);
    expect(purged.code, purged.out).toBe(0);
    expect(existsSync(join(root, 'etc/sfleet/agent.yaml'))).toBe(false);
    expect(existsSync(join(root, 'etc/sfleet/pki'))).toBe(false);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).not.toContain('sfleet-agent:');
    expect((await installer(['--uninstall', '--purge', '--root', root])).out).toMatch(/changed 0/);
  });
});
