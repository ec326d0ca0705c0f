// A slurmrestd look-alike for one simulated cluster, on node:http. It serves only its own API
// version's paths (anything else is slurmrestd's plain-text 404), checks the JWT headers the way
// slurmrestd does (401 text/plain "Authentication failure"), answers `?update_time=T` with 304 when
// nothing changed since T, and adds the sim-only control API under /sim/v1/.
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SimCommandError, type SimCommandKind, type SimEngine, type SubmitSpec } from '../engine/index.js';
import { SlurmRenderer, versionInfo, type ApiVersion, type VersionInfo } from '../render/index.js';
import { Faults, parseFaults, type FaultDecision, type FaultSpec } from './faults.js';
import { openapiDocument } from './openapi.js';

export interface SimServerOptions {
  engine: SimEngine;
  apiVersion: ApiVersion;
  /** When set, X-SLURM-USER-TOKEN must equal it (and /sim/v1/* needs the same headers). */
  token?: string;
  faults?: FaultSpec;
  /** Seeds the fault draws. */
  seed?: number;
}

type Reply =
  | { status: number; json: string | Iterable<string> }
  | { status: number; text: string }
  | { status: 304 };

const MAX_BODY = 1024 * 1024;
const AUTH_FAILURE = 'Authentication failure';
const COMMAND_KINDS = new Set<SimCommandKind>(['cancel', 'hold', 'release', 'requeue', 'drain', 'resume']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class SimServer {
  readonly engine: SimEngine;
  readonly apiVersion: ApiVersion;
  readonly faults: Faults;
  private readonly v: VersionInfo;
  private readonly tokenDigest?: Buffer;
  private readonly http: Server;
  private readonly sockets = new Set<Socket>();

  constructor(opts: SimServerOptions) {
    this.engine = opts.engine;
    this.apiVersion = opts.apiVersion;
    this.v = versionInfo(opts.apiVersion);
    this.tokenDigest = opts.token ? digest(opts.token) : undefined;
    this.faults = new Faults(opts.seed ?? 1, opts.faults);
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    // Agents poll every few seconds: keep their connections instead of racing a 5 s idle close.
    this.http.keepAliveTimeout = 65_000;
    this.http.headersTimeout = 66_000;
    this.http.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    this.http.listen(port, host);
    await once(this.http, 'listening');
    return this.http.address() as AddressInfo;
  }

  async close(): Promise<void> {
    if (!this.http.listening) return;
    const closed = once(this.http, 'close');
    this.http.close();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  // ---- request flow ----------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    if (path.startsWith('/sim/v1/')) {
      if (this.tokenDigest && !this.authorized(req)) return this.send(res, { status: 401, text: AUTH_FAILURE }, NO_FAULT);
      return this.send(res, await this.control(req, path), NO_FAULT);
    }
    const fault = this.faults.decide();
    if (fault.drop) {
      req.socket.destroy();
      return;
    }
    if (fault.latencyMs > 0) {
      await sleep(fault.latencyMs);
      if (req.socket.destroyed) return;
    }
    if (!this.authorized(req)) return this.send(res, { status: 401, text: AUTH_FAILURE }, fault);
    const user = String(req.headers['x-slurm-user-name']);
    if (fault.errorStatus > 0) return this.send(res, this.injectedError(user, req, fault.errorStatus), fault);
    const reply = await this.route(req, path, url.searchParams, user);
    return this.send(res, reply ?? { status: 404, text: this.v.notFoundText }, fault);
  }

  private authorized(req: IncomingMessage): boolean {
    const user = req.headers['x-slurm-user-name'];
    const token = req.headers['x-slurm-user-token'];
    if (typeof user !== 'string' || user === '' || typeof token !== 'string' || token === '') return false;
    if (!this.tokenDigest) return true;
    return timingSafeEqual(digest(token), this.tokenDigest);
  }

  private renderer(user: string, req: IncomingMessage): SlurmRenderer {
    const source = `${req.socket.remoteAddress ?? 'unknown'}:${req.socket.remotePort ?? 0}(fd:12)`;
    return new SlurmRenderer(this.engine, this.apiVersion, user, source);
  }

  private injectedError(user: string, req: IncomingMessage, status: number): Reply {
    const r = this.renderer(user, req);
    return { status, json: r.errors('slurmctld', [{ description: 'fault injected by sfleet sim', error_number: -1, error: 'Unspecified error', source: 'sim' }]) };
  }

  /** The version's slurmrestd routes; undefined means 404. */
  private async route(req: IncomingMessage, path: string, query: URLSearchParams, user: string): Promise<Reply | undefined> {
    const method = req.method ?? 'GET';
    if (path === '/openapi/v3' || path === '/openapi' || path === '/openapi.json') {
      return method === 'GET' ? { status: 200, json: JSON.stringify(openapiDocument(this.apiVersion), null, 2) } : undefined;
    }
    const slurm = `/slurm/${this.apiVersion}/`;
    const slurmdb = `/slurmdb/${this.apiVersion}/`;
    const r = this.renderer(user, req);
    const e = this.engine;
    const n = this.v.n;
    if (path.startsWith(slurmdb) && method === 'GET') {
      switch (path.slice(slurmdb.length)) {
        case 'qos':
          return { status: 200, json: r.qos() };
        case 'accounts':
          return { status: 200, json: r.accounts() };
        case 'associations':
          return { status: 200, json: r.associations() };
      }
      return undefined;
    }
    if (!path.startsWith(slurm)) return undefined;
    const parts = path.slice(slurm.length).split('/');
    const [what, arg] = parts;
    if (parts.length > 2) return undefined;
    if (parts.length === 1 && method === 'GET') {
      switch (what) {
        case 'ping':
          return { status: 200, json: r.ping() };
        case 'diag':
          return { status: 200, json: r.diag() };
        case 'jobs': {
          const since = this.updateTime(query, r);
          if (typeof since === 'object') return since;
          if (since !== undefined && since > e.lastUpdate.jobs) return { status: 304 };
          return { status: 200, json: r.jobs() };
        }
        case 'nodes': {
          const since = this.updateTime(query, r);
          if (typeof since === 'object') return since;
          if (since !== undefined && since > e.lastUpdate.nodes) return { status: 304 };
          // 22.05 reuses update_time for its partition load, which fails with "no change" (see MEASUREMENTS.md).
          if (n === 38 && since !== undefined && since > e.lastUpdate.partitions) return { status: 500, json: r.nodesUpdateTimeBug() };
          return { status: 200, json: r.nodes() };
        }
        case 'partitions': {
          const since = this.updateTime(query, r);
          if (typeof since === 'object') return since;
          if (since !== undefined && since > e.lastUpdate.partitions) return { status: 304 };
          return { status: 200, json: r.partitions() };
        }
        case 'reservations': {
          const since = this.updateTime(query, r);
          if (typeof since === 'object') return since;
          if (since !== undefined && since > e.startedAt) return { status: 304 };
          return { status: 200, json: r.reservations() };
        }
      }
      return undefined;
    }
    if (parts.length !== 2 || arg === '') return undefined;
    let name: string;
    try {
      name = decodeURIComponent(arg);
    } catch {
      return undefined;
    }
    if (what === 'job') return this.jobRoute(req, method, name, r);
    if (what === 'node') {
      if (method === 'GET') {
        const node = e.node(name);
        return { status: 200, json: node ? r.node(node) : r.nodeNotFound(name) };
      }
      // 22.05 (v0.0.38) has no node update endpoint.
      if (method === 'POST' && n >= 39) return this.nodeUpdate(req, name, r);
      return undefined;
    }
    if (what === 'partition' && method === 'GET') {
      const body = r.partition(name);
      return body ? { status: 200, json: body } : { status: n === 38 ? 500 : 404, json: r.errors('slurmctld', [{ description: `Unable to find partition ${name}`, error_number: 2000, error: 'Invalid partition name specified', source: 'slurm_load_partitions' }]) };
    }
    return undefined;
  }

  /** `update_time` as a number, undefined when absent, or a 400 reply when it is not an integer. */
  private updateTime(query: URLSearchParams, r: SlurmRenderer): number | undefined | Reply {
    const raw = query.get('update_time');
    if (raw === null) return undefined;
    if (!/^-?\d+$/.test(raw.trim())) {
      const errors = this.v.n === 38 ? [] : [{ description: `Invalid update_time: ${raw.slice(0, 40)}`, error_number: 9000, error: 'Query empty or incorrect type', source: 'update_time' }];
      return { status: 400, json: r.errors('slurmctld', errors) };
    }
    return Number(raw.trim());
  }

  private async jobRoute(req: IncomingMessage, method: string, idText: string, r: SlurmRenderer): Promise<Reply | undefined> {
    const n = this.v.n;
    const id = /^\d+$/.test(idText) ? Number(idText) : Number.NaN;
    const job = Number.isSafeInteger(id) ? this.engine.job(id) : undefined;
    const notFoundStatus = n === 38 ? 500 : 404;
    if (method === 'GET') {
      return job ? { status: 200, json: r.job(job) } : { status: notFoundStatus, json: r.jobNotFound(idText) };
    }
    if (method === 'DELETE') {
      if (!job) {
        const description = n === 38 ? `unable to kill JobId=${idText} with signal 9: Invalid job id specified` : `Unable to signal JobId=${idText}`;
        return { status: notFoundStatus, json: r.errors('slurmctld', [{ description, error_number: 2017, error: 'Invalid job id specified', source: 'slurm_kill_job' }]) };
      }
      try {
        this.engine.cancel(job.id);
      } catch (err) {
        if (!(err instanceof SimCommandError)) throw err;
        // slurmrestd counts a job that already ended as signalled (a warning from v0.0.39 on).
        if (err.errno === 2021) return { status: 200, json: r.jobSignalled(job.id, true) };
        return { status: 500, json: r.errors('slurmctld', [{ description: err.description, error_number: err.errno, error: err.error, source: 'slurm_kill_job' }]) };
      }
      return { status: 200, json: r.jobSignalled(job.id) };
    }
    if (method === 'POST') {
      const body = await readJson(req);
      if (!job) return { status: notFoundStatus, json: r.jobNotFound(idText) };
      if (body === null || typeof body !== 'object' || Array.isArray(body)) return parseError(r, 'job update must be a JSON object');
      // The specs take the job description itself; a `{"job": {...}}` wrapper is accepted too.
      const desc = (isObject((body as Record<string, unknown>).job) ? (body as Record<string, unknown>).job : body) as Record<string, unknown>;
      try {
        if (desc.hold === true) this.engine.hold(job.id);
        else if (desc.hold === false) this.engine.release(job.id);
        if (desc.priority !== undefined) {
          const p = noValNumber(desc.priority);
          if (p === undefined) return parseError(r, 'priority must be a number or {"set": true, "number": N}');
          this.engine.setPriority(job.id, p);
        }
      } catch (err) {
        if (!(err instanceof SimCommandError)) throw err;
        return { status: 500, json: r.errors('slurmctld', [{ description: err.description, error_number: err.errno, error: err.error, source: 'slurm_update_job' }]) };
      }
      return { status: 200, json: r.jobUpdated(job.id) };
    }
    return undefined;
  }

  private async nodeUpdate(req: IncomingMessage, name: string, r: SlurmRenderer): Promise<Reply> {
    const body = await readJson(req);
    if (!isObject(body)) return parseError(r, 'node update must be a JSON object');
    const rawState = body.state;
    const states = (Array.isArray(rawState) ? rawState : typeof rawState === 'string' ? rawState.split(',') : []).map((s) => String(s).trim().toUpperCase());
    const reason = typeof body.reason === 'string' ? body.reason : '';
    try {
      if (!this.engine.node(name)) {
        return { status: 500, json: r.errors('slurmctld', [{ description: `Unable to update node ${name}`, error_number: 2018, error: 'Invalid node name specified', source: 'slurm_update_node' }]) };
      }
      if (states.includes('DRAIN')) this.engine.drain(name, reason);
      else if (states.includes('DOWN')) this.engine.down(name, reason);
      else if (states.includes('RESUME') || states.includes('UNDRAIN') || states.includes('IDLE')) this.engine.resume(name);
      else if (states.length > 0) {
        return { status: 500, json: r.errors('slurmctld', [{ description: `Invalid node state ${states.join(',')}`, error_number: 2028, error: 'Invalid node state specified', source: 'slurm_update_node' }]) };
      }
    } catch (err) {
      if (!(err instanceof SimCommandError)) throw err;
      return { status: 500, json: r.errors('slurmctld', [{ description: err.description, error_number: err.errno, error: err.error, source: 'slurm_update_node' }]) };
    }
    return { status: 200, json: r.nodeUpdated() };
  }

  // ---- /sim/v1 ---------------------------------------------------------------------------

  private async control(req: IncomingMessage, path: string): Promise<Reply> {
    const method = req.method ?? 'GET';
    const e = this.engine;
    const ok = (body: unknown, status = 200): Reply => ({ status, json: JSON.stringify(body, null, 2) });
    const bad = (status: number, message: string, extra: Record<string, unknown> = {}): Reply => ok({ error: { message, ...extra } }, status);
    switch (`${method} ${path}`) {
      case 'GET /sim/v1/state': {
        const counts = e.counts();
        return ok({
          cluster: e.cluster,
          api_version: this.apiVersion,
          slurm_release: this.v.release,
          now: e.now,
          last_update: { ...e.lastUpdate },
          jobs: counts.jobs,
          nodes: counts.nodes,
          rates: { arrival_per_min: e.options.arrivalPerMin, node_failure_per_hour: e.options.nodeFailurePerHour },
          faults: this.faults.current,
        });
      }
      case 'GET /sim/v1/faults':
        return ok({ faults: this.faults.current });
      case 'POST /sim/v1/faults': {
        const parsed = parseFaults(await readJson(req));
        if (!parsed.ok) return bad(400, parsed.message);
        this.faults.set(parsed.faults);
        return ok({ faults: this.faults.current });
      }
      case 'DELETE /sim/v1/faults':
        this.faults.clear();
        return ok({ faults: {} });
      case 'POST /sim/v1/jobs': {
        const spec = submitSpec(await readJson(req));
        if (typeof spec === 'string') return bad(400, spec);
        try {
          return ok({ job_id: e.submit(spec) }, 201);
        } catch (err) {
          if (err instanceof SimCommandError) return bad(400, err.description, { errno: err.errno, error: err.error });
          throw err;
        }
      }
      case 'POST /sim/v1/command': {
        // The agent's stand-in for scontrol; answers {ok, message} (ok:false when Slurm would refuse).
        const body = await readJson(req);
        if (!isObject(body) || typeof body.kind !== 'string' || !COMMAND_KINDS.has(body.kind as SimCommandKind) || typeof body.target !== 'string') {
          return bad(400, `command must be {"kind": one of ${[...COMMAND_KINDS].join('|')}, "target": string, "reason"?: string}`);
        }
        const kind = body.kind as SimCommandKind;
        try {
          e.command({ kind, target: body.target, reason: typeof body.reason === 'string' ? body.reason : undefined });
        } catch (err) {
          if (!(err instanceof SimCommandError)) throw err;
          const status = err.errno === 2017 || err.errno === 2018 ? 404 : 409;
          return ok({ ok: false, message: `${err.error}: ${err.description}`, errno: err.errno, error: err.error }, status);
        }
        return ok({ ok: true, message: `${kind} ${body.target}: done` });
      }
    }
    return bad(404, `no sim control endpoint ${method} ${path}`);
  }

  // ---- writing ---------------------------------------------------------------------------

  private async send(res: ServerResponse, reply: Reply, fault: FaultDecision): Promise<void> {
    if ('text' in reply) {
      res.writeHead(reply.status, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end(reply.text);
      return;
    }
    if (!('json' in reply)) {
      // 304: no body, no content type, as slurmrestd.
      res.writeHead(304);
      res.end();
      return;
    }
    if (typeof reply.json === 'string') {
      const buf = Buffer.from(reply.json);
      res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': buf.length });
      if (fault.truncate) return cut(res, buf.subarray(0, Math.max(1, Math.floor(buf.length / 2))));
      res.end(buf);
      return;
    }
    res.writeHead(reply.status, { 'Content-Type': 'application/json' });
    for (const chunk of reply.json) {
      if (res.destroyed) return;
      if (fault.truncate) return cut(res, Buffer.from(chunk.slice(0, Math.max(1, Math.floor(chunk.length / 2)))));
      if (!res.write(chunk)) await drained(res);
    }
    res.end();
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = err instanceof HttpError ? err.status : 500;
    const message = err instanceof HttpError ? err.message : 'internal simulator error';
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { message } }));
  }
}

