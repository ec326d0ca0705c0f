// A standalone hub process (no etcd, no Redis) for the login tests: its own config sections
// (auth:, sso:), restartable on the same ports and data directory, and raw HTTPS requests that
// never throw on a status (the tests look at 401/429/431 answers and their headers).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { stringify } from 'yaml';
import type { TestPki } from './pki.js';
import { freePort, waitFor } from './ports.js';
import { SfleetProcess } from './sfleet-process.js';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

export class LoginHub {
  readonly dataDir: string;
  readonly configFile: string;
  proc?: SfleetProcess;
  httpPort = 0;
  grpcPort = 0;

  constructor(
    readonly dir: string,
    readonly pki: TestPki,
    /** Extra top-level config (auth:, sso:, redis:...). */
    readonly extra: Record<string, unknown> = {},
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.dataDir = path.join(dir, 'data');
    this.configFile = path.join(dir, 'hub.yaml');
  }

  get httpUrl(): string {
    return `https://127.0.0.1:${this.httpPort}`;
  }

  async start(): Promise<this> {
    if (!this.httpPort) {
      this.httpPort = await freePort();
      this.grpcPort = await freePort();
    }
    mkdirSync(this.dir, { recursive: true });
    const config = {
      region: 'login',
      hub_id: path.basename(this.dir),
      listen: { grpc: `127.0.0.1:${this.grpcPort}`, http: `127.0.0.1:${this.httpPort}` },
      tls: this.pki.hub,
      data_dir: this.dataDir,
      log_level: 'info',
      ...this.extra,
    };
    writeFileSync(this.configFile, stringify(config));
    this.proc = new SfleetProcess(['hub', '--config', this.configFile], path.join(this.dir, 'hub.log'), this.env).start();
    await waitFor('hub ready', async () => (await this.request('GET', '/readyz')).status === 200, 30_000, 100);
    return this;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.kill(signal);
  }

  log(): string {
    return readFileSync(path.join(this.dir, 'hub.log'), 'utf8');
  }

  /** One HTTPS request, no client certificate; never throws on an HTTP status. */
  request(method: string, pathname: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<RawAnswer> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> = { ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}), ...opts.headers };
    return new Promise((resolve, reject) => {
      const req = request(`${this.httpUrl}${pathname}`, { method, headers, ca: readFileSync(this.pki.ca), minVersion: 'TLSv1.3', timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(payload);
    });
  }

  login(body: Record<string, unknown>): Promise<RawAnswer> {
    return this.request('POST', '/api/v1/auth/login', { body });
  }
}
