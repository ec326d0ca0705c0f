// Clustered hubs as child processes (`node bin/sfleet.js hub --config ...`), so a test can
// kill -9 or freeze one, plus helpers to read their API, readiness and metrics.
import path from 'node:path';
import { HubClient } from '../../cli/client/index.js';
import { HubChild, httpsCall, type HttpsAnswer } from './hub-child.js';
import type { TestPki } from './pki.js';

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

export type RawResponse = HttpsAnswer;

export class HubProcess extends HubChild {
  constructor(readonly opts: HubOptions) {
    super(path.join(opts.dir, opts.id));
  }

  protected async ready(): Promise<boolean> {
    return (await this.raw('/readyz')).status === 200;
  }

  start(): Promise<this> {
    return this.startWith(
      {
        region: this.opts.region,
        hub_id: this.opts.id,
        tls: this.opts.pki.hub,
        stream: { heartbeat_interval: '1s' },
        etcd: { endpoints: this.opts.etcdEndpoints, lease_ttl: '3s', ...this.opts.etcd },
        ...(this.opts.redisUrl ? { redis: { url: this.opts.redisUrl, stale_after: '2s', compact_interval: '1s', ...this.opts.redis } } : {}),
      },
      `hub ${this.opts.id} ready`,
    );
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
    return httpsCall(`${this.httpUrl}${pathname}`, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs });
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
