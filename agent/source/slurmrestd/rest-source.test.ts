// RestSource against a tiny fake slurmrestd on 127.0.0.1:0 that serves the project's own
// small fixtures and keeps slurmctld's update_time rule: 304 iff update_time > last change.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BadRequestError, ConfigError, SlurmUnavailableError } from '../../../shared/errors/index.js';
import { createSlurmSource, type SlurmConfig } from '../index.js';
import type { RunResult } from '../slurm-commands/index.js';
import { RestSource, type RestSourceOptions } from './rest-source.js';
import { versionsInSpec } from './negotiate.js';

const TOKEN = 'jwt-token-never-in-messages';
const NOW = 1_800_000_000;

interface Seen {
  method: string;
  path: string;
  body: string;
}

class FakeSlurmrestd {
  version = 'v0.0.41';
  /** Versions listed in /openapi/v3; null answers 404. */
  advertised: string[] | null = ['v0.0.41'];
  title = 'Slurm REST API';
  now = NOW;
  changed = { jobs: NOW - 100, nodes: NOW - 100, partitions: NOW - 100 };
  jobIds = [1, 2];
  nodesBug = false;
  /** Sent as the /jobs answer instead of the generated one. */
  jobsText?: string;
  dbDown = false;
  /** slurmrestd up, slurmctld not: every /slurm/ call answers 500 as 22.05 does. */
  ctldDown = false;
  hang = false;
  seen: Seen[] = [];
  url = '';
  private server = http.createServer((req, res) => this.handle(req, res));

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  paths(): string[] {
    return this.seen.map((s) => `${s.method} ${s.path}`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      this.seen.push({ method: req.method!, path: req.url!, body });
      if (this.hang) return;
      if (req.headers['x-slurm-user-token'] !== TOKEN) return this.send(res, 401, 'Authentication failure', 'text/plain');
      const url = new URL(req.url!, 'http://x');
      const since = url.searchParams.has('update_time') ? Number(url.searchParams.get('update_time')) : undefined;
      const v = this.version;
      const is38 = v === 'v0.0.38';
      const route = `${req.method} ${url.pathname}`;
      const list = (key: keyof FakeSlurmrestd['changed'], records: unknown[]) => {
        if (since !== undefined && since > this.changed[key]) return this.send(res, 304, '');
        if (key === 'nodes' && since !== undefined && this.nodesBug) {
          return this.json(res, 500, { errors: [{ error: 'Unspecified error', errno: -1 }], nodes: [] });
        }
        this.json(res, 200, { [key]: records });
      };
      if (route === 'GET /openapi/v3') {
        if (!this.advertised) return this.send(res, 404, 'Unable find requested URL.', 'text/plain');
        const paths: Record<string, unknown> = { '/openapi/v3': {} };
        for (const a of this.advertised) paths[`/slurm/${a}/jobs/`] = { get: {} };
        return this.json(res, 200, { info: { title: this.title }, paths });
      }
      if (route === 'POST /sim/v1/command') return this.json(res, 200, { ok: true, message: 'requeued by the simulator' });
      const prefix = `/slurm/${v}/`;
      const dbPrefix = `/slurmdb/${v}/`;
      if (url.pathname.startsWith(dbPrefix)) {
        if (this.dbDown) return this.json(res, 500, { errors: [{ error: 'Unable to connect to database', error_number: 7000 }] });
        const what = url.pathname.slice(dbPrefix.length);
        if (what === 'qos') return this.json(res, 200, { qos: [{ name: 'normal' }, { name: 'high', priority: is38 ? 100 : { set: true, number: 100 } }] });
        if (what === 'accounts') return this.json(res, 200, { accounts: [{ name: 'research' }] });
        if (what === 'associations') return this.json(res, 200, { associations: [{ account: 'research', user: 'alice' }] });
      }
      if (!url.pathname.startsWith(prefix)) return this.send(res, 404, 'Unable find requested URL.', 'text/plain');
      if (this.ctldDown) return this.json(res, 500, { errors: [{ error: 'Unspecified error', error_number: -1, description: 'slurmctld config is unable to load' }] });
      const rest = url.pathname.slice(prefix.length);
      if (route.startsWith('GET') && rest === 'ping') {
        return this.json(res, 200, { pings: [{ hostname: 'ctl1', mode: 'primary', ...(is38 ? { ping: 'UP' } : { pinged: 'UP', latency: 1500 }) }] });
      }
      if (rest === 'diag') {
        return this.json(res, 200, { statistics: { req_time: is38 ? this.now : { set: true, infinite: false, number: this.now }, server_thread_count: 3 } });
      }
      if (rest === 'jobs' && this.jobsText !== undefined) return this.send(res, 200, this.jobsText, 'application/json');
      if (rest === 'jobs') {
        return list('jobs', this.jobIds.map((id) => ({ job_id: id, name: `j${id}`, user_name: 'alice', account: 'research', partition: 'debug', job_state: is38 ? 'RUNNING' : ['RUNNING'] })));
      }
      if (rest === 'nodes') return list('nodes', [{ name: 'n1', state: is38 ? 'idle' : ['IDLE'] }]);
      if (rest === 'partitions') return list('partitions', [{ name: 'debug' }]);
      if (rest === 'reservations') return this.json(res, 200, { reservations: [] });
      const job = /^job\/(\d+)$/.exec(rest);
      if (job && req.method === 'GET') {
        const id = Number(job[1]);
        if (id === 50) return this.json(res, 200, { jobs: [{ job_id: 50, job_state: ['COMPLETED'] }] });
        if (id === 999) return this.json(res, 404, { errors: [{ error: 'Invalid job id specified', error_number: 2017 }] });
        return this.json(res, 200, { jobs: [{ job_id: id, job_state: ['RUNNING'] }] });
      }
      if (job && req.method === 'DELETE') {
        if (job[1] === '999') {
          return this.json(res, 500, { errors: [{ error: 'Invalid job id specified', error_number: 2017, description: 'unable to kill JobId=999' }] });
        }
        return this.json(res, 200, { errors: [] });
      }
      // Some releases list a non-error next to a success.
      if (job && req.method === 'POST') return this.json(res, 200, { errors: [{ error: 'No error', error_number: 0 }] });
      if (/^node\/[\w.-]+$/.test(rest) && req.method === 'POST' && !is38) return this.json(res, 200, { errors: [] });
      this.send(res, 404, 'Unable find requested URL.', 'text/plain');
    });
  }

  private json(res: http.ServerResponse, status: number, doc: object): void {
    this.send(res, status, JSON.stringify({ meta: { slurm: { release: '24.05.3' } }, errors: [], warnings: [], ...doc }), 'application/json');
  }

  private send(res: http.ServerResponse, status: number, text: string, type?: string): void {
    if (type) res.setHeader('content-type', type);
    res.statusCode = status;
    res.end(text);
  }
}

