// Strict tenant isolation, seen from tenant A: every route of the router's own table (each also
// in the OpenAPI document), the SSE and gRPC watch streams and the gRPC reads. Tenant B's
// clusters, accounts, users, job names, events, audit records, job history (and its exports),
// alerts and alert history are canary strings; none may reach A in a body, a header or an
// error. A shares one cluster with B (split by account). Every route the hub registers is
// registered here with its real service: submit, quotas, history and exports, alerting, the
// forwarded-command route.
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jobDelta, testJob, testNode } from '../../shared/delta/testdata/fleet-fixtures.js';
import { silentLogger } from '../../shared/logging/index.js';
import { wrapObject, type Job } from '../../shared/model/index.js';
import { parseConfigText } from '../../shared/config/index.js';
import { AuditLog, auditConfigSchema } from '../audit/index.js';
import { CommandRouter, registerForwardRoute } from '../commands/index.js';
import { Alerting, alertingConfigSchema } from '../alerting/index.js';
import { historyConfigSchema, HistoryService } from '../history/index.js';
import { Admission, registerSubmitRoute, submitConfigSchema, SubmitService } from '../submit/index.js';
import type { HistoryJob } from '../../shared/history/index.js';
import { EventLog } from '../events/index.js';
import { FleetState } from '../fleet/index.js';
import { Authenticator, Rbac, TokenStore } from '../policy/index.js';
import { systemClock } from '../../shared/clock/index.js';
import { QuotaBook, QuotaHistory, registerQuotaRoutes } from '../quota/index.js';
import { multiTenancyConfigSchema, Tenancy } from '../tenancy/index.js';
import { WatchFeed } from '../watch/index.js';
import { fleetService } from './grpc/fleet-service.js';
import { buildHttpApi } from './rest/index.js';

const CANARY = 'zq9canary';
const B_CLUSTER = `${CANARY}-cluster`;
const B_ACCOUNT = `${CANARY}-acct`;
const B_USER = `${CANARY}-user`;
const B_JOB = `${CANARY}-jobname`;

const CONFIG = `multi_tenancy:
  enabled: true
  operators: { users: [root-op] }
  tenants:
    alpha:
      clusters: [alpha-cluster, shared]
      accounts: ["alpha-*"]
      users: ["ann"]
      resources: { max_jobs: 10 }
    bravo:
      clusters: ["${CANARY}-*", shared]
      accounts: ["${CANARY}-*"]
      users: ["${CANARY}-*"]
      resources: { max_jobs: 5 }
      account_resources: { "${B_ACCOUNT}": { max_jobs: 1 } }
      user_resources: { "${B_USER}": { max_jobs: 1 } }
`;

// Runs that ended an hour ago: inside the history routes' default window.
const T0 = Date.now() - 2 * 3_600_000;

const bJob = (id: number, cluster: string): Job => testJob(id, { cluster, account: B_ACCOUNT, user: B_USER, name: B_JOB, state: 'RUNNING', nodes: ['n1'], node_list: 'n1', comment: CANARY, working_dir: `/home/${B_USER}` });
const aJob = (id: number, cluster: string): Job => testJob(id, { cluster, account: 'alpha-main', user: 'ann', name: 'a-job' });

