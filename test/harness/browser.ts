// A minimal browser for login flows: HTTPS with real TLS verification (against the given CAs),
// a cookie jar per host, redirects followed one at a time so a test can stop at any of them,
// and HTML forms submitted the way a person would (hidden fields kept, visible ones filled).
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

export interface BrowserResponse {
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  location?: string;
}

export class Browser {
  /** host:port -> cookie name -> value */
  private readonly jar = new Map<string, Map<string, string>>();
  private readonly ca: string[];
  /** `caFiles`: PEM files of the CAs this browser trusts (the hub's, the IdP's). */
  constructor(caFiles: string[]) {
    this.ca = caFiles.map((f) => readFileSync(f, 'utf8'));
  }

  cookie(url: string, name: string): string | undefined {
    return this.jar.get(new URL(url).host)?.get(name);
  }

  fetch(url: string, opts: { method?: 'GET' | 'POST'; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<BrowserResponse> {
    const u = new URL(url);
    const cookies = [...(this.jar.get(u.host) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
    const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
    return new Promise((resolve, reject) => {
      const req = request(
        u,
        {
          method: opts.method ?? 'GET',
          ca: this.ca,
          agent: false,
          headers: {
            ...(cookies ? { cookie: cookies } : {}),
            ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
            ...opts.headers,
          },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            for (const line of res.headers['set-cookie'] ?? []) this.store(u.host, line);
            const location = res.headers.location ? new URL(res.headers.location, u).toString() : undefined;
            resolve({ url, status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), location });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${url}: timeout`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Follows redirects until one leads to a URL starting with `stopAt` (returned, not fetched) or a page answers. */
  async follow(url: string, stopAt?: string, headers?: Record<string, string>): Promise<BrowserResponse | { stoppedAt: string }> {
    let next = url;
    for (let i = 0; i < 20; i++) {
      if (stopAt && next.startsWith(stopAt)) return { stoppedAt: next };
      const res = await this.fetch(next, { headers });
      if (res.status >= 300 && res.status < 400 && res.location) next = res.location;
      else return res;
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Submits the page's first form: hidden inputs as they are, named visible inputs from `fill`. */
  submitForm(page: BrowserResponse, fill: Record<string, string> = {}): Promise<BrowserResponse> {
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(page.body);
    if (!form) throw new Error(`no form on ${page.url}: ${page.body.slice(0, 300)}`);
    const fields: Record<string, string> = {};
    for (const input of form[2].matchAll(/<input([^>]*)>/gi)) {
      const name = /name="([^"]*)"/.exec(input[1])?.[1];
      if (!name) continue;
      const value = /value="([^"]*)"/.exec(input[1])?.[1];
      fields[name] = fill[name] ?? value ?? '';
    }
    return this.fetch(new URL(form[1].replace(/&amp;/g, '&'), page.url).toString(), { method: 'POST', form: fields });
  }

  private store(host: string, line: string): void {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const cookies = this.jar.get(host) ?? new Map<string, string>();
    this.jar.set(host, cookies);
    const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now()));
    if (expired || value === '') cookies.delete(name);
    else cookies.set(name, value);
  }
}
