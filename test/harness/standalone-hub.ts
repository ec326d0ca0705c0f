// One standalone hub as a child process (`sfleet hub --config`), with an HTTPS helper that
// trusts the hub's CA and can present a client certificate, a bearer token or a cookie.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { stringify } from 'yaml';
import type { TestPki } from './pki.js';
import { freePort, waitFor } from './ports.js';
import { SfleetProcess } from './sfleet-process.js';

export interface HubAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: any;
}

export class StandaloneHub {
  proc?: SfleetProcess;
  httpPort = 0;
  grpcPort = 0;
  readonly configFile: string;
  readonly logFile: string;

  constructor(
    readonly dir: string,
    readonly pki: TestPki,
    readonly extra: Record<string, unknown>,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.configFile = path.join(dir, 'hub.yaml');
    this.logFile = path.join(dir, 'hub.log');
  }

  get url(): string {
    return `https://127.0.0.1:${this.httpPort}`;
  }

  async ports(): Promise<this> {
    if (!this.httpPort) {
      this.httpPort = await freePort();
      this.grpcPort = await freePort();
    }
    return this;
  }

  async start(): Promise<this> {
    await this.ports();
    mkdirSync(this.dir, { recursive: true });
    const config = {
      hub_id: 'sso-hub',
      listen: { grpc: `127.0.0.1:${this.grpcPort}`, http: `127.0.0.1:${this.httpPort}` },
      tls: this.pki.hub,
      data_dir: path.join(this.dir, 'data'),
      log_level: 'info',
      ...this.extra,
    };
    writeFileSync(this.configFile, stringify(config));
    this.proc = new SfleetProcess(['hub', '--config', this.configFile], this.logFile, this.env).start();
    await waitFor('hub ready', async () => (await this.get('/readyz')).status === 200, 30_000, 100);
    return this;
  }

  async stop(): Promise<void> {
    await this.proc?.kill('SIGTERM');
  }

  log(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  get(urlPath: string, opts: { bearer?: string; cookie?: string; clientCert?: boolean; headers?: Record<string, string> } = {}): Promise<HubAnswer> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.httpPort,
          path: urlPath,
          ca: readFileSync(this.pki.ca),
          ...(opts.clientCert ? { cert: readFileSync(this.pki.client.cert), key: readFileSync(this.pki.client.key) } : {}),
          headers: {
            ...(opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {}),
            ...(opts.cookie ? { cookie: opts.cookie } : {}),
            ...opts.headers,
          },
          timeout: 20_000,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString('utf8')));
          res.on('end', () => {
            let json: any;
            try {
              json = JSON.parse(body);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }
}
