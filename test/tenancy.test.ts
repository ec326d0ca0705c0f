// Tenants and quotas against a real hub process and two agents: tenant A's person sees only A
// through the CLI and the API (`sfleet jobs`, `sfleet quota`), cannot act in a tenant it is not
// in, gets a bare /readyz and only A's series from /metrics (a real Prometheus scraping with A's
// bearer token stores nothing of B); an operator sees both tenants' quotas and the gauges.
// Tenant B's names are canary strings that nothing A sees may contain.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { registerAuditDir, registerSecret, testLogger } from './harness/run-logs.js';
import { Prometheus, prometheusBins } from './harness/prometheus.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, keepCliStderr, SFLEET, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';

const CANARY = 'qx7canary';
const B = { cluster: `${CANARY}-cluster`, account: `${CANARY}-acct`, user: `${CANARY}-user` };

let pki: TestPki;
let dir: string;
let hubProc: SfleetProcess;
let httpUrl: string;
const agents: RunningAgent[] = [];
const tokens: Record<string, string> = {};

function get(path: string, token?: string): Promise<{ status: number; body: string; headers: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${httpUrl}${path}`, { ca: readFileSync(pki.ca), headers: token ? { authorization: `Bearer ${token}` } : {}, minVersion: 'TLSv1.3' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: JSON.stringify(res.headers) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function cli(args: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH, HOME: dir, SFLEET_HUB: httpUrl, SFLEET_CA: pki.ca, SFLEET_TOKEN: token };
  return new Promise((resolve) => {
    execFile(process.execPath, [SFLEET, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      keepCliStderr(args, stderr);
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  dir = mkdtempSync(join(tmpdir(), `tenancy-${process.pid}-`));
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  httpUrl = `https://127.0.0.1:${httpPort}`;
  const grpcAddress = `127.0.0.1:${grpcPort}`;
  const multi_tenancy = {
    enabled: true,
    operators: { users: ['op'] },
    tenants: {
      alpha: { clusters: ['alpha-cluster'], users: ['ann'], resources: { max_jobs: 2, max_cpus: 8 }, user_resources: { alice: { max_jobs: 1 } } },
      bravo: { clusters: [`${CANARY}-*`], users: [`${CANARY}-*`], resources: { max_jobs: 50 }, account_resources: { [B.account]: { max_jobs: 5 } } },
    },
  };
  writeFileSync(join(dir, 'hub.yaml'), stringify({ listen: { http: `127.0.0.1:${httpPort}`, grpc: grpcAddress }, tls: pki.hub, data_dir: join(dir, 'data'), log_level: 'warn', multi_tenancy }));
  for (const name of ['ann', 'op']) {
    const out = await sfleet(['token', 'create', '--name', name, '--data-dir', join(dir, 'data')], { PATH: process.env.PATH, HOME: dir });
    tokens[name] = out.trim().split('\n').pop()!;
    registerSecret(tokens[name], `API token ${name} (tenancy)`);
  }
  registerAuditDir(join(dir, 'data', 'audit'));
  hubProc = new SfleetProcess(['hub', '--config', join(dir, 'hub.yaml')], join(dir, 'hub.log')).start();
  await waitFor('hub ready', async () => (await get('/readyz').catch(() => ({ status: 0 }))).status === 200, 30_000);

  const sources = { alpha: new ScriptedSource('alpha-cluster'), bravo: new ScriptedSource(B.cluster) };
  sources.alpha.model.job = [
    makeJob('alpha-cluster', 1, { account: 'eng', user: 'alice', state: 'RUNNING', cpus: 4, nodes: ['a1'], tres: 'cpu=4,mem=1G,node=1' }),
    makeJob('alpha-cluster', 2, { account: 'eng', user: 'alice', state: 'PENDING', array_task_string: '0-3' }),
  ];
  sources.alpha.model.node = [makeNode('alpha-cluster', 'a1', { partitions: ['batch'] })];
  sources.bravo.model.job = [makeJob(B.cluster, 7, { account: B.account, user: B.user, name: `${CANARY}-job`, state: 'RUNNING' })];
  sources.bravo.model.node = [makeNode(B.cluster, `${CANARY}-node`, { partitions: ['batch'] })];
  for (const [cluster, source] of [['alpha-cluster', sources.alpha], [B.cluster, sources.bravo]] as const) {
    agents.push(await startTestAgent({ cluster, endpoints: [grpcAddress], tls: await pki.agent(cluster), spoolDir: mkdtempSync(join(dir, 'spool-')) }, { logger: testLogger('tenancy'), source }));
  }
  await waitFor('both clusters at the hub', async () => JSON.parse((await get('/api/v1/jobs', tokens.op)).body).items.length === 3, 30_000);
}, 90_000);

afterAll(async () => {
  for (const a of agents) await a.close();
  await hubProc?.kill('SIGTERM');
});

