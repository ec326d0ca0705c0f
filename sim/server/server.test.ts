import { afterEach, describe, expect, it } from 'vitest';
import { startSimulatedFleet, startSimulator, type RunningSimulator, type StartSimulatorOptions } from '../index.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const H = { 'X-SLURM-USER-NAME': 'root', 'X-SLURM-USER-TOKEN': 'any' };

const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.allSettled(running.splice(0).map((s) => s.close()));
});

function fakeClock() {
  let t = T0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function sim(over: Partial<StartSimulatorOptions> = {}) {
  const clock = fakeClock();
  const lines: string[] = [];
  const s = await startSimulator({
    listen: '127.0.0.1:0',
    cluster: 'srv',
    nodes: 8,
    jobs: 40,
    apiVersion: 'v0.0.41',
    tickMs: 0,
    arrivalPerMin: 0,
    nodeFailurePerHour: 0,
    clock,
    log: (l) => lines.push(l),
    ...over,
  });
  running.push(s);
  return { s, clock, lines };
}

async function get(s: RunningSimulator, path: string, headers: Record<string, string> = H): Promise<Response> {
  return fetch(s.url + path, { headers });
}

async function send(s: RunningSimulator, method: string, path: string, body?: unknown, headers: Record<string, string> = H): Promise<Response> {
  return fetch(s.url + path, {
    method,
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('sim server: slurmrestd behaviour', () => {
  it('lists only its own version in /openapi/v3 and 404s (text/plain) everything else', async () => {
    const { s } = await sim();
    const doc = (await (await get(s, '/openapi/v3')).json()) as { paths: Record<string, unknown> };
    const keys = Object.keys(doc.paths);
    expect(keys).toContain('/slurm/v0.0.41/jobs/');
    expect(keys).toContain('/slurmdb/v0.0.41/qos/');
    expect(keys.filter((k) => !k.startsWith('/sim/')).every((k) => k.includes('/v0.0.41/'))).toBe(true);
    for (const path of ['/slurm/v0.0.40/jobs', '/slurm/v0.0.41/nope', '/slurmdb/v0.0.44/qos', '/']) {
      const res = await get(s, path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toBe('text/plain');
      expect(await res.text()).toMatch(/^Unable find requested URL/);
    }
    expect((await get(s, '/slurm/v0.0.41/jobs')).status).toBe(200);
    expect((await get(s, '/slurm/v0.0.41/jobs/')).status).toBe(200);
  });

  it('answers 401 "Authentication failure" without the JWT headers, or with a wrong token; never logs the token', async () => {
    const open = await sim();
    const res = await get(open.s, '/slurm/v0.0.41/ping', {});
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(await res.text()).toBe('Authentication failure');
    expect((await get(open.s, '/slurm/v0.0.41/ping', { 'X-SLURM-USER-NAME': 'root' })).status).toBe(401);

    const secret = 'tok-3f9a1c77-secret';
    const locked = await sim({ token: secret });
    expect((await get(locked.s, '/slurm/v0.0.41/ping')).status).toBe(401);
    expect((await get(locked.s, '/slurm/v0.0.41/ping', { 'X-SLURM-USER-NAME': 'root', 'X-SLURM-USER-TOKEN': secret })).status).toBe(200);
    expect((await get(locked.s, '/sim/v1/state', {})).status).toBe(401);
    expect(locked.lines.join('\n')).not.toContain(secret);
    expect(locked.lines).toHaveLength(1);
  });

  it('answers jobs?update_time=T and partitions?update_time=T with 304 and no body when nothing changed since T', async () => {
    const { s, clock } = await sim();
    const e = s.engine;
    const T = e.lastUpdate.jobs;
    const fresh = await get(s, `/slurm/v0.0.41/jobs?update_time=${T + 1}`);
    expect(fresh.status).toBe(304);
    expect(fresh.headers.get('content-type')).toBeNull();
    expect(await fresh.text()).toBe('');
    expect((await get(s, `/slurm/v0.0.41/jobs?update_time=${T}`)).status).toBe(200);
    expect((await get(s, `/slurm/v0.0.41/jobs?update_time=0`)).status).toBe(200);
    expect((await get(s, `/slurm/v0.0.41/jobs?update_time=abc`)).status).toBe(400);
    // a change one second later: the old T now gets the full list
    clock.advance(1000);
    const created = await send(s, 'POST', '/sim/v1/jobs', { user: 'bob', cpus: 1, duration_s: 60 });
    expect(created.status).toBe(201);
    const res = await get(s, `/slurm/v0.0.41/jobs?update_time=${T + 1}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { last_update: { number: number }; jobs: unknown[] };
    expect(body.last_update.number).toBe(T + 1);
    expect(body.jobs.length).toBe(e.jobCount);
    const P = e.lastUpdate.partitions;
    expect((await get(s, `/slurm/v0.0.41/partitions?update_time=${P + 1}`)).status).toBe(304);
    expect((await get(s, `/slurm/v0.0.41/partitions?update_time=${P}`)).status).toBe(200);
  });

  it('v0.0.38: nodes?update_time gives 22.05’s 500 when nodes changed but partitions did not', async () => {
    const { s, clock } = await sim({ apiVersion: 'v0.0.38' });
    const T = s.engine.lastUpdate.nodes + 1;
    expect((await get(s, `/slurm/v0.0.38/nodes?update_time=${T}`)).status).toBe(304);
    clock.advance(2000);
    s.engine.drain('cn003', 'test');
    const res = await get(s, `/slurm/v0.0.38/nodes?update_time=${T}`);
    expect(res.status).toBe(500);
    const body = (await res.json()) as { errors: unknown[]; nodes: unknown[] };
    expect(body.errors).toEqual([{ error: 'Unspecified error', errno: -1 }]);
    expect(body.nodes).toEqual([]);
    expect((await get(s, '/slurm/v0.0.38/nodes')).status).toBe(200);
    // v0.0.39+ answers normally
    const newer = await sim({ apiVersion: 'v0.0.39' });
    const T2 = newer.s.engine.lastUpdate.nodes + 1;
    newer.clock.advance(2000);
    newer.s.engine.drain('cn003', 'test');
    expect((await get(newer.s, `/slurm/v0.0.39/nodes?update_time=${T2}`)).status).toBe(200);
  });

  it('unknown jobs: v0.0.38 500 + 2017, later versions 404 + 2017', async () => {
    const old = await sim({ apiVersion: 'v0.0.38' });
    const r38 = await get(old.s, '/slurm/v0.0.38/job/999999');
    expect(r38.status).toBe(500);
    expect(((await r38.json()) as { errors: { error_number: number }[] }).errors[0].error_number).toBe(2017);
    const { s } = await sim({ apiVersion: 'v0.0.44' });
    const r44 = await get(s, '/slurm/v0.0.44/job/999999');
    expect(r44.status).toBe(404);
    expect(r44.headers.get('content-type')).toBe('application/json');
    expect(((await r44.json()) as { errors: { error_number: number }[] }).errors[0].error_number).toBe(2017);
  });

  it('holds, releases, sets priority and cancels through the job endpoints', async () => {
    const { s } = await sim({ apiVersion: 'v0.0.44' });
    const id = s.engine.submit({ user: 'alice', cpus: 1, durationS: 600 });
    expect((await send(s, 'POST', `/slurm/v0.0.44/job/${id}`, { hold: true })).status).toBe(200);
    let job = ((await (await get(s, `/slurm/v0.0.44/job/${id}`)).json()) as { jobs: any[] }).jobs[0];
    expect(job.priority.number).toBe(0);
    expect(job.state_reason).toBe('JobHeldUser');
    expect(job.hold).toBe(true);
    expect((await send(s, 'POST', `/slurm/v0.0.44/job/${id}`, { hold: false })).status).toBe(200);
    expect(s.engine.job(id)?.held).toBe('');
    expect((await send(s, 'POST', `/slurm/v0.0.44/job/${id}`, { priority: { set: true, infinite: false, number: 5000 } })).status).toBe(200);
    expect(s.engine.job(id)?.priority).toBe(5000);
    const del = await send(s, 'DELETE', `/slurm/v0.0.44/job/${id}`);
    expect(del.status).toBe(200);
    job = ((await (await get(s, `/slurm/v0.0.44/job/${id}`)).json()) as { jobs: any[] }).jobs[0];
    expect(job.job_state).toEqual(['CANCELLED']);
    // slurmrestd counts cancelling an ended job as done, with a warning
    const again = await send(s, 'DELETE', `/slurm/v0.0.44/job/${id}`);
    expect(again.status).toBe(200);
    const againBody = (await again.json()) as { errors: unknown[]; warnings: { description: string }[] };
    expect(againBody.errors).toEqual([]);
    expect(againBody.warnings[0].description).toMatch(/already sent signal/);
    expect((await send(s, 'DELETE', '/slurm/v0.0.44/job/999999')).status).toBe(404);
    // hold on a finished job is refused the way slurmctld refuses it
    const refused = await send(s, 'POST', `/slurm/v0.0.44/job/${id}`, { hold: true });
    expect(refused.status).toBe(500);
    expect(((await refused.json()) as { errors: { error_number: number }[] }).errors[0].error_number).toBe(2073);
    expect((await send(s, 'POST', `/slurm/v0.0.44/job/${id}`, 'not json')).status).toBe(400);
  });

  it('v0.0.38 has no node update endpoint (404); v0.0.39+ drain and resume through POST /node/{name}', async () => {
    const old = await sim({ apiVersion: 'v0.0.38' });
    const r = await send(old.s, 'POST', '/slurm/v0.0.38/node/cn001', { state: ['DRAIN'], reason: 'x' });
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toBe('text/plain');
    const { s } = await sim({ apiVersion: 'v0.0.41' });
    expect((await send(s, 'POST', '/slurm/v0.0.41/node/cn002', { state: ['DRAIN'], reason: 'bad dimm' })).status).toBe(200);
    let node = ((await (await get(s, '/slurm/v0.0.41/node/cn002')).json()) as { nodes: any[] }).nodes[0];
    expect(node.state).toContain('DRAIN');
    expect(node.reason).toBe('bad dimm');
    expect((await send(s, 'POST', '/slurm/v0.0.41/node/cn002', { state: ['RESUME'] })).status).toBe(200);
    node = ((await (await get(s, '/slurm/v0.0.41/node/cn002')).json()) as { nodes: any[] }).nodes[0];
    expect(node.state).not.toContain('DRAIN');
    expect((await send(s, 'POST', '/slurm/v0.0.41/node/nope', { state: ['DRAIN'] })).status).toBe(500);
    const missing = await get(s, '/slurm/v0.0.41/node/nope');
    expect(missing.status).toBe(200);
    expect(((await missing.json()) as { errors: { error: string }[] }).errors[0].error).toBe('No error');
  });

  it('serves every read endpoint with JSON', async () => {
    const { s } = await sim({ apiVersion: 'v0.0.42' });
    for (const path of ['ping', 'diag', 'jobs', 'nodes', 'partitions', 'partition/debug', 'reservations']) {
      const res = await get(s, `/slurm/v0.0.42/${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      const body = (await res.json()) as { meta: { slurm: { release: string } }; errors: unknown[] };
      expect(body.meta.slurm.release).toBe('24.11.5');
      expect(body.errors).toEqual([]);
    }
    for (const path of ['qos', 'accounts', 'associations']) expect((await get(s, `/slurmdb/v0.0.42/${path}`)).status, path).toBe(200);
  });
});

describe('sim server: /sim/v1 control', () => {
  it('submits jobs, runs commands (requeue included) and reports state', async () => {
    const { s, clock } = await sim({ apiVersion: 'v0.0.38', jobs: 0 });
    const res = await send(s, 'POST', '/sim/v1/jobs', { user: 'carol', account: 'physics', partition: 'batch', name: 'x', cpus: 2, duration_s: 600 });
    expect(res.status).toBe(201);
    const { job_id } = (await res.json()) as { job_id: number };
    s.engine.tick(clock.advance(1000));
    expect(s.engine.job(job_id)?.state).toBe('RUNNING');
    expect((await send(s, 'POST', '/sim/v1/command', { kind: 'requeue', target: String(job_id) })).status).toBe(200);
    expect(s.engine.job(job_id)).toMatchObject({ state: 'PENDING', restartCount: 1 });
    const missing = await send(s, 'POST', '/sim/v1/command', { kind: 'cancel', target: '999999' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ ok: false, errno: 2017 });
    expect((await send(s, 'POST', '/sim/v1/command', { kind: 'explode', target: '1' })).status).toBe(400);
    expect((await send(s, 'POST', '/sim/v1/command', { kind: 'drain', target: 'cn001', reason: 'r' })).status).toBe(200);
    expect((await send(s, 'POST', '/sim/v1/jobs', { user: 'bob', gpus: 1 })).status).toBe(400);
    expect((await send(s, 'POST', '/sim/v1/jobs', { user: 'bob', partition: 'gpu' })).status).toBe(400);
    const state = (await (await get(s, '/sim/v1/state')).json()) as any;
    expect(state).toMatchObject({ cluster: 'srv', api_version: 'v0.0.38', slurm_release: '22.05.8' });
    expect(state.jobs.total).toBe(s.engine.jobCount);
    expect(state.nodes.drain).toBeGreaterThanOrEqual(1);
  });

  it('injects errors, latency, truncation and dropped connections, and clears them', async () => {
    const { s } = await sim();
    const ping = '/slurm/v0.0.41/ping';
    expect((await send(s, 'POST', '/sim/v1/faults', { status: 503 })).status).toBe(200);
    const failed = await get(s, ping);
    expect(failed.status).toBe(503);
    expect(((await failed.json()) as { errors: { error_number: number }[] }).errors[0].error_number).toBe(-1);

    await send(s, 'POST', '/sim/v1/faults', { error_rate: 0.5 });
    const statuses = new Set<number>();
    for (let i = 0; i < 40 && statuses.size < 2; i++) statuses.add((await get(s, ping)).status);
    expect([...statuses].sort()).toEqual([200, 500]);

    await send(s, 'POST', '/sim/v1/faults', { latency_ms: 150 });
    const t = performance.now();
    expect((await get(s, ping)).status).toBe(200);
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);

    await send(s, 'POST', '/sim/v1/faults', { truncate: true });
    await expect(get(s, ping).then((r) => r.text()).then((text) => JSON.parse(text))).rejects.toThrow();
    await expect(get(s, '/slurm/v0.0.41/jobs').then((r) => r.text()).then((text) => JSON.parse(text))).rejects.toThrow();

    await send(s, 'POST', '/sim/v1/faults', { down: true });
    await expect(get(s, ping)).rejects.toThrow();
    expect(((await (await get(s, '/sim/v1/state')).json()) as any).faults).toEqual({ down: true });

    expect((await send(s, 'DELETE', '/sim/v1/faults')).status).toBe(200);
    expect((await get(s, ping)).status).toBe(200);
    const bad = await send(s, 'POST', '/sim/v1/faults', { latency: 5 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/unknown fault "latency"/);
  });
});

describe('sim server: scale and fleet', () => {
  it('streams a large job list that parses whole', async () => {
    const { s } = await sim({ apiVersion: 'v0.0.44', nodes: 200, jobs: 3000 });
    const res = await get(s, '/slurm/v0.0.44/jobs');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { jobs: unknown[] };
    expect(body.jobs.length).toBe(s.engine.jobCount);
  });

  it('starts K clusters on consecutive ports, cycling versions, one log line each', async () => {
    const lines: string[] = [];
    const fleet = await startSimulatedFleet({
      listen: '127.0.0.1:0',
      clusters: 3,
      versions: ['v0.0.38', 'v0.0.44'],
      nodes: 4,
      jobs: 10,
      tickMs: 50,
      log: (l) => lines.push(l),
    });
    running.push(fleet);
    expect(fleet.clusters.map((c) => [c.name, c.apiVersion])).toEqual([
      ['sim-1', 'v0.0.38'],
      ['sim-2', 'v0.0.44'],
      ['sim-3', 'v0.0.38'],
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('sim-2');
    expect(lines[1]).toContain('v0.0.44');
    expect(lines[1]).toContain(fleet.clusters[1].url);
    for (const c of fleet.clusters) {
      const res = await fetch(`${c.url}/slurm/${c.apiVersion}/ping`, { headers: H });
      expect(res.status).toBe(200);
    }
    await expect(startSimulatedFleet({ listen: '127.0.0.1:0', clusters: 1, versions: ['v0.0.37'] })).rejects.toThrow(/unsupported slurmrestd API version/);
    await expect(startSimulator({ listen: 'nohost', cluster: 'x' })).rejects.toThrow(/invalid listen address/);
    const busyPort = new URL(fleet.clusters[0].url).port;
    await expect(startSimulator({ listen: `127.0.0.1:${busyPort}`, cluster: 'clash', nodes: 2, jobs: 0, log: () => {} })).rejects.toThrow(/EADDRINUSE/);
  });
});