const NO_FAULT: FaultDecision = { drop: false, latencyMs: 0, errorStatus: 0, truncate: false };

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Waits for 'drain' (or 'close') without leaving listeners behind. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function cut(res: ServerResponse, part: Buffer): void {
  res.write(part, () => res.destroy());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A number, a numeric string (v0.0.38's spec types priority as string) or a `{set, infinite, number}` object. */
function noValNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v.trim())) return Number(v.trim());
  if (isObject(v) && typeof v.number === 'number' && v.set !== false && v.infinite !== true) return v.number;
  return undefined;
}

function parseError(r: SlurmRenderer, description: string): Reply {
  return { status: 400, json: r.errors('slurmctld', [{ description, error_number: 9001, error: 'Unable to parse request', source: 'parse' }]) };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body over 1 MiB');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

/** POST /sim/v1/jobs body → SubmitSpec, or a message saying what is wrong. */
function submitSpec(body: unknown): SubmitSpec | string {
  if (body === undefined) return {};
  if (!isObject(body)) return 'job must be a JSON object';
  const known = new Set(['user', 'account', 'partition', 'qos', 'name', 'cpus', 'duration_s', 'time_limit_min', 'outcome', 'exit_code', 'array', 'hold', 'comment']);
  for (const k of Object.keys(body)) if (!known.has(k)) return `unknown field "${k}" (known: ${[...known].join(', ')})`;
  const str = (k: string): string | undefined | Error => (body[k] === undefined ? undefined : typeof body[k] === 'string' && body[k] !== '' ? (body[k] as string) : new Error(`${k} must be a non-empty string`));
  const int = (k: string, min: number): number | undefined | Error =>
    body[k] === undefined ? undefined : Number.isInteger(body[k]) && (body[k] as number) >= min ? (body[k] as number) : new Error(`${k} must be an integer >= ${min}`);
  const spec: SubmitSpec = {};
  for (const [k, field] of [
    ['user', 'user'],
    ['account', 'account'],
    ['partition', 'partition'],
    ['qos', 'qos'],
    ['name', 'name'],
    ['comment', 'comment'],
  ] as const) {
    const v = str(k);
    if (v instanceof Error) return v.message;
    if (v !== undefined) spec[field] = v;
  }
  for (const [k, field, min] of [
    ['cpus', 'cpus', 1],
    ['duration_s', 'durationS', 1],
    ['time_limit_min', 'timeLimitMin', 1],
    ['exit_code', 'exitCode', 1],
  ] as const) {
    const v = int(k, min);
    if (v instanceof Error) return v.message;
    if (v !== undefined) spec[field] = v;
  }
  if (body.outcome !== undefined) {
    if (body.outcome !== 'COMPLETED' && body.outcome !== 'FAILED' && body.outcome !== 'TIMEOUT') return 'outcome must be COMPLETED, FAILED or TIMEOUT';
    spec.outcome = body.outcome;
  }
  if (body.hold !== undefined) {
    if (typeof body.hold !== 'boolean') return 'hold must be true or false';
    spec.hold = body.hold;
  }
  if (body.array !== undefined) {
    const m = typeof body.array === 'string' ? /^(\d+)-(\d+)(?:%(\d+))?$/.exec(body.array) : null;
    if (!m || Number(m[2]) < Number(m[1]) || Number(m[2]) - Number(m[1]) > 100_000) return 'array must look like "1-100" or "1-100%4"';
    spec.array = { first: Number(m[1]), last: Number(m[2]), max: m[3] ? Number(m[3]) : undefined };
  }
  return spec;
}