describe('tenants and quotas on a real hub', () => {
  it("tenant A's person sees only A through the CLI and the API", async () => {
    const jobs = await cli(['jobs', '-o', 'json'], tokens.ann);
    expect(jobs.code, jobs.stderr).toBe(0);
    expect((JSON.parse(jobs.stdout) as { cluster: string; id: number }[]).map((j) => `${j.cluster}/${j.id}`).sort()).toEqual(['alpha-cluster/1', 'alpha-cluster/2']);
    for (const path of ['/api/v1/clusters', '/api/v1/nodes', '/api/v1/partitions', '/api/v1/hubs', '/api/v1/events', '/api/v1/audit', '/api/v1/quotas', '/api/v1/auth/whoami', '/readyz']) {
      const res = await get(path, tokens.ann);
      expect(res.body.includes(CANARY) || res.headers.includes(CANARY), `${path}: ${res.body.slice(0, 300)}`).toBe(false);
    }
    const metrics = await get('/metrics', tokens.ann);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^sfleet_jobs\{cluster="alpha-cluster",partition="debug",state="RUNNING",tenant="alpha"\} 1$/m);
    expect(metrics.body).not.toContain(CANARY);
    expect(metrics.body).not.toContain('tenant="bravo"');
    expect(JSON.parse((await get('/readyz')).body)).toEqual({ status: 'ready' });
    const other = await cli(['jobs', '--tenant', 'bravo'], tokens.ann);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('ann is not a member of tenant "bravo" (member of: alpha)');
  });

  it('sfleet quota shows usage against each limit: array tasks one by one, over a limit marked', async () => {
    const table = await cli(['quota'], tokens.ann);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/alpha\s+tenant alpha\s+max_jobs\s+5\/2 OVER\s+base\s+-/);
    expect(table.stdout).toMatch(/alpha\s+tenant alpha\s+max_cpus\s+4\/8\s/);
    expect(table.stdout).toMatch(/alpha\s+user alice\s+max_jobs\s+5\/1 OVER/);
    expect(table.stdout).not.toContain(CANARY);
    const all = JSON.parse((await cli(['quota', '-o', 'json'], tokens.op)).stdout) as { tenant: string; limits: { subject: string; usage: number }[] }[];
    expect(all.map((t) => t.tenant)).toEqual(['alpha', 'bravo']);
    expect(all[1].limits).toEqual(expect.arrayContaining([expect.objectContaining({ subject: B.account, usage: 1 })]));
    const metrics = await get('/metrics', tokens.op);
    expect(metrics.body).toContain('sfleet_quota_usage{tenant="alpha",scope="tenant",subject="alpha",limit="max_jobs"} 5');
    expect(metrics.body).toContain('sfleet_quota_limit{tenant="alpha",scope="tenant",subject="alpha",limit="max_jobs"} 2');
  });

  it("a real Prometheus scraping with A's bearer token stores only A's series; scraping as the operator, both tenants'", async () => {
    const target = new URL(httpUrl).host;
    const scrape = (job: string, token: string) => ({ job_name: job, scheme: 'https', authorization: { type: 'Bearer', credentials: token }, tls_config: { ca_file: pki.ca }, static_configs: [{ targets: [target] }] });
    const prometheus = await Prometheus.start(await prometheusBins(), [scrape('as-ann', tokens.ann), scrape('as-op', tokens.op)]);
    try {
      await waitFor('fleet series from both scrapes', async () => (await prometheus.query('count by (job) (sfleet_jobs)')).length === 2, 20_000, 250);
      const clusters = async (job: string) => [...new Set((await prometheus.query(`sfleet_jobs{job="${job}"}`)).map((s) => `${s.metric.cluster}/${s.metric.tenant}`))].sort();
      expect(await clusters('as-ann')).toEqual(['alpha-cluster/alpha']);
      expect(await clusters('as-op')).toEqual(['alpha-cluster/alpha', `${B.cluster}/bravo`]);
      // nothing of B under any name, and none of the hub's own series (process, requests, ingest)
      const annSeries = await prometheus.query('{job="as-ann",__name__=~"sfleet_.*|process_.*|nodejs_.*"}');
      expect(annSeries.filter((s) => JSON.stringify(s.metric).includes(CANARY))).toEqual([]);
      expect(annSeries.filter((s) => !s.metric.cluster && !s.metric.tenant)).toEqual([]);
      expect(annSeries.map((s) => s.metric.__name__)).toEqual(expect.arrayContaining(['sfleet_jobs', 'sfleet_quota_usage', 'sfleet_cluster_connected']));
      expect((await prometheus.query('sfleet_quota_usage{job="as-op",tenant="bravo"}')).length).toBeGreaterThan(0);
    } finally {
      await prometheus.stop();
    }
  });
});
