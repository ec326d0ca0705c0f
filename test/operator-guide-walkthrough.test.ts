// Issue 17's "tried as a new user would": a fresh Debian 12 (booted with systemd-nspawn, the
// harness of systemd-boot and ansible-booted, sharing the host's network) gets the release files
// of docs/operator-guide.md section 1 and nothing else, and runs the guide's own walk-through:
// every ```sh walkthrough block of the guide, in order, in one root bash shell. Only the block
// that says what the site is (```sh walkthrough-site) is the test's: this machine's slurmrestd,
// a JWT for it and free ports. A guide edit that breaks a step fails here. Then what the user
// checks: both units active, `sfleet clusters` (through the guide's own CLI context) shows the
// local Slurm 22.05 connected, and `sfleet jobs` shows a job sbatch submitted to it.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootDebian, type BootedDebian } from './harness/booted-debian.js';
import { execText } from './harness/exec.js';
import { freePort } from './harness/ports.js';
import { releaseBinary } from './harness/release-binary.js';
import { ROOT } from './harness/sfleet-process.js';
import { ensureSlurm, sbatchAs, type SlurmEnv } from './harness/slurm.js';
import { waitFor } from './harness/wait.js';

const GUIDE = join(ROOT, 'docs/operator-guide.md');
const RELEASE = '/root/release';
/** The variables the guide's site block sets: the test gives each this machine's value. */
const SITE_VARS = ['CLUSTER', 'SLURMRESTD', 'SLURM_USER', 'SLURM_JWT', 'HUB_HOST', 'HUB_API_PORT', 'HUB_AGENT_PORT'];

