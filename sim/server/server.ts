// A slurmrestd look-alike for one simulated cluster, on node:http. It serves only its own API
// version's paths (anything else is slurmrestd's plain-text 404), checks the JWT headers the way
// slurmrestd does (401 text/plain "Authentication failure"), answers `?update_time=T` with 304 when
// nothing changed since T, and adds the sim-only control API under /sim/v1/.
//
// This file wires the parts: authentication and fault injection per request, then the slurmrestd
// routes (slurmrestd-routes.ts) or the control routes (control-routes.ts); reply.ts writes answers.
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { SimEngine } from '../engine/index.js';
import type { ApiVersion } from '../render/index.js';
import { ControlRoutes } from './control-routes.js';
import { Faults, type FaultSpec } from './faults.js';
import { NO_FAULT, sendFailure, sendReply } from './reply.js';
import { SlurmRestRoutes } from './slurmrestd-routes.js';

export interface SimServerOptions {
  engine: SimEngine;
  apiVersion: ApiVersion;
  /** When set, X-SLURM-USER-TOKEN must equal it (and /sim/v1/* needs the same headers). */
  token?: string;
  faults?: FaultSpec;
  /** Seeds the fault draws. */
  seed?: number;
}

const AUTH_FAILURE = 'Authentication failure';

export class SimServer {
  readonly engine: SimEngine;
  readonly apiVersion: ApiVersion;
  readonly faults: Faults;
  private readonly slurmrestd: SlurmRestRoutes;
  private readonly control: ControlRoutes;
  private readonly tokenDigest?: Buffer;
  private readonly http: Server;
  private readonly sockets = new Set<Socket>();

  constructor(opts: SimServerOptions) {
    this.engine = opts.engine;
    this.apiVersion = opts.apiVersion;
    this.tokenDigest = opts.token ? digest(opts.token) : undefined;
    this.faults = new Faults(opts.seed ?? 1, opts.faults);
    this.slurmrestd = new SlurmRestRoutes(opts.engine, opts.apiVersion);
    this.control = new ControlRoutes(opts.engine, opts.apiVersion, this.faults);
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => sendFailure(res, err));
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
      if (this.tokenDigest && !this.authorized(req)) return sendReply(res, { status: 401, text: AUTH_FAILURE }, NO_FAULT);
      return sendReply(res, await this.control.handle(req, path), NO_FAULT);
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
    if (!this.authorized(req)) return sendReply(res, { status: 401, text: AUTH_FAILURE }, fault);
    const user = String(req.headers['x-slurm-user-name']);
    if (fault.errorStatus > 0) return sendReply(res, this.slurmrestd.injectedError(user, req, fault.errorStatus), fault);
    const reply = await this.slurmrestd.route(req, path, url.searchParams, user);
    return sendReply(res, reply ?? { status: 404, text: this.slurmrestd.notFoundText }, fault);
  }

  private authorized(req: IncomingMessage): boolean {
    const user = req.headers['x-slurm-user-name'];
    const token = req.headers['x-slurm-user-token'];
    if (typeof user !== 'string' || user === '' || typeof token !== 'string' || token === '') return false;
    if (!this.tokenDigest) return true;
    return timingSafeEqual(digest(token), this.tokenDigest);
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
