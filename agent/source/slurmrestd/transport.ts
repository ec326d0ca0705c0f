// HTTP to slurmrestd over TCP (http/https) or a unix socket, with the JWT headers, a timeout,
// a size cap and keep-alive. It knows nothing about Slurm's payloads: it returns status,
// content type and text, and throws only when there is no complete answer. Answers a sink
// streams (the big lists) skip Node's client over http:// and unix: raw-request.ts.
//
// The token goes into one header and nowhere else: error messages name the method, the path
// and the endpoint, never headers, and never the text of a Node error (it could echo input).
import http from 'node:http';
import https from 'node:https';
import { SlurmResponseError, SlurmUnavailableError } from '../../../shared/errors/index.js';
import { EndpointPool, STICKY, type EndpointPoolDeps, type LoadBalancing } from './endpoint-pool.js';
import { rawRequest, type RawRequest } from './raw-request.js';
import { errorKind, SlurmrestdStats } from './request-stats.js';
import type { RestRequest, RestResponse } from './rest-exchange.js';

export interface RestAuth {
  user: string;
  token: string;
}

export interface TransportOptions {
  /** Tried in order on connection failure: `http(s)://host:port` or `unix:/path/to.sock`. */
  endpoints: string[];
  /** Omit for a `rest_auth/local` unix socket. */
  auth?: RestAuth;
  timeoutMs: number;
  maxBodyBytes: number;
  /** Which endpoint is in use and when it changes; default: move on at the first failure and stay (no health checks). */
  loadBalancing?: LoadBalancing;
  /** The pool's event stamp and listener. */
  pool?: EndpointPoolDeps;
  /** https endpoints: a CA (PEM) to trust instead of the system's, or no certificate check. */
  tls?: { ca?: string; insecure: boolean };
}

interface Endpoint {
  url: string;
  base: http.RequestOptions;
  request: typeof http.request;
  /** Plain TCP or unix: streamed answers skip Node's http client (raw-request.ts). */
  raw?: Pick<RawRequest, 'target' | 'host'>;
}