const fakes: FakeSlurmrestd[] = [];
const sources: RestSource[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) await s.close();
  for (const f of fakes.splice(0)) await f.stop();
});

async function setup(configure: (f: FakeSlurmrestd) => void = () => undefined, options: Partial<RestSourceOptions> = {}, runs: string[][] = []) {
  const fake = new FakeSlurmrestd();
  configure(fake);
  await fake.start();
  fakes.push(fake);
  const run = async (binary: string, args: string[]): Promise<RunResult> => {
    runs.push([binary, ...args]);
    return { code: 0, stdout: '', stderr: '' };
  };
  const source = new RestSource({ cluster: 'c1', endpoints: [fake.url], auth: { user: 'root', token: TOKEN }, timeoutMs: 2000, ...options }, { run });
  sources.push(source);
  return { fake, source, runs };
}

describe('version negotiation', () => {
  it('takes the newest supported version with a jobs path from /openapi/v3', async () => {
    const { fake, source } = await setup((f) => {
      f.advertised = ['v0.0.40', 'v0.0.41', 'v0.0.45'];
    });
    const result = await source.poll();
    expect(result.apiVersion).toBe('v0.0.41');
    expect(fake.paths()[0]).toBe('GET /openapi/v3');
  });

  it('probes /slurm/vX/ping newest first when /openapi/v3 is missing', async () => {
    const { fake, source } = await setup((f) => {
      f.advertised = null;
      f.version = 'v0.0.39';
    });
    expect((await source.poll()).apiVersion).toBe('v0.0.39');
    expect(fake.paths().slice(0, 7)).toEqual([
      'GET /openapi/v3',
      'GET /slurm/v0.0.44/ping',
      'GET /slurm/v0.0.43/ping',
      'GET /slurm/v0.0.42/ping',
      'GET /slurm/v0.0.41/ping',
      'GET /slurm/v0.0.40/ping',
      'GET /slurm/v0.0.39/ping',
    ]);
  });

  it('skips negotiation for a configured version', async () => {
    const { fake, source } = await setup(undefined, { apiVersion: 'v0.0.41' });
    await source.poll();
    expect(fake.paths()).not.toContain('GET /openapi/v3');
  });

  it('reports a configured version the server does not serve instead of negotiating', async () => {
    const { source } = await setup(undefined, { apiVersion: 'v0.0.40' });
    await expect(source.poll()).rejects.toThrow(new SlurmUnavailableError(`slurmrestd ${fakes[0].url} does not serve the configured API version v0.0.40`));
  });

  it('refuses an unsupported configured version', () => {
    expect(() => new RestSource({ cluster: 'c1', endpoints: ['http://127.0.0.1:1'], apiVersion: 'v0.0.37' })).toThrow(/not supported/);
  });

  it('negotiates again when slurmrestd stops serving our version (404)', async () => {
    const { fake, source } = await setup();
    expect((await source.poll()).apiVersion).toBe('v0.0.41');
    fake.version = 'v0.0.42';
    fake.advertised = ['v0.0.42'];
    fake.seen = [];
    const result = await source.poll();
    expect(result.apiVersion).toBe('v0.0.42');
    expect(result.model.job).toHaveLength(2);
    // Fresh state after the switch: no update_time carried over from the old version.
    expect(fake.paths().filter((p) => p.includes('update_time'))).toEqual([]);
  });

  it('reads versions from relative v0.0.38-style specs and spots the simulator', () => {
    const spec = JSON.stringify({ info: { title: 'slurmfleet simulator' }, servers: [{ url: '/slurm/v0.0.38/' }], paths: { '/jobs/': {}, '/sim/v1/command': {} } });
    expect(versionsInSpec(spec)).toEqual({ versions: new Set(['v0.0.38']), simulator: true });
    expect(versionsInSpec('not json').versions.size).toBe(0);
    const sim = JSON.stringify({ info: { title: 'Slurm REST API', description: 'API to access and control Slurm (simulated by sfleet sim)' }, paths: { '/slurm/v0.0.40/jobs/': {} } });
    expect(versionsInSpec(sim)).toEqual({ versions: new Set(['v0.0.40']), simulator: true });
  });
});

