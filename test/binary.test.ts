// The single `sfleet` binary (Node SEA): built from the sources, it runs without node_modules.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './harness/sfleet-process.js';

function run(file: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { cwd, timeout: 120_000, env: { PATH: '/usr/bin:/bin', HOME: cwd } }, (err, stdout, stderr) => (err ? reject(new Error(`${stderr}${err.message}`)) : resolve(stdout))),
  );
}

describe('single binary', () => {
  it('builds, and runs CA commands from a directory with no node_modules', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'sea-')), 'sfleet');
    await run('bash', ['scripts/release/build-binary.sh', '--out', out], ROOT);
    const elsewhere = mkdtempSync(join(tmpdir(), 'sea-run-'));
    copyFileSync(out, join(elsewhere, 'sfleet'));
    expect((await run('./sfleet', ['--version'], elsewhere)).trim()).toBe('0.1.0');
    await run('./sfleet', ['ca', 'init', '--dir', 'pki', '--trust-domain', 'bin.test'], elsewhere);
    expect(await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'agent', '--name', 'a1', '--cluster', 'c1'], elsewhere)).toContain('spiffe://bin.test/cluster/c1/agent/a1');
    await expect(run('./sfleet', ['jobs'], elsewhere)).rejects.toThrow(/no hub to talk to/);
  });
});
