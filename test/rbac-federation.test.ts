// RBAC across regions: a scope=global query asks the peer regions with this hub's certificate
// (which the peers let read everything), so the caller's row filters travel with it and the
// peer answers, counts included, only what the caller may see. Two regions, two tenants.
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HubClient } from '../cli/client/index.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { TokenStore } from '../hub/policy/index.js';
import { testLogger } from './harness/run-logs.js';
import { makePki, type TestPki } from './harness/pki.js';
import { waitFor } from './harness/wait.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { startTestAgent } from './harness/test-agent.js';

const logger = testLogger('rbac-federation');
const RBAC = {
  roles: { project_manager: { permissions: ['jobs:read', 'clusters:read'], filters: { account: '${user.project}' } } },
  bindings: [{ client: 'admin', role: 'admin' }],
};
// region -> cluster -> [job id, account]
const FLEET: Record<string, Record<string, [number, string][]>> = {
  'eu-west': { paris: [[1, 'research'], [2, 'physics']] },
  'us-east': { boston: [[5, 'research'], [6, 'physics'], [7, 'physics']] },
};

let pki: TestPki;
const hubs: Record<string, RunningHub> = {};
const dataDirs: Record<string, string> = {};
const agents: RunningAgent[] = [];
let pm: HubClient;
let pmToken: string;
let admin: HubClient;

beforeAll(async () => {
  pki = await makePki();
  for (const region of ['us-east', 'eu-west']) {
    dataDirs[region] = mkdtempSync(join(tmpdir(), `rbac-fed-${process.pid}-${region}-`));
    const peers = region === 'eu-west' ? [{ name: 'us-east', url: hubs['us-east'].httpUrl, timeout: '2s' }] : [];
    hubs[region] = await startHub(
      hubConfigSchema.parse({ region, hub_id: `hub-${region}`, listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' }, tls: pki.hub, data_dir: dataDirs[region], regions: { peers }, rbac: RBAC }),
      { logger },
    );
    for (const [cluster, jobs] of Object.entries(FLEET[region])) {
      const source = new ScriptedSource(cluster);
      source.model.job = jobs.map(([id, account]) => makeJob(cluster, id, { account }));
      agents.push(
        await startTestAgent({ cluster, endpoints: [hubs[region].grpcAddress], tls: await pki.agent(cluster) }, { logger, source }),
      );
      await waitFor(`${cluster} jobs`, () => hubs[region].state.clusters.get(cluster)?.objects.job.size === jobs.length);
    }
  }
  // The project manager's token exists only in the region it asks; the peer never sees it.
  const { token } = new TokenStore(dataDirs['eu-west']).create('pm', undefined, { roles: ['project_manager'], attributes: { project: 'research' } });
  pmToken = token;
  pm = new HubClient({ hub: hubs['eu-west'].httpUrl, ca: pki.ca, token });
  const adminCert = await pki.issue('client', 'admin');
  admin = new HubClient({ hub: hubs['eu-west'].httpUrl, ca: pki.ca, cert: adminCert.cert, key: adminCert.key });
}, 60_000);

afterAll(async () => {
  for (const a of agents) await a.close();
  for (const h of Object.values(hubs)) await h.close();
});

describe('RBAC on scope=global', () => {
  it('a tenant sees only its own jobs from every region, while an admin sees all of them', async () => {
    const mine = await pm.json<{ items: { region: string; cluster: string; id: number; account: string }[]; partial: string[] }>('GET', '/api/v1/jobs?scope=global');
    expect(mine.partial).toEqual([]);
    expect(mine.items.map((j) => `${j.region}/${j.cluster}/${j.id}`)).toEqual(['eu-west/paris/1', 'us-east/boston/5']);
    const all = await admin.json<{ items: unknown[] }>('GET', '/api/v1/jobs?scope=global');
    expect(all.items).toHaveLength(5);
  });

  it("the peer's cluster counts are the tenant's, not the region's", async () => {
    const mine = await pm.json<{ items: { region: string; name: string; jobs: number }[] }>('GET', '/api/v1/clusters?scope=global');
    expect(mine.items.map((c) => [c.region, c.name, c.jobs])).toEqual([
      ['eu-west', 'paris', 1],
      ['us-east', 'boston', 1],
    ]);
    const all = await admin.json<{ items: { name: string; jobs: number }[] }>('GET', '/api/v1/clusters?scope=global');
    expect(all.items.map((c) => [c.name, c.jobs])).toEqual([
      ['paris', 2],
      ['boston', 3],
    ]);
  });

  it('a caller cannot pass the forwarding header itself to widen its view', async () => {
    const wide = Buffer.from(JSON.stringify({ jobs: null, cluster: null })).toString('base64url');
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${hubs['eu-west'].httpUrl}/api/v1/jobs`,
        { ca: readFileSync(pki.ca), headers: { authorization: `Bearer ${pmToken}`, 'x-sfleet-forwarded-filters': wide }, minVersion: 'TLSv1.3' },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect((JSON.parse(body) as { items: { id: number }[] }).items.map((j) => j.id)).toEqual([1]);
  });
});