/** The fenced blocks of `markdown` whose info string is exactly `info`, in order. */
function fencedBlocks(markdown: string, info: string): string[] {
  const blocks: string[] = [];
  const fence = /^```([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (const m of markdown.matchAll(fence)) if (m[1].trim() === info) blocks.push(m[2]);
  return blocks;
}

const work = mkdtempSync(join(tmpdir(), 'sfleet-walk-'));
let debian: BootedDebian | undefined;
let slurm: SlurmEnv;
let walkOutput = '';

const inside = (args: string[]) => debian!.inside(args);
/** A command as root in a fresh login-like environment of the container (no host variables). */
const asRoot = (script: string) =>
  inside(['env', '-i', 'HOME=/root', 'LANG=C.UTF-8', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'bash', '-c', `cd ${RELEASE} && ${script}`]);
const journal = () => inside(['journalctl', '-u', 'sfleet-agent', '-u', 'sfleet-hub', '--no-pager', '-n', '40']).catch(() => '');

beforeAll(async () => {
  const guide = readFileSync(GUIDE, 'utf8');
  const site = fencedBlocks(guide, 'sh walkthrough-site');
  const steps = fencedBlocks(guide, 'sh walkthrough');
  if (site.length !== 1 || steps.length === 0) throw new Error(`docs/operator-guide.md has ${site.length} walkthrough-site and ${steps.length} walkthrough blocks`);
  const assigned = [...site[0].matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]);
  // The site block is replaced: a variable the guide adds there must be given here too.
  expect(assigned.sort()).toEqual([...SITE_VARS].sort());

  const binary = await releaseBinary();
  slurm = await ensureSlurm();
  const [api, agent] = [await freePort(), await freePort()];
  const siteValues: Record<string, string> = {
    CLUSTER: slurm.cluster,
    SLURMRESTD: slurm.restUrl,
    SLURM_USER: slurm.restUser,
    SLURM_JWT: slurm.jwt,
    HUB_HOST: '127.0.0.1',
    HUB_API_PORT: String(api),
    HUB_AGENT_PORT: String(agent),
  };
  // The release as `npm run release` lays it out (flat: the installers find the units beside them).
  const release = async (rootfs: string) => {
    const dir = join(rootfs, RELEASE);
    mkdirSync(dir, { recursive: true });
    copyFileSync(binary, join(dir, 'sfleet-linux-x64'));
    chmodSync(join(dir, 'sfleet-linux-x64'), 0o644); // as a download arrives: not executable
    for (const f of ['install.sh', 'install-agent.sh', 'install-hub.sh']) {
      copyFileSync(join(ROOT, 'scripts', f), join(dir, f));
      chmodSync(join(dir, f), 0o755);
    }
    for (const f of ['sfleet-agent.service', 'sfleet-hub.service']) copyFileSync(join(ROOT, 'deploy/systemd', f), join(dir, f));
    await execText('bash', ['-c', `cd '${dir}' && sha256sum sfleet-linux-x64 install*.sh sfleet-*.service > SHA256SUMS`], { env: process.env, timeoutMs: 120_000 });
    const siteBlock = SITE_VARS.map((k) => `${k}='${siteValues[k]}'`).join('\n');
    writeFileSync(join(rootfs, 'root/walkthrough.sh'), ['set -euo pipefail', siteBlock, ...steps].join('\n'), { mode: 0o600 });
  };
  debian = await bootDebian(work, 'sfleet-walk', release);
}, 1_200_000);

afterAll(async () => {
  await debian?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the operator guide walked through on a fresh Debian 12 with the release files only', () => {
  it("the guide's walk-through blocks run in order and install and start the hub and the agent", async () => {
    // Its output goes to a file: on a failed step the error shows what the user would have seen.
    walkOutput = await asRoot('bash /root/walkthrough.sh > /root/walkthrough.log 2>&1; status=$?; cat /root/walkthrough.log; exit $status').catch(async (err: Error) => {
      const seen = readFileSync(join(debian!.rootfs, 'root/walkthrough.log'), 'utf8').replaceAll(slurm.jwt, '<SLURM_JWT>');
      throw new Error(`a step of the guide's walk-through failed: ${err.message.split('\n')[0]}\n${seen}\n${await journal()}`);
    });
    expect(walkOutput).toMatch(/sfleet-linux-x64: OK/); // the checksum step
    for (const unit of ['sfleet-hub', 'sfleet-agent']) {
      expect((await inside(['systemctl', 'is-enabled', unit])).trim()).toBe('enabled');
      expect((await inside(['systemctl', 'is-active', unit])).trim()).toBe('active');
    }
    // The CA key stays with the operator: never in the services' directory.
    expect(await inside(['ls', '/etc/sfleet/pki'])).not.toMatch(/ca-key/);
    expect(await inside(['journalctl', '-u', 'sfleet-agent', '--no-pager'])).not.toContain(slurm.jwt);
  }, 300_000);

  it('sfleet clusters, through the context the guide set, lists the local Slurm connected; sfleet jobs shows a job sbatch submitted to it', async () => {
    const listed = async () => JSON.parse(await asRoot('sfleet clusters -o json')) as { name: string; state: string; jobs: number }[];
    let seen: unknown;
    await waitFor('the local Slurm connected in sfleet clusters', async () => {
      seen = await listed().catch((err: Error) => err.message);
      return Array.isArray(seen) && seen.some((c: { name: string; state: string }) => c.name === slurm.cluster && c.state === 'connected');
    }, 90_000, 1_000).catch(async (err: Error) => {
      throw new Error(`${err.message}; last: ${JSON.stringify(seen)}\n${await journal()}`);
    });

    const id = await sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'batch', '-J', 'walkthrough', '--hold', '--wrap', 'sleep 300']);
    try {
      let jobs: unknown;
      await waitFor(`job ${id} in sfleet jobs`, async () => {
        jobs = await asRoot(`sfleet jobs --cluster '${slurm.cluster}' -o json`).then((out) => JSON.parse(out) as { id: number; name?: string }[]).catch((err: Error) => err.message);
        return Array.isArray(jobs) && jobs.some((j: { id: number }) => j.id === id);
      }, 60_000, 1_000).catch(async (err: Error) => {
        throw new Error(`${err.message}; last: ${JSON.stringify(jobs).slice(0, 2_000)}\n${await journal()}`);
      });
      const job = (jobs as { id: number; name?: string; user?: string }[]).find((j) => j.id === id)!;
      expect(job.name).toBe('walkthrough');
      expect(job.user).toBe('alice');
    } finally {
      await execText('scancel', [String(id)], { env: slurm.cliEnv, timeoutMs: 60_000 }).catch(() => undefined);
    }
  }, 240_000);
});
