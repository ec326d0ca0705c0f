// A small HTTPS client for the hub's /api/v1: TLS 1.3, the fleet CA, a client certificate
// or a bearer token, problem+json errors turned into readable messages.
import { existsSync, readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Connection } from './connection.js';
import { tlsVersionOptions } from '../../shared/tls/policy.js';

export class HubRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * A key on a PKCS#11 token (smart card, HSM) through OpenSSL's pkcs11 engine (libp11): the key
 * never leaves the token. The engine is loaded by path (SFLEET_PKCS11_ENGINE, default Debian's):
 * Node's own OpenSSL does not look in the system's engines directory. The module comes from
 * PKCS11_MODULE_PATH (libp11's own variable) and the PIN from SFLEET_PKCS11_PIN or the URI.
 */
function pkcs11Key(uri: string, env: NodeJS.ProcessEnv = process.env): RequestOptions {
  const engine = env.SFLEET_PKCS11_ENGINE ?? '/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so';
  if (!existsSync(engine)) throw new HubRequestError(`the key is on a PKCS#11 token (${uri.split(';')[0]}), but the OpenSSL pkcs11 engine ${engine} is missing: install libengine-pkcs11-openssl or set SFLEET_PKCS11_ENGINE`);
  const pin = env.SFLEET_PKCS11_PIN;
  // libp11 reads pin-value among the path attributes (as OpenSSL's own examples write it).
  const [path, query] = uri.split('?', 2);
  const id = pin && !/[;?&]pin-(value|source)=/.test(uri) ? `${path};pin-value=${encodeURIComponent(pin)}${query ? `?${query}` : ''}` : uri;
  return { privateKeyEngine: engine, privateKeyIdentifier: id };
}

/** How long a request may wait for the hub by default (a report or query says its own: --timeout). */
export const DEFAULT_TIMEOUT_MS = 60_000;

export class HubClient {
  private readonly base: URL;
  private readonly tlsOptions: RequestOptions;
  private readonly timeoutMs: number;

  constructor(
    private readonly conn: Connection,
    opts: { timeoutMs?: number } = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    try {
      this.base = new URL(conn.hub);
    } catch {
      throw new HubRequestError(`invalid hub URL "${conn.hub}" (expected https://HOST:PORT)`);
    }
    if (this.base.protocol !== 'https:') throw new HubRequestError(`the hub URL must be https:// (got ${this.base.protocol})`);
    const read = (path: string | undefined, what: string): Buffer | undefined => {
      if (!path) return undefined;
      try {
        return readFileSync(path);
      } catch {
        throw new HubRequestError(`cannot read ${what} file ${path}`);
      }
    };
    this.tlsOptions = {
      ca: read(conn.ca, 'CA'),
      cert: read(conn.cert, 'client certificate'),
      ...(conn.key?.startsWith('pkcs11:') ? pkcs11Key(conn.key) : { key: read(conn.key, 'client key') }),
      // TLS 1.3 only, with the suites of the context or SFLEET_CIPHER_SUITES (the hub's cipher_suites).
      ...tlsVersionOptions(conn.cipher_suites ? { cipherSuites: conn.cipher_suites } : undefined),
    };
  }

  private open(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<IncomingMessage> {
    const url = new URL(path, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { ...extra, accept: 'application/json' };
    if (this.conn.token) headers.authorization = `Bearer ${this.conn.token}`;
    if (this.conn.tenant) headers['x-sfleet-tenant'] = this.conn.tenant;
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = request(url, { ...this.tlsOptions, method, headers, timeout: this.timeoutMs }, resolve);
      const waited = this.timeoutMs % 1000 ? `${this.timeoutMs} ms` : `${this.timeoutMs / 1000} s`;
      req.on('timeout', () => req.destroy(new HubRequestError(`the hub at ${this.base.origin} did not answer within ${waited} (a longer wait: --timeout, e.g. --timeout 10m)`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(err instanceof HubRequestError ? err : new HubRequestError(describeNetworkError(err, this.base.origin))));
      req.end(payload);
    });
  }

  async json<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const res = await this.open(method, path, body, headers);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new HubRequestError(`the hub answered ${res.statusCode} with something that is not JSON`, res.statusCode);
    }
    if ((res.statusCode ?? 500) >= 400) {
      const p = (parsed ?? {}) as { detail?: string; code?: string };
      throw new HubRequestError(`${p.detail ?? `HTTP ${res.statusCode}`}${p.code ? ` (${p.code})` : ''}`, res.statusCode, p.code);
    }
    return parsed as T;
  }

  /** A GET whose body is a file (an export): the response to read, once the hub said 2xx. */
  async download(path: string): Promise<IncomingMessage> {
    const res = await this.open('GET', path);
    if ((res.statusCode ?? 500) < 400) return res;
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    let p: { detail?: string; code?: string } = {};
    try {
      p = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as typeof p;
    } catch {
      // not problem+json: the status says it
    }
    throw new HubRequestError(`${p.detail ?? `HTTP ${res.statusCode}`}${p.code ? ` (${p.code})` : ''}`, res.statusCode, p.code);
  }

  /** GET every page of a paged list. */
  async all<T>(path: string, params: Record<string, string | number | undefined>, max = Infinity, onPage?: (page: Record<string, unknown>) => void): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    do {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
      if (cursor) q.set('cursor', cursor);
      const page = await this.json<{ items: T[]; next_cursor?: string | null }>('GET', `${path}?${q}`);
      onPage?.(page);
      out.push(...page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor && out.length < max);
    return out.slice(0, max);
  }

  /** Server-Sent Events from /api/v1/watch; resolves when the stream ends. */
  /**
   * Reads an SSE stream: onEvent gets each event with data. A block with an id and no data (the
   * watch's opening place) dispatches nothing, as in a browser, and goes to onPlace: where to resume.
   */
  async stream(path: string, lastEventId: string | undefined, onEvent: (e: { id?: string; event: string; data: string }) => void, onPlace?: (id: string) => void): Promise<void> {
    const res = await this.open('GET', path + (lastEventId ? `${path.includes('?') ? '&' : '?'}last_event_id=${encodeURIComponent(lastEventId)}` : ''));
    if ((res.statusCode ?? 500) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const p = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { detail?: string };
      throw new HubRequestError(p.detail ?? `HTTP ${res.statusCode}`, res.statusCode);
    }
    res.setEncoding('utf8');
    let buffer = '';
    for await (const chunk of res) {
      buffer += chunk as string;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: { id?: string; event: string; data: string } = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const i = line.indexOf(':');
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
          if (field === 'id') event.id = value;
          else if (field === 'event') event.event = value;
          else if (field === 'data') event.data += value;
        }
        if (event.data) onEvent(event);
        else if (event.id) onPlace?.(event.id);
      }
    }
  }
}

function describeNetworkError(err: NodeJS.ErrnoException, origin: string): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `cannot connect to the hub at ${origin}: connection refused (is it running?)`;
    case 'ENOTFOUND':
      return `cannot resolve the hub host of ${origin}`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_SIGNATURE_FAILURE':
      return `the hub at ${origin} presented a certificate our CA did not sign (${err.code}); check --ca / SFLEET_CA`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the hub's certificate does not name ${origin}; reissue it with --san`;
    default:
      return `cannot talk to the hub at ${origin}: ${err.code ?? err.message}`;
  }
}