/** Errors that mean "this endpoint cannot be reached": the next endpoint is tried. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'EACCES', 'ECONNRESET', 'EPIPE']);

export class RestTransport {
  private readonly endpoints: Endpoint[];
  private readonly agents: http.Agent[] = [];
  /** Which endpoint requests start at; health and failover (endpoint-pool.ts). */
  readonly pool: EndpointPool;
  /** Every request's latency and errors by kind (request-stats.ts), health checks included. */
  readonly stats = new SlurmrestdStats();

  constructor(private readonly options: TransportOptions) {
    if (options.endpoints.length === 0) throw new Error('slurmrestd transport needs at least one endpoint');
    this.endpoints = options.endpoints.map((url) => this.parseEndpoint(url));
    // Only scheme, host and port (or the socket path) reach the pool, its events and the logs.
    this.pool = new EndpointPool(
      this.endpoints.map((e) => e.url),
      options.loadBalancing ?? STICKY,
      options.pool,
    );
  }

  /** The endpoint in use. */
  get endpoint(): string {
    return this.pool.active;
  }

  async request(req: RestRequest): Promise<RestResponse> {
    let lastError: unknown;
    for (const index of this.pool.order()) {
      let token = req.round?.get(index);
      if (token === undefined) {
        token = this.pool.begin(index);
        req.round?.set(index, token);
      }
      const fault: Fault = {};
      try {
        const res = await this.send(this.endpoints[index], req, fault);
        // A complete answer means the endpoint is there; a 5xx says nothing either way
        // (slurmctld or slurmdbd trouble behind a healthy slurmrestd, the 22.05 nodes bug).
        if (res.status < 500) this.pool.succeeded(index, token);
        return res;
      } catch (err) {
        if (fault.reason !== undefined && !req.signal?.aborted) this.pool.failed(index, token, fault.reason);
        if (!(err instanceof ConnectError)) throw err;
        lastError = err;
      }
    }
    const only = this.endpoints.length === 1;
    throw new SlurmUnavailableError(
      only
        ? `slurmrestd ${this.endpoints[0].url} unreachable (${(lastError as ConnectError).code})`
        : `no slurmrestd endpoint reachable (${this.endpoints.map((e) => e.url).join(', ')}; last: ${(lastError as ConnectError).code})`,
    );
  }

  /**
   * One health check of endpoint `index`: GET `path` there, outside the request order.
   * Undefined when it answered below HTTP 500, else why not.
   */
  async probe(index: number, path: string): Promise<string | undefined> {
    const fault: Fault = {};
    try {
      const res = await this.send(this.endpoints[index], { path }, fault, Math.min(this.options.timeoutMs, PROBE_TIMEOUT_MS));
      return res.status < 500 ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      return fault.reason ?? (err instanceof Error ? err.message : String(err));
    }
  }

  close(): void {
    void this.pool.stop();
    for (const agent of this.agents) agent.destroy();
  }

  private parseEndpoint(url: string): Endpoint {
    if (url.startsWith('unix:')) {
      const socketPath = url.slice('unix:'.length);
      if (!socketPath.startsWith('/')) throw new Error(`slurmrestd endpoint "${url}": unix socket path must be absolute`);
      const agent = this.agent(http.Agent);
      return { url, base: { socketPath, agent }, request: http.request, raw: { target: { path: socketPath }, host: 'localhost' } };
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`slurmrestd endpoint "${url}" is not a URL (use http://host:port, https://host:port or unix:/path)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`slurmrestd endpoint "${url}": protocol must be http, https or unix`);
    }
    const secure = parsed.protocol === 'https:';
    const agent = secure ? this.httpsAgent() : this.agent(http.Agent);
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    const port = Number(parsed.port) || (secure ? 443 : 80);
    return {
      url: `${parsed.protocol}//${parsed.host}`,
      base: { host, port, agent },
      request: secure ? https.request : http.request,
      ...(secure ? {} : { raw: { target: { host, port }, host: parsed.host } }),
    };
  }

  private httpsAgent(): https.Agent {
    const tls = this.options.tls;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 8, maxFreeSockets: 8, keepAliveMsecs: 10_000, ...(tls?.ca ? { ca: tls.ca } : {}), rejectUnauthorized: !tls?.insecure });
    this.agents.push(agent);
    return agent;
  }

  private agent(Kind: typeof http.Agent | typeof https.Agent): http.Agent {
    // A few sockets are enough: one poll fetches about eight lists at once.
    const agent = new Kind({ keepAlive: true, maxSockets: 8, maxFreeSockets: 8, keepAliveMsecs: 10_000 });
    this.agents.push(agent);
    return agent;
  }

  /** One request at one endpoint, counted in `stats` (a request we aborted ourselves is not). */
  private async send(endpoint: Endpoint, req: RestRequest, fault: Fault, timeoutMs = this.options.timeoutMs): Promise<RestResponse> {
    const method = req.method ?? 'GET';
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const res = await this.sendRetrying(endpoint, req, fault, timeoutMs);
      this.stats.observe(method, req.path, seconds(), res.status >= 500 ? 'http_5xx' : res.status >= 400 ? 'http_4xx' : undefined);
      return res;
    } catch (err) {
      if (!req.signal?.aborted) this.stats.observe(method, req.path, seconds(), errorKind(fault.reason, err, err instanceof ConnectError));
      throw err;
    }
  }

  private async sendRetrying(endpoint: Endpoint, req: RestRequest, fault: Fault, timeoutMs: number): Promise<RestResponse> {
    try {
      return await this.sendOnce(endpoint, req, fault, timeoutMs);
    } catch (err) {
      // A kept-alive socket the server had already closed: the request never reached it.
      if (err instanceof ConnectError && err.reusedSocket) {
        fault.reason = undefined;
        return this.sendOnce(endpoint, req, fault, timeoutMs);
      }
      throw err;
    }
  }

  /** Fills `fault.reason` when the failure is the endpoint's (unreachable, silent, cut off). */
  private sendOnce(endpoint: Endpoint, req: RestRequest, fault: Fault, timeoutMs: number): Promise<RestResponse> {
    const method = req.method ?? 'GET';
    const what = `${method} ${req.path.split('?')[0]} on ${endpoint.url}`;
    const { maxBodyBytes } = this.options;
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
    if (this.options.auth) {
      headers['x-slurm-user-name'] = req.actAs ?? this.options.auth.user;
      headers['x-slurm-user-token'] = this.options.auth.token;
    }
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    if (req.sink && endpoint.raw) {
      return rawRequest({
        ...endpoint.raw,
        endpoint: endpoint.url,
        method,
        path: req.path,
        headers: headers as Record<string, string | number>,
        payload,
        what,
        timeoutMs,
        maxBodyBytes,
        signal: req.signal,
        sink: req.sink,
        fault,
        unreachable: (code) => new ConnectError(code, false),
        connectErrors: CONNECT_ERRORS,
      });
    }

    return new Promise<RestResponse>((resolve, reject) => {
      req.signal?.throwIfAborted();
      let settled = false;
      const finish = (err: Error | undefined, value?: RestResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        if (err) {
          request.destroy();
          reject(err);
        } else resolve(value!);
      };
      const onAbort = (): void => finish(req.signal!.reason instanceof Error ? req.signal!.reason : new Error('aborted'));
      const timer = setTimeout(() => {
        fault.reason = `no answer within ${timeoutMs} ms`;
        finish(new SlurmUnavailableError(`slurmrestd did not answer ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      req.signal?.addEventListener('abort', onAbort, { once: true });

      const request = endpoint.request({ ...endpoint.base, method, path: req.path, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const contentType = String(res.headers['content-type'] ?? '');
        const sink = req.sink?.(res.statusCode ?? 0, contentType);
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (sink) {
            if (settled) return;
            try {
              sink.write(chunk);
            } catch (err) {
              finish(err instanceof Error ? err : new SlurmResponseError(`slurmrestd answer to ${what} could not be read`));
            }
            return;
          }
          if (size > maxBodyBytes) {
            finish(new SlurmResponseError(`slurmrestd answer to ${what} is larger than ${maxBodyBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (!res.complete) return; // 'close' reports it
          finish(undefined, {
            status: res.statusCode ?? 0,
            contentType,
            text: sink ? '' : Buffer.concat(chunks, size).toString('utf8'),
            endpoint: endpoint.url,
            ...(sink ? { streamed: true } : {}),
          });
        });
        res.on('close', () => {
          if (res.complete || settled) return;
          fault.reason = `answer cut off after ${size} bytes`;
          finish(new SlurmResponseError(`slurmrestd answer to ${what} was cut off after ${size} bytes`));
        });
        res.on('error', () => undefined); // 'close' follows
      });
      request.on('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? 'error';
        if (!settled) fault.reason = code;
        // No response yet: this endpoint is unreachable (or dropped us), try the next one.
        if (CONNECT_ERRORS.has(code)) finish(new ConnectError(code, request.reusedSocket));
        else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
          finish(new SlurmUnavailableError(`slurmrestd request ${what} failed (${code}): its certificate is not trusted; set slurm.tls.ca_file to the CA that signed it`));
        } else finish(new SlurmUnavailableError(`slurmrestd request ${what} failed (${code})`));
      });
      request.end(payload);
    });
  }
}

/** Health checks answer quickly or count as failed, whatever the request timeout. */
const PROBE_TIMEOUT_MS = 10_000;

interface Fault {
  reason?: string;
}

class ConnectError extends Error {
  constructor(
    readonly code: string,
    readonly reusedSocket: boolean,
  ) {
    super(code);
  }
}