function populate(state: FleetState, events: EventLog, watch: WatchFeed): void {
  for (const cluster of ['alpha-cluster', 'shared', B_CLUSTER]) {
    const jobs = cluster === 'alpha-cluster' ? [aJob(1, cluster)] : cluster === B_CLUSTER ? [bJob(2, cluster)] : [aJob(3, cluster), bJob(4, cluster)];
    const delta = jobDelta(jobs, { cluster, snapshot: true });
    delta.upserts.push(
      wrapObject('node', testNode('n1', { cluster, partitions: ['batch'], reason_set_by: cluster === 'shared' ? B_USER : '' })),
      wrapObject('partition', { cluster, name: 'batch', state: 'UP', nodes: ['n1'], node_list: 'n1', total_cpus: 1, total_nodes: 1, is_default: true, allowed_accounts: ['alpha-main', B_ACCOUNT], allowed_qos: [], qos: '' }),
      wrapObject('account', { cluster, name: B_ACCOUNT, description: CANARY, organization: CANARY, coordinators: [B_USER] }),
      wrapObject('association', { cluster, account: B_ACCOUNT, user: B_USER, partition: '', parent_account: 'root', qos: [], default_qos: '' }),
      wrapObject('reservation', { cluster, name: 'maint', nodes: ['n1'], node_list: 'n1', users: [B_USER], accounts: [B_ACCOUNT], flags: [], partition: 'batch', node_count: 1, core_count: 1 }),
    );
    state.apply(delta);
    state.setAgentStatus(cluster, { connected: true, agent: `agent-${cluster}` });
  }
  // A's events are older than B's: a `limit` applied before the row filter would hide them.
  // A shared cluster's controller events concern each of its tenants.
  for (const [cluster, at] of [['alpha-cluster', '2026-01-01T00:00:00Z'], ['shared', '2026-01-02T00:00:00Z'], [B_CLUSTER, '2026-01-03T00:00:00Z']] as const) {
    const fresh = events.record(cluster, [{ id: `e-${cluster}`, cluster, type: 'controller_down', severity: 'critical', message: cluster === B_CLUSTER ? `${CANARY} down` : 'down', occurred_at: at, attributes: {} }]);
    for (const e of fresh) watch.publishEvent(e);
  }
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'isolation-'));
  const tenancy = new Tenancy(parseConfigText(z.object({ multi_tenancy: multiTenancyConfigSchema }), CONFIG, 'hub.yaml').multi_tenancy);
  const rbac = new Rbac(undefined, tenancy);
  const tokens = new TokenStore(dir);
  const ann = tokens.create('ann').token;
  const op = tokens.create('root-op').token;
  const authenticator = new Authenticator(tokens);
  const state = new FleetState();
  const watch = new WatchFeed(state);
  const events = new EventLog({}, { logger: silentLogger() });
  const audit = new AuditLog(auditConfigSchema.parse({ dir: join(dir, 'audit') }), { hubId: 'h', dataDir: dir, logger: silentLogger() });
  await audit.open();
  for (const account of [B_ACCOUNT, 'alpha-main']) {
    await audit.record({ action: 'jobs:cancel', resource: `job ${account === B_ACCOUNT ? B_CLUSTER : 'alpha-cluster'}/2`, outcome: 'success', status: 200, user: account === B_ACCOUNT ? B_USER : 'ann', transport: 'http', tenant: { cluster: account === B_ACCOUNT ? B_CLUSTER : 'alpha-cluster', account }, required: true });
  }
  await audit.record({ action: 'auth:login', outcome: 'failed', status: 401, user: B_USER, transport: 'http', required: true });
  const commands = new CommandRouter({ timeoutMs: 1000 });
  const stale = () => new Map([[B_CLUSTER, `${CANARY}: replication behind`], ['alpha-cluster', 'replication behind']]);
  const deps = {
    state,
    commands,
    watch,
    events,
    authenticator,
    rbac,
    stale,
    readiness: () => ({ ready: true, checks: { [B_CLUSTER]: 'stale', etcd: 'ok' } }),
    metrics: async () => ({ contentType: 'text/plain', body: `sfleet_jobs{cluster="${B_CLUSTER}"} 1\nsfleet_jobs{cluster="shared"} 3\nsfleet_account_jobs{cluster="shared",account="alpha-ml"} 2\nsfleet_account_jobs{cluster="shared",account="${B_ACCOUNT}"} 1\nprocess_cpu_seconds_total 9\n` }),
    members: async () => ({ region: 'r', items: [{ hub_id: 'h1', ingesting: ['alpha-cluster', B_CLUSTER, 'shared'], stale_clusters: [B_CLUSTER] }] }),
  };
  const quotas = new QuotaBook(tenancy, state, systemClock);
  const quotaHistory = new QuotaHistory({ report: () => quotas.report(), clock: systemClock, logger: silentLogger() }, { sampleMs: 60_000 });
  // Job history with runs of A and B (queries, usage reports and Parquet exports read it).
  const history = await HistoryService.open(
    { logger: silentLogger(), now: () => Date.now(), fetch: async () => [], ingesting: () => new Set(['alpha-cluster', 'shared', B_CLUSTER]), hubId: 'h' },
    historyConfigSchema.parse({ threads: 1, memory_limit: '128MB' }),
    dir,
  );
  const run = (job_id: number, cluster: string, b: boolean): HistoryJob => ({
    cluster, job_id, submit_time: T0, start_time: T0 + 60_000, end_time: T0 + 3_600_000, name: b ? B_JOB : 'a-run', user: b ? B_USER : 'ann', account: b ? B_ACCOUNT : 'alpha-main',
    partition: 'batch', qos: 'normal', state: b ? 'FAILED' : 'COMPLETED', exit_code: 0, exit_signal: 0, alloc_tres: 'cpu=1,node=1', cpus: 1, gpus: 0, memory_mb: 100, node_count: 1, node_list: 'n1', nodes: ['n1'],
  });
  await history.store.upsert([run(3, 'shared', false), run(777001, 'shared', true), run(2, B_CLUSTER, true), run(1, 'alpha-cluster', false)]);
  // Alerts of B's (firing, and one resolved into the alert history) and one of A's.
  const alerting = new Alerting(alertingConfigSchema.parse({}), { state, logger: silentLogger(), clock: systemClock, region: 'r', sleep: async () => undefined });
  alerting.receive(
    [
      { labels: { alertname: `${CANARY}_alert`, cluster: B_CLUSTER, severity: 'critical' }, annotations: { summary: `${CANARY} down` } },
      { labels: { alertname: 'job_failures', cluster: 'shared', account: B_ACCOUNT, user: B_USER, severity: 'warning' }, annotations: { summary: `${B_USER} failed` } },
      { labels: { alertname: 'a_alert', cluster: 'alpha-cluster', severity: 'warning' }, annotations: { summary: 'a down' } },
      { labels: { alertname: `${CANARY}_gone`, cluster: B_CLUSTER, severity: 'critical' }, annotations: { summary: `${CANARY} gone` }, startsAt: new Date(T0).toISOString(), endsAt: new Date(T0 + 1_000).toISOString() },
    ],
    'test',
  );
  const submit = new SubmitService({ commands, admission: new Admission({ tenancy, state, clock: systemClock }, { ttlMs: 60_000 }), lookup: async () => undefined }, submitConfigSchema.parse({ min_uid: 1 }));
  const { app, routes } = await buildHttpApi({
    ...deps,
    history,
    alerting,
    logger: silentLogger(),
    audit,
    extraRoutes: [(a) => registerQuotaRoutes(a, quotas, { store: quotaHistory, sampling: () => true }), (a) => registerSubmitRoute(a, submit), (a) => registerForwardRoute(a, commands, async () => ({ items: [{ hub_id: 'h1', tls_name: 'h1' }] }))],
  });
  const grpc = fleetService(deps);
  populate(state, events, watch);
  quotaHistory.sample();
  return { app, routes, grpc, ann, op, state, events, watch, audit, history, alerting };
}

