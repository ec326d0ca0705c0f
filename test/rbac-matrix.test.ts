// The RBAC matrix against a real hub process: every endpoint of its own route table (read from
// openapi.json, so a new route is in the matrix the day it is added) x every caller kind x two
// tenants (accounts research and physics), over REST, the SSE watch stream and gRPC.
// The expectations come from the role table below, written from the hub config this test
// writes: a role's grants, and the tenant its row filter pins it to.
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { FleetServiceClient, type ListClustersRequest, type ListClustersResponse, type ListJobsResponse, type WatchEvent } from '../generated/fleet/v1/fleet.js';
import { registerAuditDir, registerSecret, testLogger } from './harness/run-logs.js';
import { grpcClientCredentials } from '../shared/tls/index.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, keepCliStderr, SFLEET, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';

interface Caller {
  /** A bearer token, or client certificate files. */
  token?: string;
  cert?: { cert: string; key: string };
  /** May it do "resource:verb"? (auth:self is everyone's.) */
  grants: (permission: string) => boolean;
  /** The account its row filter pins it to: undefined = every row; '' = a missing attribute, no rows. */
  tenant?: string;
}

const JOBS = [
  { cluster: 'east', id: 1, account: 'research' },
  { cluster: 'east', id: 2, account: 'physics' },
  { cluster: 'east', id: 3, account: 'research' },
  { cluster: 'west', id: 10, account: 'physics' },
  { cluster: 'west', id: 11, account: 'research' },
];

const RBAC = {
  roles: {
    cluster_admin: { permissions: ['cluster:*', 'jobs:*', 'nodes:*', 'watch:read', 'hub:read', 'metrics:read', 'openapi:read', 'auth:impersonate', 'backup:read'] },
    project_manager: { permissions: ['jobs:read,create,cancel', 'jobs:export', 'nodes:read', 'clusters:read', 'watch:read'], filters: { account: '${user.project}' } },
    readonly_user: { permissions: ['jobs:read', 'nodes:read'] },
  },
  bindings: [
    { client: 'ops', role: 'cluster_admin' },
    { service: 'reader', role: 'readonly_user' },
  ],
};

const pmGrants = (p: string): boolean => ['jobs:read', 'jobs:create', 'jobs:cancel', 'jobs:export', 'nodes:read', 'cluster:read', 'watch:read'].includes(p);

let pki: TestPki;
let dir: string;
let hubProc: SfleetProcess;
let httpUrl: string;
let grpcAddress: string;
const sources = { east: new ScriptedSource('east'), west: new ScriptedSource('west') };
const agents: RunningAgent[] = [];
const callers: Record<string, Caller> = {};

