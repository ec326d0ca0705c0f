// The single `sfleet` binary (Node SEA): built from the sources, it runs without node_modules.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { httpsCall } from './harness/hub-child.js';
import { freePort, waitFor } from './harness/ports.js';
import { registerAuditDir } from './harness/run-logs.js';
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

    // A standalone hub from the binary alone: it starts, and serves the dashboard's login page
    // from the files built into it (there is no web/ beside it).
    await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'hub', '--name', 'hub'], elsewhere);
    const [http, grpc] = [await freePort(), await freePort()];
    const pki = (f: string) => join(elsewhere, 'pki', f);
    writeFileSync(
      join(elsewhere, 'hub.yaml'),
      stringify({ region: 'bin', hub_id: 'bin-1', data_dir: join(elsewhere, 'data'), listen: { http: `127.0.0.1:${http}`, grpc: `127.0.0.1:${grpc}` }, tls: { ca: pki('ca.pem'), cert: pki('hub.pem'), key: pki('hub-key.pem') } }),
    );
    registerAuditDir(join(elsewhere, 'data', 'audit'));
    const hub = spawn('./sfleet', ['hub', '--config', 'hub.yaml'], { cwd: elsewhere, env: { PATH: '/usr/bin:/bin', HOME: elsewhere }, stdio: 'ignore' });
    try {
      const get = (path: string) => httpsCall(`https://127.0.0.1:${http}${path}`, { ca: pki('ca.pem'), timeoutMs: 5_000 });
      await waitFor('binary hub ready', async () => hub.exitCode === null && (await get('/readyz').catch(() => undefined))?.status === 200, 60_000, 200);
      const page = await get('/login');
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toBe(readFileSync(join(ROOT, 'web', 'login.html'), 'utf8'));
      expect((await get('/login.js')).body).toBe(readFileSync(join(ROOT, 'web', 'login.js'), 'utf8'));
    } finally {
      hub.kill('SIGTERM');
    }
  });
});
