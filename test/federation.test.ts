// Multi-region: a global query at one region's hub merges the live peer regions' answers
// (asked over mutual TLS with the hub's certificate, scope=region), and names in `partial` the
// regions that are dead (nobody listens), hanging (accepts, never answers) or untrusted (a
// certificate of another CA), within the per-peer deadline.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HubClient } from '../cli/client/index.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { testLogger } from './harness/run-logs.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, keepCliStderr, SFLEET } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';

const logger = testLogger('federation');
const PEER_TIMEOUT_MS = 1_000;
let pki: TestPki;
let foreign: TestPki;
const hubs: RunningHub[] = [];
const agents: RunningAgent[] = [];
let hanging: Server;
const held: Socket[] = [];
let eu: RunningHub;

async function hub(region: string, tls: TestPki['hub'], peers: { name: string; url: string }[] = []): Promise<RunningHub> {
  const h = await startHub(
    hubConfigSchema.parse({
      region,
      hub_id: `hub-${region}`,
      listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' },
      tls,
      data_dir: mkdtempSync(join(tmpdir(), `hub-${region}-`)),
      regions: { peers: peers.map((p) => ({ ...p, timeout: `${PEER_TIMEOUT_MS}ms` })) },
    }),
    { logger },
  );
  hubs.push(h);
  return h;
}

async function agent(h: RunningHub, source: ScriptedSource, ca: TestPki = pki): Promise<void> {
  agents.push(
    await startTestAgent(
      { cluster: source.cluster, name: 'head1', endpoints: [h.grpcAddress], backoff: ['100ms', '500ms'], tls: await ca.agent(source.cluster) },
      { logger, source },
    ),
  );
}

