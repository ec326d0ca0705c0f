// A local Confluence (REST API v1, /wiki/rest/api/content, as Cloud serves it) for the report
// pages: it checks each request as Atlassian documents it and answers as Confluence does.
// - auth: Basic <account e-mail>:<API token> (Cloud) or Bearer <personal access token> (Data Center);
// - GET ?spaceKey=&title=[&type=page][&expand=version]: the page of that title, or none;
// - POST: a page needs type "page", a title (<= 255) unique in the space, the space key, at most an
//   ancestor that is a page of that space, and a storage-format body that is well-formed XHTML;
// - PUT /{id}: the same, with version.number exactly one above the current (409 otherwise).
// https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-content/
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackReceiver } from './alert-receivers.js';

export interface StoredPage {
  id: string;
  title: string;
  space: string;
  version: number;
  parentId?: string;
  storage: string;
}

export class ConfluenceReceiver extends LoopbackReceiver {
  readonly pages = new Map<string, StoredPage>();
  /** Every request in order (method and path), accepted or not. */
  readonly requests: { method: string; path: string; status: number }[] = [];
  private nextId = 100_000;

  constructor(private readonly spaces: string[], private readonly auth: { user?: string; token: string }) {
    super();
  }

  /** A page that exists before the hub writes (the parent the reports are filed under). */
  seed(space: string, title: string): StoredPage {
    const page = { id: String(this.nextId++), title, space, version: 1, storage: '<p>seed</p>' };
    this.pages.set(page.id, page);
    return page;
  }

  byTitle(title: string): StoredPage | undefined {
    return [...this.pages.values()].find((p) => p.title === title);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://confluence');
    const answer = (status: number, body: unknown): void => {
      this.requests.push({ method: req.method ?? '', path: url.pathname, status });
      if (status >= 400) this.refused.push({ path: `${req.method} ${url.pathname}`, why: String((body as { message?: string }).message) });
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const fail = (status: number, message: string): void => answer(status, { statusCode: status, message, data: { authorized: status !== 401, valid: false, errors: [] } });
    const expected = this.auth.user ? `Basic ${Buffer.from(`${this.auth.user}:${this.auth.token}`).toString('base64')}` : `Bearer ${this.auth.token}`;
    if (req.headers.authorization !== expected) return fail(401, 'Basic authentication with passwords is deprecated / token invalid');
    const base = '/wiki/rest/api/content';
    if (req.method === 'GET' && url.pathname === base) {
      const space = url.searchParams.get('spaceKey');
      const title = url.searchParams.get('title');
      const type = url.searchParams.get('type') ?? 'page';
      const found = [...this.pages.values()].filter((p) => type === 'page' && (!space || p.space === space) && (!title || p.title === title));
      const withVersion = (url.searchParams.get('expand') ?? '').split(',').includes('version');
      return answer(200, { results: found.map((p) => this.view(p, withVersion)), start: 0, limit: 25, size: found.length, _links: { base: 'http://confluence/wiki', context: '/wiki' } });
    }
    const putMatch = /^\/wiki\/rest\/api\/content\/(\d+)$/.exec(url.pathname);
    if ((req.method === 'POST' && url.pathname === base) || (req.method === 'PUT' && putMatch)) {
      if (!String(req.headers['content-type']).startsWith('application/json')) return fail(415, 'Unsupported Media Type');
      let b: Record<string, unknown>;
      try {
        b = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return fail(400, 'Could not parse the request body as JSON');
      }
      const existing = putMatch ? this.pages.get(putMatch[1]) : undefined;
      if (putMatch && !existing) return fail(404, `No content found with id: ${putMatch[1]}`);
      const why = this.check(b, existing);
      if (why) return fail(why.status, why.message);
      const ancestors = b.ancestors as { id: string | number }[] | undefined;
      const parentId = ancestors?.length ? String(ancestors[ancestors.length - 1].id) : existing?.parentId;
      const page: StoredPage = {
        id: existing?.id ?? String(this.nextId++),
        title: String(b.title),
        space: (b.space as { key: string }).key,
        version: existing ? existing.version + 1 : 1,
        ...(parentId ? { parentId } : {}),
        storage: (b.body as { storage: { value: string } }).storage.value,
      };
      this.pages.set(page.id, page);
      return answer(200, { ...this.view(page, true), body: { storage: { value: page.storage, representation: 'storage' } } });
    }
    return fail(404, `null for uri: ${url.pathname}`);
  }

  private check(b: Record<string, unknown>, existing: StoredPage | undefined): { status: number; message: string } | undefined {
    if (b.type !== 'page') return { status: 400, message: 'type must be page' };
    if (typeof b.title !== 'string' || !b.title.trim() || b.title.length > 255) return { status: 400, message: 'A title is required, at most 255 characters' };
    const key = (b.space as { key?: unknown } | undefined)?.key;
    if (typeof key !== 'string' || !this.spaces.includes(key)) return { status: 404, message: `No space with key : ${String(key)}` };
    const clash = [...this.pages.values()].find((p) => p.space === key && p.title === b.title && p.id !== existing?.id);
    if (clash) return { status: 400, message: 'A page with this title already exists: A page already exists with the same TITLE in this space' };
    const ancestors = b.ancestors as { id?: unknown }[] | undefined;
    if (ancestors !== undefined) {
      const last = ancestors[ancestors.length - 1];
      const parent = last ? this.pages.get(String(last.id)) : undefined;
      if (!parent || parent.space !== key) return { status: 400, message: `Can't add a page with an ancestor that is not in space ${key}` };
    }
    const storage = (b.body as { storage?: { value?: unknown; representation?: unknown } } | undefined)?.storage;
    if (!storage || storage.representation !== 'storage' || typeof storage.value !== 'string') return { status: 400, message: 'body.storage with representation "storage" is required' };
    const xhtml = wellFormed(storage.value);
    if (xhtml) return { status: 400, message: `Error parsing xhtml: ${xhtml}` };
    if (existing) {
      const n = (b.version as { number?: unknown } | undefined)?.number;
      if (n !== existing.version + 1) return { status: 409, message: `Version must be incremented on update. Current version is: ${existing.version}` };
    }
    return undefined;
  }

  private view(p: StoredPage, withVersion: boolean): Record<string, unknown> {
    return { id: p.id, type: 'page', status: 'current', title: p.title, space: { key: p.space }, ...(withVersion ? { version: { number: p.version } } : {}), _links: { webui: `/spaces/${p.space}/pages/${p.id}` } };
  }
}

/** Why a storage-format fragment is not well-formed XML (tags balanced, entities known), or undefined. */
export function wellFormed(xhtml: string): string | undefined {
  const open: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g;
  for (let m = token.exec(xhtml); m; m = token.exec(xhtml)) {
    if (m[0] === '<') return `a "<" that starts no tag at ${m.index}`;
    if (m[0] === '&') return `an unescaped "&" at ${m.index}`;
    if (m[1]) {
      if (open.pop() !== m[2]) return `</${m[2]}> closes no open <${m[2]}>`;
    } else if (!m[4]) open.push(m[2]);
  }
  return open.length ? `<${open[open.length - 1]}> is never closed` : undefined;
}
