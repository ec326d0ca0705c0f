// The endpoint pool alone (threshold, order, fail back, round robin, events), then behind the
// transport against local HTTP servers, then behind RestSource against two simulators.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetEvent } from '../../../generated/fleet/v1/agent.js';
import { startSimulator, type RunningSimulator } from '../../../sim/index.js';
import { EndpointPool, type LoadBalancing } from './endpoint-pool.js';
import { RestSource } from './rest-source.js';
import { RestTransport } from './transport.js';

const A = 'http://a:6820';
const B = 'http://b:6820';
const C = 'http://c:6820';
const T0 = Date.parse('2026-03-01T12:00:00Z');

function pool(urls: string[], options: Partial<LoadBalancing> = {}) {
  const events: FleetEvent[] = [];
  let n = 0;
  const p = new EndpointPool(urls, { strategy: 'failover', healthCheckIntervalMs: 0, failoverThreshold: 3, ...options }, {
    cluster: 'c1',
    clock: () => T0,
    newId: () => `e${++n}`,
    onEvent: (e) => events.push(e),
  });
  const fail = (i: number, reason = 'ECONNREFUSED') => p.failed(i, p.begin(i), reason);
  const ok = (i: number) => p.succeeded(i, p.begin(i));
  return { p, events, fail, ok };
}

const brief = (events: FleetEvent[]) => events.map((e) => `${e.type}:${e.severity}:${e.attributes.endpoint ?? `${e.attributes.from_endpoint}->${e.attributes.to_endpoint}`}`);

describe('EndpointPool', () => {
  it('marks an endpoint down only after failover_threshold consecutive failures, then fails over with events', () => {
    const { p, events, fail, ok } = pool([A, B]);
    fail(0);
    fail(0);
    ok(0); // a success in between starts the count again
    fail(0);
    fail(0);
    expect(p.active).toBe(A);
    expect(events).toEqual([]);
    fail(0, 'no answer within 2000 ms');
    expect(p.active).toBe(B);
    expect(p.order()).toEqual([1, 0]);
    expect(events).toEqual([
      {
        id: 'e1',
        cluster: 'c1',
        type: 'controller_down',
        severity: 'warning',
        message: 'slurmrestd http://a:6820 is down after 3 consecutive failures (last: no answer within 2000 ms)',
        occurred_at: '2026-03-01T12:00:00.000Z',
        attributes: { component: 'slurmrestd', endpoint: A, reason: 'no answer within 2000 ms', failures: '3' },
      },
      {
        id: 'e2',
        cluster: 'c1',
        type: 'controller_failover',
        severity: 'warning',
        message: 'slurmrestd switched from http://a:6820 to http://b:6820: http://a:6820 is down (no answer within 2000 ms)',
        occurred_at: '2026-03-01T12:00:00.000Z',
        attributes: { component: 'slurmrestd', from_endpoint: A, to_endpoint: B, reason: 'http://a:6820 is down (no answer within 2000 ms)', strategy: 'failover' },
      },
    ]);
  });

  it('counts the outcomes of attempts that were in flight together once', () => {
    const { p, events } = pool([A, B]);
    // One poll: eight parallel requests to A, all refused.
    const tokens = Array.from({ length: 8 }, () => p.begin(0));
    for (const t of tokens) p.failed(0, t, 'ECONNREFUSED');
    expect(p.status()[0]).toMatchObject({ up: true, consecutive_failures: 1 });
    expect(events).toEqual([]);
  });

  it('failover: the first healthy endpoint in order; the next one when that goes down too; critical when none is left', () => {
    const { p, events, fail } = pool([A, B, C], { failoverThreshold: 1 });
    expect(p.order()).toEqual([0, 1, 2]);
    fail(0);
    expect(p.active).toBe(B);
    expect(p.order()).toEqual([1, 2, 0]);
    fail(1);
    expect(p.active).toBe(C);
    expect(p.order()).toEqual([2, 0, 1]);
    fail(2);
    // Nothing healthy: stay, try everything (down ones last, in order).
    expect(p.active).toBe(C);
    expect(p.order()).toEqual([2, 0, 1]);
    expect(brief(events)).toEqual([
      `controller_down:warning:${A}`,
      `controller_failover:warning:${A}->${B}`,
      `controller_down:warning:${B}`,
      `controller_failover:warning:${B}->${C}`,
      `controller_down:critical:${C}`,
    ]);
  });

  it('failover: an endpoint is up after one success, and the agent fails back once the primary has been healthy for failover_threshold checks', () => {
    const { p, events, fail, ok } = pool([A, B], { failoverThreshold: 2 });
    fail(0);
    fail(0);
    expect(p.active).toBe(B);
    events.length = 0;
    ok(0);
    expect(p.status()[0]).toMatchObject({ up: true, in_use: false, consecutive_successes: 1 });
    expect(p.active).toBe(B); // not yet: healthy for one check only
    ok(0);
    expect(p.active).toBe(A);
    expect(brief(events)).toEqual([`controller_up:info:${A}`, `controller_failover:info:${B}->${A}`]);
    expect(events[1].attributes.reason).toBe('fail back: http://a:6820 has been healthy for 2 consecutive checks');
  });

  it('failover: when the endpoint in use is down, any healthy one is taken at once, without waiting to fail back', () => {
    const { p, fail, ok } = pool([A, B], { failoverThreshold: 1, failbackChecks: 3 });
    fail(0);
    expect(p.active).toBe(B);
    ok(0); // A up again (one success), still on B
    expect(p.active).toBe(B);
    fail(1);
    expect(p.active).toBe(A);
  });

  it('round_robin: polls take turns over the healthy endpoints, skipping down ones, with no event for the rotation', () => {
    const { p, events, fail, ok } = pool([A, B, C], { strategy: 'round_robin', failoverThreshold: 1 });
    const turns: string[] = [];
    for (let i = 0; i < 6; i++) {
      p.rotate();
      turns.push(p.active);
    }
    expect(turns).toEqual([B, C, A, B, C, A]);
    expect(events).toEqual([]);
    fail(1);
    expect(brief(events)).toEqual([`controller_down:warning:${B}`]);
    turns.length = 0;
    for (let i = 0; i < 4; i++) {
      p.rotate();
      turns.push(p.active);
    }
    expect(turns).toEqual([C, A, C, A]);
    // The endpoint in use going down is a switch.
    p.rotate();
    expect(p.active).toBe(C);
    fail(2);
    expect(p.active).toBe(A);
    expect(brief(events).slice(1)).toEqual([`controller_down:warning:${C}`, `controller_failover:warning:${C}->${A}`]);
    ok(1);
    p.rotate();
    expect(p.active).toBe(B);
    p.rotate();
    expect(p.active).toBe(A);
  });

  it('refuses a threshold below 1', () => {
    expect(() => new EndpointPool([A], { strategy: 'failover', healthCheckIntervalMs: 0, failoverThreshold: 0 })).toThrow(/failover_threshold/);
  });
});