describe('polling', () => {
  it('reads every kind and stamps the controller', async () => {
    const { source, fake } = await setup();
    const { model, unchanged, failed, endpoint } = await source.poll();
    expect(endpoint).toBe(fake.url);
    expect(unchanged.size).toBe(0);
    expect(failed.size).toBe(0);
    expect(model.job.map((j) => [j.cluster, j.id, j.user, j.state])).toEqual([
      ['c1', 1, 'alice', 'RUNNING'],
      ['c1', 2, 'alice', 'RUNNING'],
    ]);
    expect(model.node.map((n) => n.name)).toEqual(['n1']);
    expect(model.partition.map((p) => p.name)).toEqual(['debug']);
    expect(model.qos.map((q) => q.name)).toEqual(['normal', 'high']);
    expect(model.account.map((a) => a.name)).toEqual(['research']);
    expect(model.association).toHaveLength(1);
    expect(model.controller).toHaveLength(1);
    expect(model.controller[0]).toMatchObject({ hostname: 'ctl1', responding: true, api_version: 'v0.0.41', endpoint: fake.url, server_thread_count: 3 });
  });

  it('reads /jobs as it arrives: an answer far over the buffered-answer cap works, a per-job cap holds', async () => {
    const { source } = await setup((f) => (f.jobIds = Array.from({ length: 2000 }, (_, i) => i + 1)), { maxBodyBytes: 10_000 });
    const { model } = await source.poll();
    expect(model.job).toHaveLength(2000);
    expect(model.job[1999]).toMatchObject({ id: 2000, user: 'alice', state: 'RUNNING' });
    const capped = await setup(() => undefined, { listLimits: { maxElementBytes: 50, maxOtherBytes: 1 << 20 } });
    await expect(capped.source.poll()).rejects.toThrow('slurmrestd answer to jobs: element 0 is larger than 50 bytes');
  });

  it('fails the poll with a clear error on a truncated or malformed /jobs answer', async () => {
    const { source, fake } = await setup();
    fake.jobsText = '{"meta": {}, "errors": [], "jobs": [{"job_id": 1, "user_name": "alice"}, {"job_id": 2';
    await expect(source.poll()).rejects.toThrow(`slurmrestd sent truncated JSON for jobs at position ${fake.jobsText.length} of ${fake.jobsText.length}`);
    fake.jobsText = '{"jobs": [{"job_id": 1, "token": tok}]}';
    const err = await source.poll().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // V8 does not say where an unexpected letter is: the position is where that job starts.
    expect(err?.message).toBe('slurmrestd sent malformed JSON for jobs at position 10');
    expect(err?.message).not.toContain('tok');
    fake.jobsText = undefined;
    expect((await source.poll()).model.job).toHaveLength(2);
  });

  it('asks with update_time = slurmctld\'s clock at the previous poll and reuses lists on 304', async () => {
    const { source, fake } = await setup();
    const first = await source.poll();
    fake.seen = [];
    fake.now = NOW + 10;
    const second = await source.poll();
    expect(fake.paths()).toEqual(
      expect.arrayContaining([`GET /slurm/v0.0.41/jobs?update_time=${NOW}`, `GET /slurm/v0.0.41/partitions?update_time=${NOW}`, `GET /slurm/v0.0.41/nodes?update_time=${NOW}`]),
    );
    expect([...second.unchanged].sort()).toEqual(['job', 'node', 'partition']);
    expect(second.model.job).toBe(first.model.job);

    // A change at the very second of the previous poll is not missed: 304 only when T > change.
    fake.changed.jobs = NOW + 10;
    fake.jobIds = [1, 2, 3];
    fake.now = NOW + 20;
    const third = await source.poll();
    expect(third.unchanged.has('job')).toBe(false);
    expect(third.model.job.map((j) => j.id)).toEqual([1, 2, 3]);
  });

  it('refetches nodes without update_time after the 500/errno -1 answer', async () => {
    const { source, fake } = await setup();
    await source.poll();
    fake.nodesBug = true;
    fake.changed.nodes = NOW + 5;
    fake.seen = [];
    const result = await source.poll();
    expect(fake.paths().filter((p) => p.includes('/nodes'))).toEqual([`GET /slurm/v0.0.41/nodes?update_time=${NOW}`, 'GET /slurm/v0.0.41/nodes']);
    expect(result.unchanged.has('node')).toBe(false);
    expect(result.model.node).toHaveLength(1);
  });

  it('never sends update_time for nodes on v0.0.38', async () => {
    const { source, fake } = await setup((f) => {
      f.version = 'v0.0.38';
      f.advertised = ['v0.0.38'];
    });
    await source.poll();
    fake.seen = [];
    const result = await source.poll();
    expect(fake.paths()).toContain('GET /slurm/v0.0.38/nodes');
    expect(fake.paths()).toContain(`GET /slurm/v0.0.38/jobs?update_time=${NOW}`);
    expect(result.unchanged.has('node')).toBe(false);
    expect(result.unchanged.has('job')).toBe(true);
  });

  it('marks the slurmdbd kinds failed and keeps the previous lists when slurmdbd is down', async () => {
    const { source, fake } = await setup();
    const first = await source.poll();
    fake.dbDown = true;
    const second = await source.poll();
    expect([...second.failed.keys()].sort()).toEqual(['account', 'association', 'qos']);
    expect(second.failed.get('qos')).toBeInstanceOf(SlurmUnavailableError);
    expect(second.model.qos).toBe(first.model.qos);
    expect(second.model.job).toHaveLength(2);
  });

  it('slurmctld down behind a live slurmrestd: the known controllers as not responding, a controller_down event, every list kept', async () => {
    const { source, fake } = await setup();
    const first = await source.poll();
    expect(first.model.controller.map((c) => [c.hostname, c.responding])).toEqual([['ctl1', true]]);
    source.takeEvents();
    fake.ctldDown = true;
    const down = await source.poll();
    expect(down.model.controller.map((c) => [c.hostname, c.responding])).toEqual([['ctl1', false]]);
    expect([...down.failed.keys()].sort()).toEqual(['account', 'association', 'job', 'node', 'partition', 'qos', 'reservation']);
    expect(down.failed.get('job')!.message).toContain('slurmctld config is unable to load');
    expect(source.takeEvents().map((e) => [e.type, e.attributes.controller])).toEqual([['controller_down', 'ctl1']]);
    fake.ctldDown = false;
    const back = await source.poll();
    expect(back.model.controller.map((c) => c.responding)).toEqual([true]);
    expect(back.failed.size).toBe(0);
    expect(source.takeEvents().map((e) => e.type)).toEqual(['controller_up']);
  });

  it('slurmctld down before any controller was seen is a failed poll, as before', async () => {
    const { source } = await setup((f) => (f.ctldDown = true));
    await expect(source.poll()).rejects.toThrow(/slurmctld config is unable to load/);
  });

  it('fetches the slurmdbd lists only every N-th poll when asked to', async () => {
    const { source, fake } = await setup(undefined, { accountingEvery: 3 });
    for (let i = 0; i < 4; i++) await source.poll();
    expect(fake.paths().filter((p) => p.endsWith('/qos'))).toHaveLength(2);
  });

  it('shares one in-flight poll between concurrent callers', async () => {
    const { source, fake } = await setup();
    const [a, b, c] = [source.poll(), source.poll(), source.poll()];
    expect(a).toBe(b);
    expect(b).toBe(c);
    await a;
    expect(fake.paths().filter((p) => p.startsWith('GET /slurm/v0.0.41/jobs'))).toHaveLength(1);
    await source.poll();
    expect(fake.paths().filter((p) => p.startsWith('GET /slurm/v0.0.41/jobs'))).toHaveLength(2);
  });

  it('lets one caller give up without failing the shared poll', async () => {
    const { source, fake } = await setup(undefined, { timeoutMs: 300 });
    await source.poll(); // negotiated
    fake.hang = true;
    const ac = new AbortController();
    const mine = source.poll(ac.signal);
    const shared = source.poll();
    ac.abort(new Error('caller gave up'));
    await expect(mine).rejects.toThrow('caller gave up');
    await expect(shared).rejects.toThrow(/did not answer/); // its own timeout, not the caller's abort
  });

  it('fails with an auth error that never shows the token', async () => {
    const { source } = await setup(undefined, { auth: { user: 'root', token: 'wrong-token-value' } });
    const err = await source.poll().catch((e: Error) => e);
    expect(err).toBeInstanceOf(SlurmUnavailableError);
    expect((err as Error).message).toMatch(/401/);
    expect(JSON.stringify(err) + (err as Error).message).not.toContain('wrong-token-value');
  });
});