function call(caller: Caller, method: string, path: string, body?: unknown): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${httpUrl}${path}`,
      {
        method,
        ca: readFileSync(pki.ca),
        ...(caller.cert ? { cert: readFileSync(caller.cert.cert), key: readFileSync(caller.cert.key) } : {}),
        headers: { ...(caller.token ? { authorization: `Bearer ${caller.token}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
        minVersion: 'TLSv1.3',
      },
      (res) => {
        const type = String(res.headers['content-type'] ?? '');
        // The watch stream never ends: its status and type are the answer.
        if (type.startsWith('text/event-stream')) {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: '', type });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), type }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function json<T>(caller: Caller, path: string): Promise<T> {
  const res = await call(caller, 'GET', path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as T;
}

async function createToken(name: string, args: string[]): Promise<string> {
  const out = await sfleet(['token', 'create', '--name', name, ...args, '--data-dir', join(dir, 'data')], { PATH: process.env.PATH, HOME: dir });
  const token = out.trim().split('\n').pop()!;
  registerSecret(token, `API token ${name} (rbac-matrix)`);
  return token;
}

/** The CLI's exit code and output, for commands whose "no" is an exit code. */
function sfleetStatus(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SFLEET, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      keepCliStderr(args, stderr);
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

function visibleJobs(caller: Caller): string[] {
  return JOBS.filter((j) => caller.tenant === undefined || j.account === caller.tenant)
    .sort((a, b) => (a.cluster !== b.cluster ? (a.cluster < b.cluster ? -1 : 1) : a.id - b.id))
    .map((j) => `${j.cluster}/${j.id}`);
}

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  dir = mkdtempSync(join(tmpdir(), `rbac-matrix-${process.pid}-`));
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  httpUrl = `https://127.0.0.1:${httpPort}`;
  grpcAddress = `127.0.0.1:${grpcPort}`;
  writeFileSync(
    join(dir, 'hub.yaml'),
    stringify({ listen: { http: `127.0.0.1:${httpPort}`, grpc: grpcAddress }, tls: pki.hub, data_dir: join(dir, 'data'), log_level: 'warn', rbac: RBAC }),
  );
  // Tokens before the hub starts: it reads tokens.json as it is.
  callers['pm-research'] = { token: await createToken('pm-research', ['--role', 'project_manager', '--attr', 'project=research']), grants: pmGrants, tenant: 'research' };
  callers['pm-physics'] = { token: await createToken('pm-physics', ['--role', 'project_manager', '--attr', 'project=physics']), grants: pmGrants, tenant: 'physics' };
  callers['pm-no-project'] = { token: await createToken('pm-no-project', ['--role', 'project_manager']), grants: pmGrants, tenant: '' };
  callers.reader = { token: await createToken('reader', []), grants: (p) => ['jobs:read', 'nodes:read'].includes(p) };
  callers.unbound = { token: await createToken('unbound', []), grants: () => false };
  callers.ops = { cert: await pki.issue('client', 'ops'), grants: (p) => /^(cluster|jobs|nodes):/.test(p) || RBAC.roles.cluster_admin.permissions.includes(p) };
  callers.stranger = { cert: pki.client, grants: () => false };
  callers.peer = { cert: pki.hub, grants: (p) => ['cluster:read', 'jobs:read', 'nodes:read', 'hub:read', 'hub:forward'].includes(p) };

  registerAuditDir(join(dir, 'data', 'audit'));
  hubProc = new SfleetProcess(['hub', '--config', join(dir, 'hub.yaml')], join(dir, 'hub.log')).start();
  await waitFor('hub ready', async () => (await call({ grants: () => false }, 'GET', '/readyz')).status === 200, 30_000);

  for (const cluster of ['east', 'west'] as const) {
    sources[cluster].model.job = JOBS.filter((j) => j.cluster === cluster).map((j) => makeJob(cluster, j.id, { account: j.account, state: 'RUNNING' }));
    sources[cluster].model.node = [makeNode(cluster, cluster === 'east' ? 'e1' : 'w1', { partitions: ['batch'] })];
    agents.push(
      await startTestAgent(
        { cluster, endpoints: [grpcAddress], tls: await pki.agent(cluster), spoolDir: mkdtempSync(join(dir, `spool-${cluster}-`)) },
        { logger: testLogger('rbac-matrix'), source: sources[cluster] },
      ),
    );
  }
  await waitFor('jobs at the hub', async () => (await json<{ items: unknown[] }>(callers.ops, '/api/v1/jobs')).items.length === JOBS.length);
}, 90_000);

afterAll(async () => {
  for (const a of agents) await a.close();
  await hubProc?.kill('SIGTERM');
});