// ---- behind the transport, against local servers -----------------------------------------

const servers: http.Server[] = [];
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: http.RequestListener): Promise<{ url: string; server: http.Server; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits: () => hits };
}

async function stop(server: http.Server): Promise<void> {
  servers.splice(servers.indexOf(server), 1);
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

describe('RestTransport with load balancing', () => {
  it('health checks ping every endpoint; a dead primary is down after the threshold and requests go to the backup', async () => {
    const pingOk = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('{"pings":[]}');
    const primary = await serve(pingOk);
    const backup = await serve(pingOk);
    const events: FleetEvent[] = [];
    // Credentials in an endpoint URL never reach the pool, its events or its messages.
    const withCredentials = primary.url.replace('http://', 'http://admin:hunter2@');
    const t = new RestTransport({
      endpoints: [withCredentials, backup.url],
      timeoutMs: 1000,
      maxBodyBytes: 1 << 20,
      loadBalancing: { strategy: 'failover', healthCheckIntervalMs: 0, failoverThreshold: 2 },
      pool: { cluster: 'c1', onEvent: (e) => events.push(e) },
    });
    closers.push(() => t.close());
    const probe = (i: number) => t.probe(i, '/slurm/v0.0.41/ping');
    await t.pool.checkAll(probe);
    expect(t.pool.status().map((s) => s.up)).toEqual([true, true]);
    expect(t.endpoint).toBe(primary.url);

    await stop(primary.server);
    await t.pool.checkAll(probe);
    expect(t.endpoint).toBe(primary.url);
    await t.pool.checkAll(probe);
    expect(t.endpoint).toBe(backup.url);
    const before = backup.hits();
    expect((await t.request({ path: '/slurm/v0.0.41/jobs' })).endpoint).toBe(backup.url);
    expect(backup.hits()).toBe(before + 1);
    expect(events.map((e) => e.type)).toEqual(['controller_down', 'controller_failover']);
    expect(events[1].attributes).toMatchObject({ from_endpoint: primary.url, to_endpoint: backup.url });
    expect(JSON.stringify(events)).not.toMatch(/hunter2|admin/);
  });

  it('an HTTP 5xx answer to a ping is unhealthy; to a request it counts neither way', async () => {
    let status = 503;
    const flaky = await serve((_req, res) => {
      res.statusCode = status;
      res.end('{}');
    });
    const t = new RestTransport({ endpoints: [flaky.url], timeoutMs: 1000, maxBodyBytes: 1 << 20, loadBalancing: { strategy: 'failover', healthCheckIntervalMs: 0, failoverThreshold: 3 } });
    closers.push(() => t.close());
    expect(await t.probe(0, '/slurm/v0.0.41/ping')).toBe('HTTP 503');
    await t.pool.checkAll((i) => t.probe(i, '/slurm/v0.0.41/ping'));
    await t.request({ path: '/slurm/v0.0.41/jobs' });
    expect(t.pool.status()[0]).toMatchObject({ consecutive_failures: 1, consecutive_successes: 0 });
    status = 200;
    await t.request({ path: '/slurm/v0.0.41/jobs' });
    expect(t.pool.status()[0]).toMatchObject({ consecutive_failures: 0, consecutive_successes: 1 });
  });

  it('runs health checks on its own every interval until stopped', async () => {
    const srv = await serve((_req, res) => res.end('{}'));
    const t = new RestTransport({ endpoints: [srv.url], timeoutMs: 1000, maxBodyBytes: 1 << 20, loadBalancing: { strategy: 'failover', healthCheckIntervalMs: 50, failoverThreshold: 3 } });
    t.pool.start((i) => t.probe(i, '/slurm/v0.0.41/ping'));
    await new Promise((r) => setTimeout(r, 400));
    await t.pool.stop();
    const hits = srv.hits();
    expect(hits).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 150));
    expect(srv.hits()).toBe(hits);
    t.close();
  });
});

