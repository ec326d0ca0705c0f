// Confluence pages through REST API v1 (<url>/rest/api/content), the one API that Cloud and Data
// Center share. A page is found by space and title, then created (POST) or replaced (PUT with
// version.number one higher than the current: Confluence's optimistic lock, 409 when another edit
// came first, after which the page is read again once). Titles are the identity of our pages, so
// a run repeated after a crash or a failover updates the page it made instead of making another.
import { readSecret } from '../audit/secrets.js';
import { readFileSync } from 'node:fs';
import { request, type HttpOptions } from '../alerting/notify/http.js';
import type { TlsPolicy } from '../../shared/tls/policy.js';
import type { ConfluenceConfig } from './config.js';

export interface PublishedPage {
  id: string;
  title: string;
  version: number;
  created: boolean;
}

export class ConfluencePublishError extends Error {
  /** `status`: Confluence's HTTP answer when it refused the request. */
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'ConfluencePublishError';
  }

  /** Refused for what this page is (a title, its content), not for the space, the credentials or the load. */
  get refusesThePage(): boolean {
    return this.status !== undefined && this.status >= 400 && this.status < 500 && ![401, 403, 404, 408, 429].includes(this.status);
  }
}

/** Answers are read up to this size: a page listing with `expand=version` is a few KiB. */
const MAX_ANSWER = 1024 * 1024;

interface HttpAnswer {
  outcome: 'delivered' | 'retry' | 'rejected';
  status?: number;
  reason: string;
  retryAfterMs?: number;
  json?: Record<string, unknown>;
}

export interface ClientDeps {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  env?: NodeJS.ProcessEnv;
  /** security.encryption.tls: the TLS 1.3 suites offered to Confluence. */
  tls?: TlsPolicy;
}

export class ConfluenceClient {
  private readonly api: string;
  private readonly headers: Record<string, string>;
  private parentId: string | undefined;
  private readonly http: HttpOptions;

  constructor(private readonly config: ConfluenceConfig, private readonly deps: ClientDeps = {}) {
    this.api = `${config.url.replace(/\/+$/, '')}/rest/api/content`;
    const token = readSecret('integrations.confluence token', { env: config.token_env, file: config.token_file }, deps.env);
    if (!token) throw new ConfluencePublishError('integrations.confluence: the token is empty');
    const authorization = config.username ? `Basic ${Buffer.from(`${config.username}:${token}`).toString('base64')}` : `Bearer ${token}`;
    this.http = { ...(deps.tls ? { tls: deps.tls } : {}), ...(config.ca_file ? { ca: readCa(config.ca_file) } : {}) };
    this.headers = { accept: 'application/json', 'content-type': 'application/json', authorization };
  }

  /** Creates the page, or replaces the body of the page of that title in the space. */
  async publish(title: string, storage: string): Promise<PublishedPage> {
    const ancestors = await this.ancestors();
    for (let conflict = 0; ; conflict++) {
      const existing = await this.find(title);
      const body = { type: 'page', title, space: { key: this.config.space }, ...ancestors, body: { storage: { value: storage, representation: 'storage' } } };
      const res = existing
        ? await this.call('PUT', `/${encodeURIComponent(existing.id)}`, { id: existing.id, ...body, version: { number: existing.version + 1, message: 'sfleet' } }, [409])
        : await this.call('POST', '', body);
      if (res.status === 409 && conflict === 0) continue;
      const page = this.answered(res, existing ? `PUT page ${existing.id}` : 'POST page');
      const id = page.id;
      if (typeof id !== 'string' && typeof id !== 'number') throw new ConfluencePublishError('Confluence answered without a page id');
      const version = Number((page.version as { number?: unknown } | undefined)?.number ?? (existing ? existing.version + 1 : 1));
      return { id: String(id), title, version, created: !existing };
    }
  }

  /** The page of this title in the space, with its current version. */
  async find(title: string): Promise<{ id: string; version: number } | undefined> {
    const q = new URLSearchParams({ spaceKey: this.config.space, title, type: 'page', expand: 'version' });
    const found = this.answered(await this.call('GET', `?${q}`), 'GET page by title');
    const first = (found.results as { id?: unknown; version?: { number?: unknown } }[] | undefined)?.[0];
    if (!first) return undefined;
    const version = Number(first.version?.number);
    if ((typeof first.id !== 'string' && typeof first.id !== 'number') || !Number.isInteger(version)) throw new ConfluencePublishError('Confluence listed a page without id or version');
    return { id: String(first.id), version };
  }

  private async ancestors(): Promise<{ ancestors?: { id: string }[] }> {
    const parent = this.config.parent_page;
    if (parent === undefined) return {};
    if (this.parentId === undefined) {
      if (typeof parent === 'number' || /^\d+$/.test(parent)) this.parentId = String(parent);
      else {
        const page = await this.find(parent);
        if (!page) throw new ConfluencePublishError(`integrations.confluence.parent_page: space ${this.config.space} has no page titled "${parent}"`);
        this.parentId = page.id;
      }
    }
    return { ancestors: [{ id: this.parentId }] };
  }

  /** One request with retries for what may pass (no answer, 408, 429 after Retry-After, 5xx). */
  private async call(method: string, path: string, body?: unknown, expected: number[] = []): Promise<HttpAnswer> {
    const sleep = this.deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const random = this.deps.random ?? Math.random;
    for (let attempt = 0; ; attempt++) {
      const res = await this.once(method, `${this.api}${path}`, body === undefined ? undefined : JSON.stringify(body));
      if (res.outcome !== 'retry' || attempt >= this.config.retries || (res.status !== undefined && expected.includes(res.status))) return res;
      const backoff = Math.min(30_000, 500 * 2 ** attempt) * (0.5 + random());
      await sleep(Math.min(60_000, res.retryAfterMs ?? backoff));
    }
  }

  /** 2xx delivered; 408, 429 and 5xx or no answer retry; other 4xx rejected (alerting's request()). Reasons never hold the token. */
  private async once(method: string, url: string, body: string | undefined): Promise<HttpAnswer> {
    const res = await request(method, url, body, this.headers, AbortSignal.timeout(this.config.timeout), { maxAnswer: MAX_ANSWER, ...this.http });
    if (res.truncated) return { outcome: 'rejected', ...(res.status !== undefined ? { status: res.status } : {}), reason: `HTTP ${res.status}: answer unreadable: over ${MAX_ANSWER} bytes` };
    const reason = res.outcome === 'delivered' ? `HTTP ${res.status}` : res.reason;
    const out: HttpAnswer = { outcome: res.outcome, reason, ...(res.status !== undefined ? { status: res.status } : {}), ...(res.outcome === 'retry' && res.retryAfterMs !== undefined ? { retryAfterMs: res.retryAfterMs } : {}) };
    if (res.outcome !== 'delivered') return out;
    let json: unknown;
    try {
      json = JSON.parse(res.body ?? '');
    } catch {
      json = undefined;
    }
    return json && typeof json === 'object' ? { ...out, json: json as Record<string, unknown> } : out;
  }

  private answered(res: HttpAnswer, what: string): Record<string, unknown> {
    if (res.outcome !== 'delivered') throw new ConfluencePublishError(`Confluence ${what}: ${res.reason}`, res.status);
    if (!res.json) throw new ConfluencePublishError(`Confluence ${what}: the answer is not JSON`);
    return res.json;
  }
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfluencePublishError(`integrations.confluence.ca_file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
