// One standalone hub as a child process (`sfleet hub --config`), with an HTTPS helper that
// trusts the hub's CA and can present a client certificate, a bearer token or a cookie.
import { HubChild, httpsCall } from './hub-child.js';
import type { TestPki } from './pki.js';

export interface HubAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: any;
}

export class StandaloneHub extends HubChild {
  constructor(
    readonly dir: string,
    readonly pki: TestPki,
    readonly extra: Record<string, unknown>,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    super(dir, env);
  }

  get url(): string {
    return this.httpUrl;
  }

  protected async ready(): Promise<boolean> {
    return (await this.get('/readyz')).status === 200;
  }

  start(): Promise<this> {
    return this.startWith({ hub_id: 'sso-hub', tls: this.pki.hub, ...this.extra });
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
  }

  async get(urlPath: string, opts: { bearer?: string; cookie?: string; clientCert?: boolean; headers?: Record<string, string> } = {}): Promise<HubAnswer> {
    const answer = await httpsCall(`${this.url}${urlPath}`, {
      ca: this.pki.ca,
      ...(opts.clientCert ? { cert: this.pki.client.cert, key: this.pki.client.key } : {}),
      headers: {
        ...(opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {}),
        ...(opts.cookie ? { cookie: opts.cookie } : {}),
        ...opts.headers,
      },
      timeoutMs: 20_000,
    });
    let json: any;
    try {
      json = JSON.parse(answer.body);
    } catch {
      json = undefined;
    }
    return { ...answer, json };
  }
}
