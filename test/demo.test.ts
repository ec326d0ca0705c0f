// `npm start` runs `sfleet demo`: a hub, three simulated clusters on different slurmrestd API
// versions and their agents. This runs it on free ports and uses it the way the README says.
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';

let demo: SfleetProcess;

/** `--sim host:port` serves cluster i on port+i: three free ports in a row. */
async function freePortRun(count: number): Promise<number> {
  const canListen = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const srv = createServer().once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
  for (;;) {
    const base = await freePort();
    if (base + count > 65535) continue;
    let ok = true;
    for (let i = 1; i < count && ok; i++) ok = await canListen(base + i);
    if (ok) return base;
  }
}
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(async () => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'sfleet-demo-'));
  const [http, grpc, sim] = [await freePort(), await freePort(), await freePortRun(3)];
  demo = new SfleetProcess(['demo', '--dir', dir, '--http', `127.0.0.1:${http}`, '--grpc', `127.0.0.1:${grpc}`, '--sim', `127.0.0.1:${sim}`, '--nodes', '16', '--jobs', '60', '--poll-interval', '1s'], join(dir, 'out.log')).start();
  env = { PATH: process.env.PATH, HOME: dir, SFLEET_HUB: `https://127.0.0.1:${http}`, SFLEET_CA: join(dir, 'pki/ca.pem'), SFLEET_CERT: join(dir, 'pki/demo-admin.pem'), SFLEET_KEY: join(dir, 'pki/demo-admin-key.pem') };
});

afterAll(async () => {
  await demo.kill('SIGINT');
});

describe('the standalone demo', () => {
  it('brings up three clusters on three API versions, served through the CLI', async () => {
    const clusters = await waitFor('three connected clusters with their API versions', async () => {
      const list = JSON.parse(await sfleet(['clusters', '-o', 'json'], env)) as { name: string; connected: boolean; jobs: number; slurm_api_version: string }[];
      return list.length === 3 && list.every((c) => c.connected && c.jobs > 0 && c.slurm_api_version) && list;
    }, 60_000, 1000);
    expect(clusters.map((c) => `${c.name}:${c.slurm_api_version}`)).toEqual(['sim-1:v0.0.38', 'sim-2:v0.0.41', 'sim-3:v0.0.44']);
    const running = JSON.parse(await sfleet(['jobs', '-o', 'json', '--state', 'RUNNING', '--cluster', 'sim-3'], env)) as { state: string; nodes: string[] }[];
    expect(running.length).toBeGreaterThan(0);
    expect(running.every((j) => j.state === 'RUNNING' && j.nodes.length > 0)).toBe(true);
  });

  it('carries a drain to a simulated v0.0.38 cluster (no REST node update there) and back', async () => {
    const nodes = JSON.parse(await sfleet(['nodes', '-o', 'json', '--cluster', 'sim-1'], env)) as { name: string }[];
    const target = nodes[0].name;
    expect(await sfleet(['drain', `sim-1/${target}`, '--reason', 'demo check'], env)).toMatch(/via/);
    await waitFor('drain visible', async () => {
      const after = JSON.parse(await sfleet(['nodes', '-o', 'json', '--cluster', 'sim-1', '--state', 'DRAIN'], env)) as { name: string; reason: string }[];
      return after.some((n) => n.name === target && n.reason === 'demo check');
    }, 20_000, 500);
    await sfleet(['resume', `sim-1/${target}`], env);
  });
});
