// Clustered hubs as child processes (`node bin/sfleet.js hub --config ...`), so a test can
// kill -9 or freeze one, plus helpers to read their API, readiness and metrics.
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { HubClient } from '../../cli/client/index.js';
import type { TestPki } from './pki.js';
import { freePort, waitFor } from './ports.js';
import { SfleetProcess } from './sfleet-process.js';

export interface HubOptions {
  id: string;
  region: string;
  dir: string;
  pki: TestPki;
  etcdEndpoints: string[];
  redisUrl?: string;
  /** Extra config (merged at the top level; etcd/redis keys merged into their sections). */
  etcd?: Record<string, unknown>;
  redis?: Record<string, unknown>;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class HubProcess {
  readonly dataDir: string;
  readonly configFile: string;
  proc?: SfleetProcess;
  httpPort = 0;
  grpcPort = 0;

  constructor(readonly opts: HubOptions) {
    this.dataDir = path.join(opts.dir, opts.id, 'data');
    this.configFile = path.join(opts.dir, opts.id, 'hub.yaml');
  }

  get httpUrl(): string {
    return `https://127.0.0.1:${this.httpPort}`;
  }
  get grpcAddress(): string {
    return `127.0.0.1:${this.grpcPort}`;
  }
  get pid(): number {
    return this.proc!.child!.pid!;
  }

  async start(): Promise<this> {
    if (!this.httpPort) {
      this.httpPort = await freePort();
      this.grpcPort = await freePort();
    }
    mkdirSync(path.dirname(this.configFile), { recursive: true });
    const config: Record<string, unknown> = {
      region: this.opts.region,
      hub_id: this.opts.id,
      listen: { grpc: this.grpcAddress, http: `127.0.0.1:${this.httpPort}` },
      tls: this.opts.pki.hub,
      data_dir: this.dataDir,
      log_level: 'info',
      stream: { heartbeat_interval: '1s' },
      etcd: { endpoints: this.opts.etcdEndpoints, lease_ttl: '3s', ...this.opts.etcd },
      ...(this.opts.redisUrl ? { redis: { url: this.opts.redisUrl, stale_after: '2s', compact_interval: '1s', ...this.opts.redis } } : {}),
    };
    writeFileSync(this.configFile, stringify(config));
    this.proc = new SfleetProcess(['hub', '--config', this.configFile], path.join(path.dirname(this.configFile), 'hub.log')).start();
    await waitFor(`hub ${this.opts.id} ready`, async () => (await this.raw('/readyz')).status === 200, 30_000, 100);
    return this;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.proc?.kill(signal);
  }

  /** SIGSTOP / SIGCONT: a frozen process (a long GC pause, a stopped VM). */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    process.kill(this.pid, signal);
  }

  client(): HubClient {
    const { pki } = this.opts;
    return new HubClient({ hub: this.httpUrl, ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
  }

  /** A GET with the client certificate; never throws on an HTTP status. */
  raw(pathname: string, timeoutMs = 2_000): Promise<RawResponse> {
    const { pki } = this.opts;
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.httpUrl}${pathname}`,
        { ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key), minVersion: 'TLSv1.3', timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  async readyz(): Promise<{ status: string; checks: Record<string, string> }> {
    return JSON.parse((await this.raw('/readyz')).body) as { status: string; checks: Record<string, string> };
  }

  /** This hub's fencing token while it leads, else undefined. */
  async leadingToken(): Promise<number | undefined> {
    const r = await this.readyz();
    const m = /^this hub \(fencing token (\d+)\)$/.exec(r.checks.leader ?? '');
    return m ? Number(m[1]) : undefined;
  }

  async metric(name: string, labels = ''): Promise<number | undefined> {
    const text = (await this.raw('/metrics')).body;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}${labels ? `{${labels}}` : ''} `) || (!labels && line.startsWith(`${name} `))) return Number(line.split(' ').pop());
    }
    return undefined;
  }

  /** Every job, as the API lists them. */
  async jobs(): Promise<unknown[]> {
    return this.client().all('/api/v1/jobs', {});
  }
}