function api(h: RunningHub): HubClient {
  return new HubClient({ hub: h.httpUrl, ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
}

type Item = { region?: string; cluster: string; id: number; name: string };
interface Global {
  items: Item[];
  next_cursor?: string | null;
  regions: string[];
  partial: string[];
}

beforeAll(async () => {
  pki = await makePki();
  foreign = await makePki('other.sfleet');
  hanging = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  const hangPort = (hanging.address() as { port: number }).port;
  const deadPort = await freePort();

  const us = await hub('us-east', pki.hub);
  const rogue = await hub('rogue', foreign.hub);
  eu = await hub('eu-west', pki.hub, [
    { name: 'us-east', url: us.httpUrl },
    { name: 'dead', url: `https://127.0.0.1:${deadPort}` },
    { name: 'hanging', url: `https://127.0.0.1:${hangPort}` },
    { name: 'rogue', url: rogue.httpUrl },
  ]);

  const euAlpha = new ScriptedSource('alpha');
  euAlpha.model.job = [makeJob('alpha', 1), makeJob('alpha', 2, { state: 'RUNNING' })];
  euAlpha.model.node = [makeNode('alpha', 'n1')];
  const usAlpha = new ScriptedSource('alpha');
  usAlpha.model.job = [makeJob('alpha', 1, { user: 'carol' }), makeJob('alpha', 3)];
  usAlpha.model.node = [makeNode('alpha', 'n1'), makeNode('alpha', 'n2')];
  const usBeta = new ScriptedSource('beta');
  usBeta.model.job = [makeJob('beta', 7)];
  const rogueGamma = new ScriptedSource('gamma');
  rogueGamma.model.job = [makeJob('gamma', 9)];
  await agent(eu, euAlpha);
  await agent(us, usAlpha);
  await agent(us, usBeta);
  await agent(rogue, rogueGamma, foreign);
  await waitFor('eu jobs', () => eu.state.clusters.get('alpha')?.objects.job.size === 2);
  await waitFor('us jobs', () => us.state.clusters.get('alpha')?.objects.job.size === 2 && us.state.clusters.get('beta')?.objects.job.size === 1);
  await waitFor('rogue jobs', () => rogue.state.clusters.get('gamma')?.objects.job.size === 1);
});

afterAll(async () => {
  for (const a of agents) await a.close();
  for (const h of hubs) await h.close();
  for (const s of held) s.destroy();
  await new Promise((resolve) => hanging?.close(resolve));
});

describe('global queries across regions', () => {
  it('merges the live regions and lists the dead, hanging and foreign-CA ones as partial, within the deadline', async () => {
    const started = Date.now();
    const page = await api(eu).json<Global>('GET', '/api/v1/jobs?scope=global');
    const elapsed = Date.now() - started;
    console.log(`global jobs query with a dead, a hanging and a foreign-CA peer: ${elapsed} ms (peer timeout ${PEER_TIMEOUT_MS} ms)`);
    expect(elapsed).toBeLessThan(PEER_TIMEOUT_MS + 5_000);
    expect(page.items.map((j) => `${j.region}/${j.cluster}/${j.id}`)).toEqual(['eu-west/alpha/1', 'eu-west/alpha/2', 'us-east/alpha/1', 'us-east/alpha/3', 'us-east/beta/7']);
    // Peers' items keep their fields.
    expect(page.items[2]).toMatchObject({ user: 'carol', state: 'PENDING', name: 'job1' });
    expect(page.regions).toEqual(['eu-west', 'us-east']);
    expect([...page.partial].sort()).toEqual(['dead', 'hanging', 'rogue']);
    expect(page.next_cursor).toBeNull();
  });

  it('pages a global list with a cursor of per-region cursors', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await api(eu).json<Global>('GET', `/api/v1/jobs?scope=global&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((j) => `${j.region}/${j.cluster}/${j.id}`));
      cursor = page.next_cursor ?? undefined;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual(['eu-west/alpha/1', 'eu-west/alpha/2', 'us-east/alpha/1', 'us-east/alpha/3', 'us-east/beta/7']);
    const nodes = await api(eu).all<Item>('/api/v1/nodes', { scope: 'global', limit: 1 });
    expect(nodes.map((n) => `${n.region}/${n.cluster}/${n.name}`)).toEqual(['eu-west/alpha/n1', 'us-east/alpha/n1', 'us-east/alpha/n2']);
  });

  it('clusters and partitions go global too; region scope (the default) is unchanged', async () => {
    const clusters = await api(eu).json<Global>('GET', '/api/v1/clusters?scope=global');
    expect(clusters.items.map((c) => `${c.region}/${c.name}`)).toEqual(['eu-west/alpha', 'us-east/alpha', 'us-east/beta']);
    const parts = await api(eu).json<Global>('GET', '/api/v1/partitions?scope=global');
    expect(parts.regions).toEqual(['eu-west', 'us-east']);
    const local = await api(eu).json<Global>('GET', '/api/v1/jobs');
    expect(local.items.map((j) => j.id)).toEqual([1, 2]);
    expect(local.items[0]).not.toHaveProperty('region');
    expect(local).not.toHaveProperty('partial');
    await expect(api(eu).json('GET', '/api/v1/jobs?scope=world')).rejects.toThrow(/SF_API_BAD_REQUEST/);
    await expect(api(eu).json('GET', '/api/v1/jobs?scope=global&cursor=bm9wZQ')).rejects.toThrow(/invalid global cursor/);
  });

  it('the CLI prints the merged list with a REGION column and warns about the partial regions', async () => {
    assertBuilt();
    const env = { ...process.env, SFLEET_HUB: eu.httpUrl, SFLEET_CA: pki.ca, SFLEET_CERT: pki.client.cert, SFLEET_KEY: pki.client.key, HOME: mkdtempSync(join(tmpdir(), 'home-')) };
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(process.execPath, [SFLEET, 'jobs', '--scope', 'global'], { env, timeout: 60_000 }, (err, out, errOut) => (err ? reject(new Error(errOut || err.message)) : resolve({ stdout: out, stderr: errOut }))),
    );
    keepCliStderr(['jobs'], stderr);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^REGION\s+CLUSTER\s+JOBID/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3).join('/'))).toEqual(['eu-west/alpha/1', 'eu-west/alpha/2', 'us-east/alpha/1', 'us-east/alpha/3', 'us-east/beta/7']);
    expect(stderr).toMatch(/partial answer: no answer from region\(s\) dead, hanging, rogue/);
    const json = JSON.parse(
      await new Promise<string>((resolve, reject) => execFile(process.execPath, [SFLEET, 'clusters', '--scope', 'global', '-o', 'json'], { env }, (err, out, errOut) => (err ? reject(new Error(errOut)) : resolve(out)))),
    ) as Item[];
    expect(json.map((c) => c.region)).toEqual(['eu-west', 'us-east', 'us-east']);
  });
});