describe('RBAC matrix over REST: every route x caller x tenant', () => {
  it('walks the route table: allowed routes answer, others 403 with the reason; a tenant gets 404 for the other tenant\'s job', async () => {
    const spec = await json<{ paths: Record<string, Record<string, { 'x-permission'?: string; security: unknown[] }>> }>(callers.ops, '/api/v1/openapi.json');
    const routes = Object.entries(spec.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), permission: op['x-permission'], public: op.security.length === 0 })));
    expect(routes.length).toBeGreaterThan(20);
    let checked = 0;
    for (const route of routes) {
      if (route.public) continue;
      expect(route.permission, `${route.method} ${route.path}`).toBeTruthy();
      // A job of each tenant for routes that name one; other parameters get a real object.
      const jobs = route.path.includes('{id}') ? [JOBS[0], JOBS[1]] : [undefined];
      for (const job of jobs) {
        const url = route.path
          .replace('{cluster}', job?.cluster ?? 'east')
          .replace('{id}', String(job?.id ?? 1))
          .replace('{name}', 'e1')
          .replace('/auth/can-i', '/auth/can-i?verb=read&resource=jobs')
          // Exports need a format; past the gate they answer 200 with a file.
          .replace(/^(\/api\/v1\/export\/.*)$/, '$1?format=ndjson');
        for (const [who, caller] of Object.entries(callers)) {
          const executedBefore = sources.east.executed.length;
          const res = await call(caller, route.method, url, route.method === 'POST' ? { reason: 'rbac matrix' } : undefined);
          const label = `${who} ${route.method} ${url} (${route.permission})`;
          const allowed = route.permission === 'auth:self' || caller.grants(route.permission!);
          const hidden = job && caller.tenant !== undefined && job.account !== caller.tenant;
          if (!allowed) {
            expect(res.status, label).toBe(403);
            expect(res.type, label).toContain('application/problem+json');
            expect(JSON.parse(res.body).detail, label).toContain(`may not ${route.permission!.split(':')[1]} ${route.permission!.split(':')[0]}`);
          } else if (hidden) {
            expect(res.status, label).toBe(404);
          } else if (/^\/api\/v1\/(alerts|silences)\/|^\/api\/v2\/alerts$/.test(route.path) && route.method !== 'GET') {
            // Past the gate, alerting's own checks answer: no such alert, silence or channel, or
            // a body that is not a silence or an array of alerts (400/404), never a policy refusal.
            expect([400, 404], label).toContain(res.status);
            expect(JSON.parse(res.body).code, label).not.toBe('SF_AUTH_FORBIDDEN');
          } else if (route.path.startsWith('/api/v1/forwarded-commands/')) {
            // A hub certificate past the gate: the matrix body is no command, so the route's own
            // check answers 400, never a policy refusal, and nothing reaches the agent.
            expect(res.status, label).toBe(400);
            expect(sources.east.executed.length, label).toBe(executedBefore);
          } else if (route.method === 'POST' && route.path === '/api/v1/jobs/{cluster}') {
            // Submission past the gate: the matrix body is no job spec, so submit's own checks
            // answer 400, never a policy refusal, and nothing reaches the agent.
            expect(res.status, label).toBe(400);
            expect(JSON.parse(res.body).code, label).not.toBe('SF_AUTH_FORBIDDEN');
          } else if (route.path.startsWith('/api/v1/backups')) {
            // Past the gate (backup:read for cluster_admin): this hub has no backup section, so
            // the backup room answers 503, never a policy refusal.
            expect(res.status, label).toBe(503);
            expect(JSON.parse(res.body).code, label).toBe('SF_BACKUP_NOT_CONFIGURED');
          } else if (route.path.startsWith('/api/v1/auth/webauthn/')) {
            // Past the gate, the route's own checks answer (the matrix body is not a WebAuthn
            // answer, and this hub enables no security keys): a 400, never a policy refusal.
            expect(res.status, label).toBe(400);
            expect(JSON.parse(res.body).code, label).not.toBe('SF_AUTH_FORBIDDEN');
          } else {
            expect(res.status, label).toBe(200);
          }
          // A refused command never reaches the agent.
          if (route.method === 'POST' && (!allowed || hidden)) expect(sources.east.executed.length, label).toBe(executedBefore);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(150);
  }, 120_000);

  it('lists and counts show each tenant only its own rows', async () => {
    for (const [who, caller] of Object.entries(callers)) {
      if (!caller.grants('jobs:read')) continue;
      const jobs = await json<{ items: { cluster: string; id: number }[] }>(caller, '/api/v1/jobs');
      expect(jobs.items.map((j) => `${j.cluster}/${j.id}`), who).toEqual(visibleJobs(caller));
      // An explicit filter for the other tenant finds nothing, rather than widening.
      if (caller.tenant) {
        const otherAccount = caller.tenant === 'physics' ? 'research' : 'physics';
        expect((await json<{ items: unknown[] }>(caller, `/api/v1/jobs?account=${otherAccount}`)).items, who).toEqual([]);
      }
      const nodes = await json<{ items: { name: string }[] }>(caller, '/api/v1/nodes');
      expect(nodes.items.map((n) => n.name), who).toEqual(['e1', 'w1']);
      // The bulk export under the same row filter (its own verb, jobs:export), with its row count.
      if (caller.grants('jobs:export')) {
        const res = await call(caller, 'GET', '/api/v1/export/jobs?format=ndjson');
        const rows = res.body.trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { cluster: string; id: number });
        expect(rows.map((j) => `${j.cluster}/${j.id}`).sort(), who).toEqual([...visibleJobs(caller)].sort());
      }
    }
    for (const [who, caller] of Object.entries(callers)) {
      if (!caller.grants('cluster:read')) continue;
      const clusters = await json<{ items: { name: string; jobs: number; nodes: number }[] }>(caller, '/api/v1/clusters');
      const expected = ['east', 'west'].map((c) => ({ name: c, jobs: visibleJobs(caller).filter((j) => j.startsWith(`${c}/`)).length, nodes: 1 }));
      expect(clusters.items.map((c) => ({ name: c.name, jobs: c.jobs, nodes: c.nodes })), who).toEqual(expected);
    }
  });

  it('sfleet auth can-i explains the decision, exits 1 when denied, and --as needs auth:impersonate', async () => {
    const env = { PATH: process.env.PATH, HOME: dir, SFLEET_HUB: httpUrl, SFLEET_CA: pki.ca };
    const pm = { ...env, SFLEET_TOKEN: callers['pm-research'].token };
    const yes = await sfleet(['auth', 'can-i', 'cancel', 'jobs'], pm);
    expect(yes.split('\n')[0]).toBe('yes');
    expect(yes).toContain('pm-research (service) may cancel jobs: jobs:read,create,cancel of role project_manager via the credential\'s own roles (token); rows where account is research');
    const json = JSON.parse(await sfleet(['auth', 'can-i', 'read', 'clusters', '-o', 'json'], pm));
    expect(json).toMatchObject({ allowed: true, permission: 'cluster:read', filters: [{ account: ['research'] }] });
    const no = await sfleetStatus(['auth', 'can-i', 'drain', 'nodes'], pm);
    expect(no.code).toBe(1);
    expect(no.stdout).toMatch(/^no\npm-research \(service\) may not drain nodes: no role it holds grants nodes:drain \(roles: project_manager via the credential's own roles \(token\)\)/);
    await expect(sfleet(['auth', 'can-i', 'read', 'jobs', '--as', 'service:reader'], pm)).rejects.toThrow(/pm-research \(service\) may not impersonate auth/);
    const ops = { ...env, SFLEET_CERT: callers.ops.cert!.cert, SFLEET_KEY: callers.ops.cert!.key };
    const asReader = await sfleetStatus(['auth', 'can-i', 'cancel', 'jobs', '--as', 'service:reader', '-o', 'json'], ops);
    expect(asReader.code).toBe(1);
    expect(JSON.parse(asReader.stdout)).toMatchObject({ allowed: false, roles: [{ role: 'readonly_user', via: 'token reader' }] });
    const whoami = await sfleet(['auth', 'whoami'], ops);
    expect(whoami).toContain('ops (client, mtls)');
    expect(whoami).toContain('cluster_admin via client certificate ops');
  });
});

