// The slurmrestd API of one version over the simulated cluster: the read routes (with
// `?update_time=T` answering 304 when nothing changed since T, and each release's own quirks),
// job update and cancel, and node update. Anything else is undefined, which the server turns into
// that version's plain-text 404. Authentication and faults are the server's part.
import type { IncomingMessage } from 'node:http';
import { SimCommandError, type SimEngine } from '../engine/index.js';
import { SlurmRenderer, versionInfo, type ApiVersion, type VersionInfo } from '../render/index.js';
import { openapiDocument } from './openapi.js';
import { isObject, readJson, type Reply } from './reply.js';

export class SlurmRestRoutes {
  private readonly v: VersionInfo;

  constructor(
    private readonly engine: SimEngine,
    private readonly apiVersion: ApiVersion,
  ) {
    this.v = versionInfo(apiVersion);
  }

  /** The version's plain-text answer to an unknown path. */
  get notFoundText(): string {
    return this.v.notFoundText;
  }

  private renderer(user: string, req: IncomingMessage): SlurmRenderer {
    const source = `${req.socket.remoteAddress ?? 'unknown'}:${req.socket.remotePort ?? 0}(fd:12)`;
    return new SlurmRenderer(this.engine, this.apiVersion, user, source);
  }

  /** The error a fault injects: the version's own error document, with the drawn status. */
  injectedError(user: string, req: IncomingMessage, status: number): Reply {
    const r = this.renderer(user, req);
    return { status, json: r.errors('slurmctld', [{ description: 'fault injected by sfleet sim', error_number: -1, error: 'Unspecified error', source: 'sim' }]) };
  }

  /** The version's slurmrestd routes; undefined means 404. */
  async route(req: IncomingMessage, path: string, query: URLSearchParams, user: string): Promise<Reply | undefined> {
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
