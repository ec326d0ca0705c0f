// The agent's local listener: GET /metrics (every registry it was given, one exposition) and
// GET /healthz (every health source; 200 when all are ok, 503 when one is degraded, with the
// reasons and what the agent is doing, which `sfleet agent status` prints). Plain HTTP only on
// loopback (the config refuses anything else); off loopback HTTPS with a client certificate
// or a bearer token from a file.
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Registry } from 'prom-client';
import type { Logger } from '../../shared/logging/index.js';
import type { ObserveConfig } from './config.js';

export interface HealthSnapshot {
  status: 'ok' | 'degraded';
  reasons: string[];
}

/** A named part that says whether it is well (the spool, the hub stream, Slurm...). */
export interface HealthSource {
  name: string;
  health(): HealthSnapshot;
}

export interface ListenerDeps {
  registries: Registry[];
  health: HealthSource[];
  /** What the agent is doing (roles, positions): the detail of /healthz. */
  status: () => Record<string, unknown>;
  logger: Logger;
}

export class ObserveListener {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async open(config: Omit<ObserveConfig, 'tracing'>, deps: ListenerDeps): Promise<ObserveListener | undefined> {
    const listen = config.listen;
    if (!listen) return undefined;
    const bearer = config.bearer_file ? readFileSync(config.bearer_file, 'utf8').trim() : undefined;
    if (bearer !== undefined && bearer.length < 16) throw new Error(`observe.bearer_file ${config.bearer_file}: the token is shorter than 16 characters`);
    // Neither a client CA nor a bearer: loopback only (the config refuses it elsewhere).
    const open = !bearer && !config.tls?.client_ca;
    const handler = (req: IncomingMessage, res: ServerResponse) => void answer(req, res, deps, open ? 'open' : bearer);
    const server = config.tls
      ? createHttpsServer(
          {
            cert: readFileSync(config.tls.cert),
            key: readFileSync(config.tls.key),
            ...(config.tls.client_ca ? { ca: readFileSync(config.tls.client_ca), requestCert: true, rejectUnauthorized: !bearer } : {}),
          },
          handler,
        )
      : createHttpServer(handler);
    const i = listen.lastIndexOf(':');
    const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`observe.listen ${listen}: ${err.message}`)));
      server.listen(Number(listen.slice(i + 1)), host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const url = `${config.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    deps.logger.info({ url }, 'agent metrics and health listening');
    return new ObserveListener(server, url);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function answer(req: IncomingMessage, res: ServerResponse, deps: ListenerDeps, bearer: string | 'open' | undefined): Promise<void> {
  try {
    if (!authorized(req, bearer)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('a client certificate or a bearer token is required\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      const bodies = await Promise.all(deps.registries.map((r) => r.metrics()));
      res.writeHead(200, { 'content-type': deps.registries[0]?.contentType ?? 'text/plain; version=0.0.4; charset=utf-8' }).end(bodies.join(''));
    } else if (path === '/healthz') {
      const parts = deps.health.map((h) => ({ name: h.name, ...h.health() }));
      const degraded = parts.filter((p) => p.status !== 'ok');
      const reasons = degraded.flatMap((p) => p.reasons.map((r) => `${p.name}: ${r}`));
      const body = { status: degraded.length === 0 ? 'ok' : 'degraded', reasons, ...deps.status() };
      res.writeHead(degraded.length === 0 ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics or /healthz\n');
    }
  } catch (err) {
    deps.logger.warn({ err: (err as Error).message }, 'agent metrics listener: request failed');
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error\n');
  }
}

/** A verified client certificate, or the bearer token; 'open': loopback without either. */
function authorized(req: IncomingMessage, bearer: string | 'open' | undefined): boolean {
  if (bearer === 'open') return true;
  if ((req.socket as { authorized?: boolean }).authorized === true) return true;
  if (bearer === undefined) return false;
  const got = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(got);
  const b = Buffer.from(bearer);
  return a.length === b.length && timingSafeEqual(a, b);
}