describe('commands', () => {
  it('cancels with DELETE and holds/releases with POST {hold}', async () => {
    const { source, fake } = await setup();
    expect(await source.execute({ kind: 'cancel', target: '12' })).toEqual({ ok: true, message: 'cancel job 12: done', via: 'rest' });
    expect(await source.execute({ kind: 'hold', target: '12' })).toMatchObject({ ok: true, via: 'rest' });
    expect(await source.execute({ kind: 'release', target: '12' })).toMatchObject({ ok: true, via: 'rest' });
    const sent = fake.seen.filter((s) => s.path.startsWith('/slurm/v0.0.41/job/'));
    expect(sent.map((s) => [s.method, s.path, s.body])).toEqual([
      ['GET', '/slurm/v0.0.41/job/12', ''],
      ['DELETE', '/slurm/v0.0.41/job/12', ''],
      ['POST', '/slurm/v0.0.41/job/12', '{"hold":true}'],
      ['POST', '/slurm/v0.0.41/job/12', '{"hold":false}'],
    ]);
  });

  it('returns Slurm\'s refusal as ok:false', async () => {
    const { source } = await setup();
    expect(await source.execute({ kind: 'cancel', target: '999' })).toEqual({ ok: false, message: 'cancel job 999: Invalid job id specified (unable to kill JobId=999)', via: 'rest' });
    // slurmrestd would accept the DELETE of a finished job; the source says it was finished.
    expect(await source.execute({ kind: 'cancel', target: '50' })).toEqual({ ok: false, message: 'cancel job 50: job already finished (COMPLETED)', via: 'rest' });
  });

  it('drains through REST from v0.0.39 on, through scontrol on v0.0.38', async () => {
    const newer = await setup();
    expect(await newer.source.execute({ kind: 'drain', target: 'n1', reason: 'disk\nfull' })).toMatchObject({ ok: true, via: 'rest' });
    expect(newer.fake.seen.at(-1)).toMatchObject({ method: 'POST', path: '/slurm/v0.0.41/node/n1', body: '{"state":["DRAIN"],"reason":"disk full"}' });

    const old = await setup((f) => {
      f.version = 'v0.0.38';
      f.advertised = ['v0.0.38'];
    });
    expect(await old.source.execute({ kind: 'drain', target: 'n1', reason: 'disk full' })).toMatchObject({ ok: true, via: 'scontrol' });
    expect(await old.source.execute({ kind: 'resume', target: 'n1' })).toMatchObject({ ok: true, via: 'scontrol' });
    expect(old.runs).toEqual([
      ['scontrol', 'update', 'nodename=n1', 'state=drain', 'reason=disk full'],
      ['scontrol', 'update', 'nodename=n1', 'state=resume'],
    ]);
  });

  it('requeues through scontrol, or through the simulator\'s command endpoint', async () => {
    const real = await setup();
    expect(await real.source.execute({ kind: 'requeue', target: '7' })).toMatchObject({ ok: true, via: 'scontrol' });
    expect(real.runs).toEqual([['scontrol', 'requeue', '7']]);

    const sim = await setup((f) => {
      f.title = 'slurmfleet slurmrestd simulator';
    });
    expect(await sim.source.execute({ kind: 'requeue', target: '7' })).toEqual({ ok: true, message: 'requeue job 7: requeued by the simulator', via: 'sim' });
    expect(sim.fake.seen.at(-1)).toMatchObject({ method: 'POST', path: '/sim/v1/command', body: '{"kind":"requeue","target":"7"}' });
    expect(sim.runs).toEqual([]);
  });

  it('refuses unsafe targets before sending anything', async () => {
    const { source, fake } = await setup();
    await expect(source.execute({ kind: 'cancel', target: '12; rm -rf /' })).rejects.toBeInstanceOf(BadRequestError);
    await expect(source.execute({ kind: 'drain', target: 'n1 state=down' })).rejects.toBeInstanceOf(BadRequestError);
    await expect(source.execute({ kind: 'drain', target: '../x' })).rejects.toThrow(/invalid node name/);
    expect(fake.seen).toEqual([]);
  });
});

