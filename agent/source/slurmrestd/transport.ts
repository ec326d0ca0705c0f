// HTTP to slurmrestd over TCP (http/https) or a unix socket, with the JWT headers, a timeout,
// a size cap and keep-alive. It knows nothing about Slurm's payloads: it returns status,
// content type and text, and throws only when there is no complete answer.
//
// The token goes into one header and nowhere else: error messages name the method, the path
// and the endpoint, never headers, and never the text of a Node error (it could echo input).
import http from 'node:http';
import https from 'node:https';
import { SlurmResponseError, SlurmUnavailableError } from '../../../shared/errors/index.js';

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
}

export interface RestResponse {
  status: number;
  /** Empty when the server sent none (304). */
  contentType: string;
  text: string;
  endpoint: string;
}

export interface RestRequest {
  method?: 'GET' | 'POST' | 'DELETE';
  /** Absolute path with its query string, e.g. `/slurm/v0.0.41/jobs?update_time=1700000000`. */
  path: string;
  body?: unknown;
  signal?: AbortSignal;
}

interface Endpoint {
  url: string;
  base: http.RequestOptions;
  request: typeof http.request;
}

/** Errors that mean "this endpoint cannot be reached": the next endpoint is tried. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'EACCES', 'ECONNRESET', 'EPIPE']);

export class RestTransport {
  private readonly endpoints: Endpoint[];
  private readonly agents: http.Agent[] = [];
  /** The endpoint that answered last; requests start there. */
  private current = 0;

  constructor(private readonly options: TransportOptions) {
    if (options.endpoints.length === 0) throw new Error('slurmrestd transport needs at least one endpoint');
    this.endpoints = options.endpoints.map((url) => this.parseEndpoint(url));
  }

  get endpoint(): string {
    return this.endpoints[this.current].url;
  }

  async request(req: RestRequest): Promise<RestResponse> {
    const start = this.current;
    let lastError: unknown;
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (start + i) % this.endpoints.length;
      try {
        const res = await this.send(this.endpoints[index], req);
        this.current = index;
        return res;
      } catch (err) {
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

  close(): void {
    for (const agent of this.agents) agent.destroy();
  }

  private parseEndpoint(url: string): Endpoint {
    if (url.startsWith('unix:')) {
      const socketPath = url.slice('unix:'.length);
      if (!socketPath.startsWith('/')) throw new Error(`slurmrestd endpoint "${url}": unix socket path must be absolute`);
      const agent = this.agent(http.Agent);
      return { url, base: { socketPath, agent }, request: http.request };
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
    const agent = this.agent(secure ? https.Agent : http.Agent);
    return {
      url: `${parsed.protocol}//${parsed.host}`,
      base: { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port || (secure ? 443 : 80), agent },
      request: secure ? https.request : http.request,
    };
  }

  private agent(Kind: typeof http.Agent | typeof https.Agent): http.Agent {
    // A few sockets are enough: one poll fetches about eight lists at once.
    const agent = new Kind({ keepAlive: true, maxSockets: 8, maxFreeSockets: 8, keepAliveMsecs: 10_000 });
    this.agents.push(agent);
    return agent;
  }

  private async send(endpoint: Endpoint, req: RestRequest): Promise<RestResponse> {
    try {
      return await this.sendOnce(endpoint, req);
    } catch (err) {
      // A kept-alive socket the server had already closed: the request never reached it.
      if (err instanceof ConnectError && err.reusedSocket) return this.sendOnce(endpoint, req);
      throw err;
    }
  }

  private sendOnce(endpoint: Endpoint, req: RestRequest): Promise<RestResponse> {
    const method = req.method ?? 'GET';
    const what = `${method} ${req.path.split('?')[0]} on ${endpoint.url}`;
    const { timeoutMs, maxBodyBytes } = this.options;
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
    if (this.options.auth) {
      headers['x-slurm-user-name'] = this.options.auth.user;
      headers['x-slurm-user-token'] = this.options.auth.token;
    }
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
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
      const timer = setTimeout(
        () => finish(new SlurmUnavailableError(`slurmrestd did not answer ${what} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.signal?.addEventListener('abort', onAbort, { once: true });

      const request = endpoint.request({ ...endpoint.base, method, path: req.path, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
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
            contentType: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks, size).toString('utf8'),
            endpoint: endpoint.url,
          });
        });
        res.on('close', () => {
          if (!res.complete) finish(new SlurmResponseError(`slurmrestd answer to ${what} was cut off after ${size} bytes`));
        });
        res.on('error', () => undefined); // 'close' follows
      });
      request.on('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? 'error';
        // No response yet: this endpoint is unreachable (or dropped us), try the next one.
        if (CONNECT_ERRORS.has(code)) finish(new ConnectError(code, request.reusedSocket));
        else finish(new SlurmUnavailableError(`slurmrestd request ${what} failed (${code})`));
      });
      request.end(payload);
    });
  }
}

class ConnectError extends Error {
  constructor(
    readonly code: string,
    readonly reusedSocket: boolean,
  ) {
    super(code);
  }
}