describe('RBAC on the watch stream and gRPC', () => {
  function watchSse(caller: Caller, seen: string[]): () => void {
    const req = request(`${httpUrl}/api/v1/watch?kinds=job`, { ca: readFileSync(pki.ca), headers: { authorization: `Bearer ${caller.token}` }, minVersion: 'TLSv1.3' }, (res) => {
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString('utf8');
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (type && data) seen.push(`${type} ${(JSON.parse(data) as { cluster: string; id: string }).cluster}/${(JSON.parse(data) as { id: string }).id}`);
        }
      });
    });
    req.on('error', () => {});
    req.end();
    return () => req.destroy();
  }

  function grpcClient(caller: Caller): { client: FleetServiceClient; md: Metadata } {
    const md = new Metadata();
    if (caller.token) md.set('authorization', `Bearer ${caller.token}`);
    const cert = caller.cert ?? pki.client;
    // A token caller still speaks TLS; its certificate is ignored once a bearer token is sent.
    return { client: new FleetServiceClient(grpcAddress, grpcClientCredentials({ ca: readFileSync(pki.ca), cert: readFileSync(cert.cert), key: readFileSync(cert.key) })), md };
  }

  const unaryCall = <Req, Res>(fn: (req: Req, md: Metadata, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req, md: Metadata): Promise<Res> =>
    new Promise((resolve, reject) => fn(req, md, (err, res) => (err ? reject(err) : resolve(res))));

  it('each tenant hears only its own jobs on the SSE watch and the gRPC Watch, removals included', async () => {
    const research: string[] = [];
    const physics: string[] = [];
    const stops = [watchSse(callers['pm-research'], research), watchSse(callers['pm-physics'], physics)];
    const grpcSeen: string[] = [];
    const { client, md } = grpcClient(callers['pm-research']);
    const stream = client.watch({ cluster: '', kinds: 'job', since: 0 }, md);
    stream.on('data', (e: WatchEvent) => grpcSeen.push(`${e.type} ${e.cluster}/${e.object_id}`));
    stream.on('error', () => {});
    await new Promise((r) => setTimeout(r, 500));
    sources.east.model.job.push(makeJob('east', 4, { account: 'physics' }), makeJob('east', 5, { account: 'research' }));
    sources.east.model.job = sources.east.model.job.filter((j) => j.id !== 3);
    await waitFor('both tenants heard their changes', () => research.length >= 2 && physics.length >= 1 && grpcSeen.length >= 2);
    // A further change proves nothing else was queued before it.
    sources.west.model.job.push(makeJob('west', 12, { account: 'research' }));
    await waitFor('the last change', () => research.includes('upsert west/12') && grpcSeen.includes('upsert west/12'));
    expect(research.sort()).toEqual(['remove east/3', 'upsert east/5', 'upsert west/12']);
    expect(physics).toEqual(['upsert east/4']);
    expect(grpcSeen.sort()).toEqual(['remove east/3', 'upsert east/5', 'upsert west/12']);
    stream.cancel();
    client.close();
    for (const stop of stops) stop();
    JOBS.push({ cluster: 'east', id: 4, account: 'physics' }, { cluster: 'east', id: 5, account: 'research' }, { cluster: 'west', id: 12, account: 'research' });
    JOBS.splice(JOBS.findIndex((j) => j.id === 3), 1);
  });

  it('every FleetService method: allowed, PERMISSION_DENIED or NOT_FOUND for the other tenant, lists and counts filtered', async () => {
    for (const [who, caller] of Object.entries(callers)) {
      const { client, md } = grpcClient(caller);
      const outcome = async (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: ServiceError) => (e.code === 7 ? 'denied' : e.code === 5 ? 'not found' : `code ${e.code}: ${e.details}`));
      const own = JOBS.find((j) => caller.tenant === undefined || j.account === caller.tenant);
      const other = JOBS.find((j) => caller.tenant !== undefined && j.account !== caller.tenant);
      const expectFor = (permission: string, hidden = false): string => (caller.grants(permission) ? (hidden ? 'not found' : 'ok') : 'denied');
      expect(await outcome(unaryCall(client.listClusters.bind(client), {}, md)), who).toBe(expectFor('cluster:read'));
      expect(await outcome(unaryCall(client.listPartitions.bind(client), { cluster: '' }, md)), who).toBe(expectFor('cluster:read'));
      expect(await outcome(unaryCall(client.listNodes.bind(client), { cluster: '', state: '', partition: '', limit: 0, cursor: '' }, md)), who).toBe(expectFor('nodes:read'));
      const jobsReq = { cluster: '', state: '', user: '', account: '', partition: '', node: '', limit: 0, cursor: '' };
      expect(await outcome(unaryCall(client.listJobs.bind(client), jobsReq, md)), who).toBe(expectFor('jobs:read'));
      if (own) expect(await outcome(unaryCall(client.getJob.bind(client), { cluster: own.cluster, id: own.id }, md)), who).toBe(expectFor('jobs:read'));
      if (other) {
        expect(await outcome(unaryCall(client.getJob.bind(client), { cluster: other.cluster, id: other.id }, md)), who).toBe(expectFor('jobs:read', true));
        expect(await outcome(unaryCall(client.runCommand.bind(client), { cluster: other.cluster, kind: 'cancel', target: String(other.id), reason: '' }, md)), who).toBe(expectFor('jobs:cancel', true));
      }
      expect(await outcome(unaryCall(client.runCommand.bind(client), { cluster: 'east', kind: 'drain', target: 'e1', reason: 'rbac' }, md)), who).toBe(expectFor('nodes:drain'));
      const watchOutcome = await new Promise<string>((resolve) => {
        const s = client.watch({ cluster: '', kinds: 'job', since: 0 }, md);
        s.on('error', (e: ServiceError) => resolve(e.code === 7 ? 'denied' : e.code === 1 ? 'ok' : `code ${e.code}`));
        setTimeout(() => s.cancel(), 300);
      });
      expect(watchOutcome, who).toBe(expectFor('watch:read'));
      if (caller.grants('jobs:read')) {
        const res = await unaryCall<typeof jobsReq, ListJobsResponse>(client.listJobs.bind(client), jobsReq, md);
        expect(res.jobs.map((j) => `${j.cluster}/${j.id}`), who).toEqual(visibleJobs(caller));
      }
      if (caller.grants('cluster:read')) {
        const res = await unaryCall<ListClustersRequest, ListClustersResponse>(client.listClusters.bind(client), {}, md);
        expect(res.clusters.map((c) => c.jobs), who).toEqual(['east', 'west'].map((c) => visibleJobs(caller).filter((j) => j.startsWith(`${c}/`)).length));
      }
      client.close();
    }
  });
});