// ---- behind RestSource, against two simulators of one cluster ----------------------------

describe('RestSource with two slurmrestd endpoints', () => {
  async function sims(): Promise<[RunningSimulator, RunningSimulator]> {
    const opts = { listen: '127.0.0.1:0', cluster: 'c1', nodes: 4, jobs: 6, apiVersion: 'v0.0.41', tickMs: 0, log: () => undefined };
    const a = await startSimulator(opts);
    const b = await startSimulator(opts);
    closers.push(() => a.close(), () => b.close());
    return [a, b];
  }

  it('failover: polls move to the backup when the primary is gone, and the events wait in takeEvents()', async () => {
    const [a, b] = await sims();
    const source = new RestSource({ cluster: 'c1', endpoints: [a.url, b.url], auth: { user: 'root', token: 'sim-token' }, timeoutMs: 2000, loadBalancing: { strategy: 'failover', healthCheckIntervalMs: 0, failoverThreshold: 2 } });
    closers.push(() => source.close());
    let notified = 0;
    source.onEvents(() => notified++);
    expect((await source.poll()).endpoint).toBe(a.url);
    a.setFaults({ down: true });
    // Every poll still succeeds: a request the primary drops goes on to the backup.
    const first = await source.poll();
    expect(first.model.job.length).toBe(6);
    expect(source.endpoints()[0]).toMatchObject({ up: true, consecutive_failures: 1 });
    const second = await source.poll();
    expect(second.endpoint).toBe(b.url);
    expect(source.endpoints().map((e) => [e.up, e.in_use])).toEqual([
      [false, false],
      [true, true],
    ]);
    const events = source.takeEvents();
    expect(events.map((e) => [e.type, e.cluster, e.attributes.component])).toEqual([
      ['controller_down', 'c1', 'slurmrestd'],
      ['controller_failover', 'c1', 'slurmrestd'],
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(2);
    expect(notified).toBe(2);
    expect(source.takeEvents()).toEqual([]);
  });

  it('slurmctld failover as ping reports it becomes events too', async () => {
    const [sim] = await sims();
    // A slurmrestd in front of the simulator whose ping lists a primary and a backup slurmctld.
    let primaryUp = true;
    const front = await serve((req, res) => {
      if (req.url === '/slurm/v0.0.41/ping') {
        res.setHeader('content-type', 'application/json');
        const ping = (hostname: string, mode: string, up: boolean) => ({ hostname, pinged: up ? 'UP' : 'DOWN', latency: 100, mode });
        res.end(JSON.stringify({ meta: {}, errors: [], warnings: [], pings: [ping('ctl1', 'primary', primaryUp), ping('ctl2', 'backup1', true)] }));
        return;
      }
      const upstream = http.request(`${sim.url}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(upstream);
    });
    const source = new RestSource({ cluster: 'c1', endpoints: [front.url], auth: { user: 'root', token: 'sim-token' }, timeoutMs: 2000, apiVersion: 'v0.0.41', loadBalancing: { strategy: 'failover', healthCheckIntervalMs: 0, failoverThreshold: 3 } });
    closers.push(() => source.close());
    await source.poll();
    expect(source.takeEvents()).toEqual([]);
    primaryUp = false;
    const polled = await source.poll();
    expect(polled.model.controller.map((c) => [c.hostname, c.responding])).toEqual([
      ['ctl1', false],
      ['ctl2', true],
    ]);
    expect(source.takeEvents().map((e) => [e.type, e.attributes.component, e.attributes.controller ?? `${e.attributes.from_controller}->${e.attributes.to_controller}`])).toEqual([
      ['controller_down', 'slurmctld', 'ctl1'],
      ['controller_failover', 'slurmctld', 'ctl1->ctl2'],
    ]);
  });

  it('round_robin: polls alternate between the two endpoints', async () => {
    const [a, b] = await sims();
    const source = new RestSource({ cluster: 'c1', endpoints: [a.url, b.url], auth: { user: 'root', token: 'sim-token' }, timeoutMs: 2000, apiVersion: 'v0.0.41', loadBalancing: { strategy: 'round_robin', healthCheckIntervalMs: 0, failoverThreshold: 3 } });
    closers.push(() => source.close());
    const used: string[] = [];
    for (let i = 0; i < 4; i++) used.push((await source.poll()).endpoint);
    expect(used).toEqual([b.url, a.url, b.url, a.url]);
    expect(source.takeEvents()).toEqual([]);
  });
});
