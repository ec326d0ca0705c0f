// A cluster is (region, name) across regions: two regions each run a cluster named `gpu`. A
// tenant of eu-west that names `gpu` owns eu-west's gpu only; a scope=global query of its member
// forwards the tenant's rows with their region, so us-east's gpu (its jobs, nodes and counts)
// never reaches it. A tenant that names `us-east/gpu` as well sees both.
import { mkdtempSync } from 'node:fs';
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
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { startTestAgent } from './harness/test-agent.js';

const logger = testLogger('tenant-regions');
// region -> cluster -> [job id, account]; each cluster has one node, named after its region.
const FLEET: Record<string, Record<string, [number, string][]>> = {
  'us-east': { gpu: [[5, 'research'], [6, 'physics']] },
  'eu-west': { gpu: [[1, 'research'], [3, 'physics']], lyon: [[2, 'research']] },
};
const MULTI_TENANCY = {
  enabled: true,
  tenants: {
    // Unqualified: eu-west's own gpu.
    eng: { clusters: ['gpu'], accounts: ['research'], users: ['ann'] },
    // The same cluster name in both regions, the peer's named by its region.
    wide: { clusters: ['gpu', 'us-east/gpu'], accounts: ['physics'], users: ['ben'] },
  },
};

let pki: TestPki;
const hubs: Record<string, RunningHub> = {};
const agents: RunningAgent[] = [];
const clients: Record<string, HubClient> = {};

beforeAll(async () => {
  pki = await makePki();
  for (const region of ['us-east', 'eu-west']) {
    const dataDir = mkdtempSync(join(tmpdir(), `tenant-regions-${process.pid}-${region}-`));
    const peers = region === 'eu-west' ? [{ name: 'us-east', url: hubs['us-east'].httpUrl, timeout: '2s' }] : [];
    hubs[region] = await startHub(
      hubConfigSchema.parse({
        region,
        hub_id: `hub-${region}`,
        listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' },
        tls: pki.hub,
        data_dir: dataDir,
        regions: { peers },
        ...(region === 'eu-west' ? { multi_tenancy: MULTI_TENANCY } : {}),
      }),
      { logger },
    );
    for (const [cluster, jobs] of Object.entries(FLEET[region])) {
      // Both regions' gpu agents are "gpu": each hub checks the certificate against the cluster it speaks for.
      const source = new ScriptedSource(cluster);
      source.model.job = jobs.map(([id, account]) => makeJob(cluster, id, { account, name: `${region}-job-${id}` }));
      source.model.node = [makeNode(cluster, `${region}-${cluster}-n1`)];
      agents.push(await startTestAgent({ cluster, endpoints: [hubs[region].grpcAddress], tls: await pki.agent(cluster) }, { logger, source }));
      await waitFor(`${region}/${cluster} jobs`, () => hubs[region].state.clusters.get(cluster)?.objects.job.size === jobs.length);
    }
    if (region === 'eu-west') {
      for (const name of ['ann', 'ben']) {
        const { token } = new TokenStore(dataDir).create(name, undefined, {});
        clients[name] = new HubClient({ hub: hubs[region].httpUrl, ca: pki.ca, token });
      }
    }
  }
}, 60_000);

afterAll(async () => {
  for (const a of agents) await a.close();
  for (const h of Object.values(hubs)) await h.close();
});

type Page<T> = { items: T[]; partial: string[] };

describe('tenants across regions: a cluster is (region, name)', () => {
  it("an unqualified cluster glob is the tenant's own region's: a peer's cluster of the same name is not its", async () => {
    const jobs = await clients.ann.json<Page<{ region: string; cluster: string; id: number; name: string }>>('GET', '/api/v1/jobs?scope=global');
    expect(jobs.partial).toEqual([]);
    expect(jobs.items.map((j) => `${j.region}/${j.cluster}/${j.id}`)).toEqual(['eu-west/gpu/1']);
    const nodes = await clients.ann.json<Page<{ region: string; name: string }>>('GET', '/api/v1/nodes?scope=global');
    expect(nodes.items.map((n) => `${n.region}/${n.name}`)).toEqual(['eu-west/eu-west-gpu-n1']);
    const clusters = await clients.ann.json<Page<{ region: string; name: string; jobs: number }>>('GET', '/api/v1/clusters?scope=global');
    expect(clusters.items.map((c) => [c.region, c.name, c.jobs])).toEqual([['eu-west', 'gpu', 1]]);
    // Nothing of us-east's gpu anywhere in what ann was sent.
    expect(JSON.stringify([jobs, nodes, clusters])).not.toMatch(/us-east-job|us-east-gpu/);
  });

  it('a glob that names the peer region (`us-east/gpu`) reaches that cluster, and no other', async () => {
    const jobs = await clients.ben.json<Page<{ region: string; cluster: string; id: number }>>('GET', '/api/v1/jobs?scope=global');
    expect(jobs.items.map((j) => `${j.region}/${j.cluster}/${j.id}`)).toEqual(['eu-west/gpu/3', 'us-east/gpu/6']);
    const clusters = await clients.ben.json<Page<{ region: string; name: string }>>('GET', '/api/v1/clusters?scope=global');
    expect(clusters.items.map((c) => `${c.region}/${c.name}`)).toEqual(['eu-west/gpu', 'us-east/gpu']);
    // In its own region, `us-east/gpu` names nothing: the region's answer is eu-west's gpu alone.
    const local = await clients.ben.json<Page<{ cluster: string; id: number }>>('GET', '/api/v1/jobs');
    expect(local.items.map((j) => `${j.cluster}/${j.id}`)).toEqual(['gpu/3']);
  });
});
