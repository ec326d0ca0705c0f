// The sfleet CLI as a user runs it: connection from flags, env and contexts; output formats;
// tokens; config errors; commands. The hub runs in this process, the CLI as a child.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, Metadata } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import type { RunningAgent } from '../agent/main.js';
import { FleetServiceClient, type ListJobsResponse } from '../generated/fleet/v1/fleet.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { registerAuditDir, registerSecret, testLogger } from './harness/run-logs.js';
import { grpcClientCredentials } from '../shared/tls/index.js';
import { makePki, type TestPki } from './harness/pki.js';
import { waitFor } from './harness/wait.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';

let pki: TestPki;
let hub: RunningHub;
let agent: RunningAgent;
let dataDir: string;
let base: NodeJS.ProcessEnv;
const source = new ScriptedSource('cli-c');

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  dataDir = mkdtempSync(join(tmpdir(), 'hub-'));
  registerAuditDir(join(dataDir, 'audit'));
  hub = await startHub(hubConfigSchema.parse({ listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' }, tls: pki.hub, data_dir: dataDir }), { logger: testLogger('cli') });
  source.model.job = [makeJob('cli-c', 11, { user: 'carol', state: 'RUNNING', nodes: ['cn1'], node_list: 'cn1' }), makeJob('cli-c', 12, { array_job_id: 12, array_task_id: 3 })];
  source.model.node = [makeNode('cli-c', 'cn1', { state: 'MIXED' })];
  agent = await startTestAgent(
    { cluster: 'cli-c', endpoints: [hub.grpcAddress], tls: await pki.agent('cli-c'), spoolDir: mkdtempSync(join(tmpdir(), 'sp-')) },
    { logger: testLogger('cli'), source },
  );
  await waitFor('jobs at the hub', () => hub.state.clusters.get('cli-c')?.objects.job.size === 2);
  const home = mkdtempSync(join(tmpdir(), 'home-'));
  base = { PATH: process.env.PATH, HOME: home, SFLEET_CONFIG: join(home, 'contexts.yaml') };
});

afterAll(async () => {
  await agent.close();
  await hub.close();
});

const withCert = (): NodeJS.ProcessEnv => ({ ...base, SFLEET_HUB: hub.httpUrl, SFLEET_CA: pki.ca, SFLEET_CERT: pki.client.cert, SFLEET_KEY: pki.client.key });

describe('sfleet CLI', () => {
  it('prints jobs as a JSON array with the contract fields, and as table and YAML', async () => {
    const jobs = JSON.parse(await sfleet(['jobs', '-o', 'json'], withCert())) as Record<string, unknown>[];
    expect(jobs.map((j) => j.id)).toEqual([11, 12]);
    expect(jobs[1]).toMatchObject({ cluster: 'cli-c', array_job_id: 12, array_task_id: 3 });
    expect(jobs[0]).toMatchObject({ user: 'carol', state: 'RUNNING', nodes: ['cn1'], end_time: null, exit_code: null });
    const table = await sfleet(['jobs'], withCert());
    expect(table.split('\n')[0]).toMatch(/^CLUSTER\s+JOBID\s+NAME\s+USER/);
    expect(table).toContain('12_3');
    expect(parse(await sfleet(['nodes', '-o', 'yaml'], withCert()))).toMatchObject([{ name: 'cn1', state: 'MIXED', cpus: 4 }]);
    expect(JSON.parse(await sfleet(['jobs', '-o', 'json', '--node', 'cn1'], withCert())).map((j: { id: number }) => j.id)).toEqual([11]);
  });

  it('creates a token that prints on the last line and works as SFLEET_TOKEN', async () => {
    const out = await sfleet(['token', 'create', '--name', 'ci-bot', '--data-dir', dataDir], base);
    const token = out.trim().split('\n').pop()!;
    registerSecret(token, 'API token ci-bot (cli test)');
    expect(token).toMatch(/^sft_/);
    await new Promise((r) => setTimeout(r, 1100));
    const clusters = JSON.parse(await sfleet(['clusters', '-o', 'json'], { ...base, SFLEET_HUB: hub.httpUrl, SFLEET_CA: pki.ca, SFLEET_TOKEN: token }));
    expect(clusters[0]).toMatchObject({ name: 'cli-c', connected: true });
    await expect(sfleet(['clusters'], { ...base, SFLEET_HUB: hub.httpUrl, SFLEET_CA: pki.ca })).rejects.toThrow(/authentication required/);
  });

  it('takes flags over env over the context file', async () => {
    await sfleet(['context', 'set', 'lab', '--hub', hub.httpUrl, '--ca', pki.ca, '--cert', pki.client.cert, '--key', pki.client.key], base);
    expect(JSON.parse(await sfleet(['clusters', '-o', 'json'], base))[0].name).toBe('cli-c');
    await expect(sfleet(['clusters'], { ...base, SFLEET_HUB: 'https://127.0.0.1:1' })).rejects.toThrow(/connection refused/);
    expect(JSON.parse(await sfleet(['clusters', '-o', 'json', '--hub', hub.httpUrl], { ...base, SFLEET_HUB: 'https://127.0.0.1:1' }))[0].name).toBe('cli-c');
  });

  it('runs commands and explains refusals', async () => {
    expect(await sfleet(['cancel', 'cli-c/11'], withCert())).toContain('cancel 11 done');
    await expect(sfleet(['cancel', 'cli-c/404'], withCert())).rejects.toThrow(/Invalid job id specified: 404/);
    await expect(sfleet(['cancel', 'no-slash'], withCert())).rejects.toThrow(/expected CLUSTER\/JOB/);
    await expect(sfleet(['drain', 'cli-c/cn1'], withCert())).rejects.toThrow(/--reason/);
    await expect(sfleet(['job', 'cli-c/77', '-o', 'json'], withCert())).rejects.toThrow(/job cli-c\/77 not found/);
  });

  it('refuses bad config files with file, line and key, and exits non-zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'hub.yaml'), 'listen:\n  http: "nowhere"\ntls: { ca: a, cert: b, key: c }\n');
    await expect(sfleet(['hub', '--config', join(dir, 'hub.yaml')], base)).rejects.toThrow(/hub.yaml:2: listen.http: expected host:port/);
    writeFileSync(join(dir, 'agent.yaml'), 'cluster: x\nhub: { endpoints: ["h:1"] }\ntls: { ca: /nonexistent/ca.pem, cert: b, key: c }\nslurm: { source: cli }\n');
    await expect(sfleet(['agent', '--config', join(dir, 'agent.yaml')], base)).rejects.toThrow(/cannot read tls.ca "\/nonexistent\/ca.pem": ENOENT/);
  });

  it('answers the same query over gRPC FleetService', async () => {
    const client = new FleetServiceClient(hub.grpcAddress, grpcClientCredentials({ ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) }));
    const res = await new Promise<ListJobsResponse>((resolve, reject) =>
      client.listJobs({ cluster: 'cli-c', state: '', user: 'carol', account: '', partition: '', node: '', limit: 10, cursor: '' }, new Metadata(), (err, r) => (err ? reject(err) : resolve(r))),
    );
    expect(res.jobs.map((j) => j.id)).toEqual([11]);
    client.close();
    void credentials;
  });
});