type Setup = Awaited<ReturnType<typeof setup>>;

function leaks(text: string): boolean {
  return text.toLowerCase().includes(CANARY);
}

function grpcCall(token: string, request: object) {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return { request, metadata, getAuthContext: () => ({}) };
}

describe('tenant isolation (strict), as a caller of tenant A', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });
  afterAll(async () => {
    await s.app.close();
    await s.audit.close();
    await s.history.close();
    await s.alerting.close();
  });

  const as = (token: string, method: string, url: string) => s.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}` }, ...(method === 'POST' ? { payload: {} } : {}) });

  it('walks every route of the router (each in the OpenAPI document): no body or header names tenant B', async () => {
    const doc = (await as(s.op, 'GET', '/api/v1/openapi.json')).json() as { paths: Record<string, Record<string, unknown>> };
    let walked = 0;
    for (const route of s.routes) {
      const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
      expect(doc.paths[path]?.[route.method.toLowerCase()], `${route.method} ${route.url} is missing from the OpenAPI document`).toBeDefined();
      if (route.url === '/api/v1/watch') continue; // a stream: the next test
      const base = route.url.replace(':cluster', 'shared').replace(':id', '3').replace(':name', 'n1');
      const urls = [base, ...(route.method === 'GET' && base.startsWith('/api/v1/') ? [`${base}?limit=1`, `${base}?scope=global`, `${base}?cluster=shared`] : [])];
      if (base.includes('can-i')) urls.push(`${base}?verb=read&resource=jobs`, `${base}?verb=read&resource=jobs&as=someone`);
      for (const url of urls) {
        for (const method of route.method === 'GET' ? ['GET', 'HEAD'] : [route.method]) {
          const res = await as(s.ann, method, url);
          walked++;
          expect(leaks(res.body), `${method} ${url}: ${res.body.slice(0, 300)}`).toBe(false);
          expect(leaks(JSON.stringify(res.headers)), `${method} ${url} headers`).toBe(false);
        }
      }
    }
    expect(walked).toBeGreaterThan(40);
    for (const url of ['/api/v1/quotas', '/api/v1/jobs/:cluster', '/api/v1/history/jobs', '/api/v1/reports/usage', '/api/v1/export/history', '/api/v1/alerts', '/api/v1/alerts/history', '/api/v1/forwarded-commands/:cluster']) {
      expect(s.routes.map((r) => r.url)).toContain(url);
    }
    // The services answer A with A's own rows (the routes are live, not 503 or 404).
    expect((await as(s.ann, 'GET', '/api/v1/history/jobs')).json().items.map((j: { job_id: number }) => j.job_id).sort()).toEqual([1, 3]);
    expect((await as(s.ann, 'GET', '/api/v1/alerts')).json().items.map((a: { labels: { alertname: string } }) => a.labels.alertname)).toEqual(['a_alert']);
    expect((await as(s.op, 'GET', '/api/v1/alerts')).json().items).toHaveLength(3);
    // Exports in the text formats (Parquet and Avro may compress a canary out of sight): A's runs, none of B's.
    for (const format of ['csv', 'json', 'ndjson']) {
      const res = await as(s.ann, 'GET', `/api/v1/export/history?format=${format}`);
      expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
      expect(res.body).toContain('a-run');
      expect(leaks(res.body), `${format} export`).toBe(false);
    }
    expect(leaks((await as(s.ann, 'GET', '/api/v1/quotas?tenant=bravo')).body)).toBe(false);
    expect(s.routes.map((r) => r.url)).toContain('/api/v1/quotas/history');
    expect(leaks((await as(s.ann, 'GET', '/api/v1/quotas/history?tenant=bravo')).body)).toBe(false);
  });

  it('sees its own rows, shared nodes and partitions without B in them, and the checks are for operators', async () => {
    const jobs = (await as(s.ann, 'GET', '/api/v1/jobs')).json() as { items: { cluster: string; id: number }[] };
    expect(jobs.items.map((j) => `${j.cluster}/${j.id}`).sort()).toEqual(['alpha-cluster/1', 'shared/3']);
    expect((await as(s.ann, 'GET', '/api/v1/jobs/shared/4')).statusCode).toBe(404);
    const partitions = (await as(s.ann, 'GET', '/api/v1/partitions?cluster=shared')).json() as { items: { allowed_accounts: string[] }[] };
    expect(partitions.items).toEqual([expect.objectContaining({ allowed_accounts: ['alpha-main'] })]);
    const clusters = (await as(s.ann, 'GET', '/api/v1/clusters')).json() as { items: { name: string; jobs: number }[]; fleet?: unknown };
    expect(clusters.items.map((c) => `${c.name}:${c.jobs}`).sort()).toEqual(['alpha-cluster:1', 'shared:1']);
    // strict: not even the fleet's size (isolation_mode shared adds it as counts).
    expect(clusters.fleet).toBeUndefined();
    // limit counts A's events, applied after the tenant filter.
    expect((await as(s.ann, 'GET', '/api/v1/events?limit=2&type=controller_down')).json().items.map((e: { cluster: string }) => e.cluster)).toEqual(['alpha-cluster', 'shared']);
    const audit = (await as(s.ann, 'GET', '/api/v1/audit?action=jobs:*&limit=1')).json() as { items: { user: string }[] };
    expect(audit.items).toEqual([expect.objectContaining({ user: 'ann' })]);
    expect((await as(s.ann, 'GET', '/api/v1/clusters')).headers['x-sfleet-stale-clusters']).toBe('alpha-cluster');
    // /metrics: A's own accounts only; not B's, not a shared cluster's whole count, not the hub's own series
    const metrics = await as(s.ann, 'GET', '/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toBe('sfleet_account_jobs{cluster="shared",account="alpha-ml"} 2\n');
    expect((await as(s.ann, 'GET', '/api/v1/auth/whoami')).json().tenant).toEqual({ name: 'alpha', via: 'user ann matches "ann"' });
    // Public: ready or not; an operator also gets the checks.
    expect((await s.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });
    expect((await as(s.op, 'GET', '/readyz')).json().checks).toMatchObject({ etcd: 'ok' });
    expect((await as(s.op, 'GET', '/api/v1/jobs')).json().items).toHaveLength(4);
    expect((await as(s.ann, 'GET', '/api/v1/quotas')).json().items.map((t: { tenant: string }) => t.tenant)).toEqual(['alpha']);
    expect((await as(s.op, 'GET', '/api/v1/quotas')).json().items.map((t: { tenant: string }) => t.tenant)).toEqual(['alpha', 'bravo']);
    // The history likewise: the operator sees both tenants' series, ann only alpha's, whatever she names.
    const tenantsOf = async (token: string, url: string) => [...new Set((await as(token, 'GET', url)).json().items.map((t: { tenant: string }) => t.tenant))];
    expect(await tenantsOf(s.op, '/api/v1/quotas/history')).toEqual(['alpha', 'bravo']);
    expect(await tenantsOf(s.ann, '/api/v1/quotas/history')).toEqual(['alpha']);
    expect(await tenantsOf(s.ann, '/api/v1/quotas/history?tenant=bravo')).toEqual([]);
    // A tenant A is not in: refused, in the same words as a tenant that does not exist.
    const other = await s.app.inject({ method: 'GET', url: '/api/v1/jobs', headers: { authorization: `Bearer ${s.ann}`, 'x-sfleet-tenant': 'bravo' } });
    expect(other.statusCode).toBe(403);
    expect(other.json().detail).toBe('ann is not a member of tenant "bravo" (member of: alpha)');
  });

  it('the SSE watch stream carries A\'s changes and nothing of B', async () => {
    await s.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = s.app.server.address() as { port: number };
    let text = '';
    const req = httpRequest({ host: '127.0.0.1', port, path: '/api/v1/watch', headers: { authorization: `Bearer ${s.ann}` } });
    let subscribed!: () => void;
    const open = new Promise<void>((resolve) => (subscribed = resolve));
    const done = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          // The stream's first comment is written once it is subscribed.
          if (text.includes(': watching since')) subscribed();
          if (text.includes('a-job-late')) resolve();
        });
      });
      req.on('error', reject);
    });
    req.end();
    await open;
    // B's changes first, then A's: the stream is in order, so B's would have arrived before A's marker.
    s.state.apply(jobDelta([bJob(5, B_CLUSTER), bJob(6, 'shared')], { cluster: 'shared', seq: 2 }));
    s.state.apply(jobDelta([{ ...aJob(7, 'shared'), name: 'a-job-late' }], { cluster: 'shared', seq: 3 }));
    await done;
    req.destroy();
    expect(text).toContain('a-job');
    expect(leaks(text), text.slice(0, 2000)).toBe(false);
  });

  it('the gRPC reads and the gRPC watch stream carry nothing of B', async () => {
    const unary = (method: 'listClusters' | 'listJobs' | 'listNodes' | 'listPartitions' | 'getJob', req: object) =>
      new Promise<string>((resolve) => {
        void (s.grpc[method] as (call: unknown, cb: (err: unknown, value: unknown) => void) => void)(grpcCall(s.ann, req), (err, value) => resolve(JSON.stringify(err ?? value)));
      });
    expect(await unary('listJobs', {})).toContain('a-job');
    for (const [method, req] of [['listClusters', {}], ['listJobs', {}], ['listNodes', {}], ['listPartitions', {}], ['getJob', { cluster: 'shared', id: 4 }], ['getJob', { cluster: 'shared', id: 3 }]] as const) {
      const out = await unary(method, req);
      expect(leaks(out), `${method}: ${out.slice(0, 300)}`).toBe(false);
    }
    const written: unknown[] = [];
    const call = Object.assign(grpcCall(s.ann, { kinds: '' }), { write: (m: unknown) => written.push(m), on: () => undefined, emit: (_e: string, err: unknown) => written.push(err) });
    await (s.grpc.watch as unknown as (c: unknown) => Promise<void>)(call);
    s.state.apply(jobDelta([bJob(8, 'shared'), { ...aJob(9, 'shared'), name: 'a-job-grpc' }], { cluster: 'shared', seq: 4 }));
    expect(JSON.stringify(written)).toContain('a-job-grpc');
    expect(leaks(JSON.stringify(written))).toBe(false);
  });

  it("naming B's cluster, job, node, user or account answers exactly as naming one that does not exist, on every route and the gRPC reads", async () => {
    // A job of B's on the shared cluster A sees, with an id no other text contains.
    s.state.apply(jobDelta([bJob(777001, 'shared')], { cluster: 'shared', seq: 5 }));
    const named = { cluster: B_CLUSTER, id: '777001', name: B_USER, account: B_ACCOUNT };
    const none = { cluster: 'nosuch-cluster', id: '777999', name: 'nosuch-user', account: 'nosuch-acct' };
    const answer = async (method: string, url: string) => {
      const res = await s.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${s.ann}` }, ...(method === 'POST' || method === 'PUT' ? { payload: { reason: 'walk' } } : {}) });
      // The names differ in length, so the lengths differ too.
      const { 'x-request-id': _id, date: _date, 'content-length': _length, ...headers } = res.headers;
      return { status: res.statusCode, text: `${res.body}\n${JSON.stringify(headers)}` };
    };
    /** The answer to B's names with each put back as the made-up one: equal to the made-up answer when nothing of B shows. */
    const unname = (text: string, on: Record<string, string>) => Object.keys(named).reduce((t, k) => t.split(named[k as keyof typeof named]).join(on[k as keyof typeof none]), text);
    let compared = 0;
    for (const route of s.routes) {
      if (route.url === '/api/v1/watch') continue;
      const fill = (v: Record<string, string>, cluster: string) => route.url.replace(':cluster', cluster).replace(':id', v.id).replace(':name', v.name);
      const pairs: [string, string][] = [[fill(named, named.cluster), fill(none, none.cluster)], [fill(named, 'shared'), fill(none, 'shared')]];
      if (route.method === 'GET' && route.url.startsWith('/api/v1/') && !route.url.includes(':')) {
        for (const key of ['cluster', 'account', 'user'] as const) {
          const k = key === 'user' ? 'name' : key;
          pairs.push([`${route.url}?${key}=${named[k]}`, `${route.url}?${key}=${none[k]}`]);
        }
      }
      for (const [b, made] of pairs) {
        if (b === made) continue;
        const [seen, baseline] = [await answer(route.method, b), await answer(route.method, made)];
        compared++;
        expect(seen.status, `${route.method} ${b}`).toBe(baseline.status);
        expect(unname(seen.text, none), `${route.method} ${b}`).toBe(baseline.text);
      }
    }
    expect(compared).toBeGreaterThan(20);
    const getJob = (cluster: string, id: number) =>
      new Promise<string>((resolve) => {
        void (s.grpc.getJob as (call: unknown, cb: (err: unknown, value: unknown) => void) => void)(grpcCall(s.ann, { cluster, id }), (err, value) => resolve(JSON.stringify(err ?? value)));
      });
    for (const [cluster, madeCluster] of [['shared', 'shared'], [named.cluster, none.cluster]]) {
      expect(unname(await getJob(cluster, 777001), none)).toBe(await getJob(madeCluster, 777999));
    }
  });
});
