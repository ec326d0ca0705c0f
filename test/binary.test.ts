// The single `sfleet` binary (Node SEA): built from the sources, it runs without node_modules,
// standalone and as a member of a hub group (etcd + Redis).
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { HaServices } from './harness/ha-services.js';
import { httpsCall } from './harness/hub-child.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { registerAuditDir } from './harness/run-logs.js';
import { ROOT } from './harness/sfleet-process.js';

function run(file: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { cwd, timeout: 120_000, env: { PATH: '/usr/bin:/bin', HOME: cwd } }, (err, stdout, stderr) => (err ? reject(new Error(`${stderr}${err.message}`)) : resolve(stdout))),
  );
}

let built: string;

/** A fresh directory with only the binary in it (no node_modules, no web/, no proto/). */
function elsewhereWithBinary(): string {
  const elsewhere = mkdtempSync(join(tmpdir(), 'sea-run-'));
  copyFileSync(built, join(elsewhere, 'sfleet'));
  return elsewhere;
}

beforeAll(async () => {
  built = join(mkdtempSync(join(tmpdir(), 'sea-')), 'sfleet');
  await run('bash', ['scripts/release/build-binary.sh', '--out', built], ROOT);
}, 300_000);

describe('single binary', () => {
  it('builds, and runs CA commands from a directory with no node_modules', async () => {
    const elsewhere = elsewhereWithBinary();
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

  describe('as a member of a hub group (etcd + Redis)', () => {
    let services: HaServices | undefined;
    afterAll(async () => {
      await services?.stop();
    });

    // etcd3 (membership, leader election, fencing) loads its gRPC definitions and the Redis
    // client its commands at run time; the binary has no node_modules to read them from.
    it('joins the group, leads it, and serves the API', async () => {
      services = await HaServices.create('binary');
      const elsewhere = elsewhereWithBinary();
      await run('./sfleet', ['ca', 'init', '--dir', 'pki', '--trust-domain', 'bin.test'], elsewhere);
      await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'hub', '--name', 'hub'], elsewhere);
      await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'client', '--name', 'ops'], elsewhere);
      const [http, grpc] = [await freePort(), await freePort()];
      const pki = (f: string) => join(elsewhere, 'pki', f);
      writeFileSync(
        join(elsewhere, 'hub.yaml'),
        stringify({
          region: 'bin',
          hub_id: 'bin-ha',
          data_dir: join(elsewhere, 'data'),
          listen: { http: `127.0.0.1:${http}`, grpc: `127.0.0.1:${grpc}` },
          tls: { ca: pki('ca.pem'), cert: pki('hub.pem'), key: pki('hub-key.pem') },
          etcd: { endpoints: services.etcdEndpoints, lease_ttl: '3s' },
          redis: { url: services.redisUrl },
        }),
      );
      registerAuditDir(join(elsewhere, 'data', 'audit'));
      let output = '';
      const hub = spawn('./sfleet', ['hub', '--config', 'hub.yaml'], { cwd: elsewhere, env: { PATH: '/usr/bin:/bin', HOME: elsewhere }, stdio: ['ignore', 'pipe', 'pipe'] });
      const keep = (c: Buffer) => (output = (output + c.toString('utf8')).slice(-20_000));
      hub.stdout.on('data', keep);
      hub.stderr.on('data', keep);
      try {
        const get = (path: string) => httpsCall(`https://127.0.0.1:${http}${path}`, { ca: pki('ca.pem'), cert: pki('ops.pem'), key: pki('ops-key.pem'), timeoutMs: 5_000 });
        // Ready comes first (a hub serves while etcd or Redis are still connecting); then the
        // checks say it reached both and leads.
        let checks: Record<string, string> | undefined;
        await waitFor(
          'binary hub ready, with etcd and Redis, leading',
          async () => {
            if (hub.exitCode !== null) return false;
            const ready = await get('/readyz');
            checks = ready.status === 200 ? (JSON.parse(ready.body) as { checks: Record<string, string> }).checks : undefined;
            return checks?.etcd === 'ok' && checks.redis === 'ok' && checks.leader?.startsWith('this hub');
          },
          60_000,
          200,
        ).catch((err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify(checks)} (exit code ${hub.exitCode}); hub output:\n${output}`);
        });
        let hubs: { mode: string; etcd: string; leader: string; items: { hub_id: string; leader: boolean; health: string; redis: string }[] } | undefined;
        await waitFor(
          'binary hub leads its group, its membership record healthy',
          async () => {
            // The record is rewritten every lease_ttl / 3: the first may predate the Redis connection.
            hubs = JSON.parse((await get('/api/v1/hubs')).body) as typeof hubs;
            return hubs?.leader === 'bin-ha' && hubs.items.every((m) => m.health === 'ok' && m.redis === 'ok');
          },
          30_000,
          200,
        ).catch((err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify(hubs)}; hub output:\n${output}`);
        });
        expect(hubs).toMatchObject({ mode: 'clustered', etcd: 'ok', leader: 'bin-ha' });
        expect(hubs?.items.map((m) => [m.hub_id, m.leader, m.health, m.redis])).toEqual([['bin-ha', true, 'ok', 'ok']]);
        const clusters = await get('/api/v1/clusters');
        expect(clusters.status, clusters.body).toBe(200);
        expect(JSON.parse(clusters.body)).toEqual({ items: [] });
      } finally {
        hub.kill('SIGTERM');
      }
    });
  });
});