describe('createSlurmSource', () => {
  const slurm = (extra: Partial<SlurmConfig>): SlurmConfig => ({ source: 'rest', endpoints: ['http://127.0.0.1:6820'], auth: { user: 'root', token: TOKEN }, ...extra });

  it('picks the implementation from slurm.source', async () => {
    const rest = createSlurmSource({ cluster: 'c1', slurm: slurm({}) });
    const cli = createSlurmSource({ cluster: 'c1', slurm: slurm({ source: 'cli', endpoints: [], cli: { bin_dir: '/usr/bin' } }) });
    expect([rest.name, cli.name]).toEqual(['rest', 'cli']);
    await rest.close();
    await cli.close();
  });

  it('refuses bad config with ConfigError naming the key', () => {
    const bad = (s: Partial<SlurmConfig>, cluster = 'c1') => () => createSlurmSource({ cluster, slurm: slurm(s) });
    expect(bad({ endpoints: [] })).toThrow(new ConfigError('slurm.endpoints: at least one slurmrestd endpoint is required'));
    expect(bad({ endpoints: ['ftp://x'] })).toThrow(ConfigError);
    expect(bad({ source: 'grpc' as never })).toThrow(/slurm.source/);
    expect(bad({ timeout: -1 })).toThrow(/slurm.timeout/);
    expect(bad({ api_version: 'v0.0.99' })).toThrow(ConfigError);
    expect(bad({}, '')).toThrow(/cluster/);
  });
});
