// Clustered hubs for the HA tests (hub-group.ts with the tests' fast heartbeat, lease and Redis
// staleness), so a test can kill -9 or freeze one, plus helpers to read their API and metrics.
import { GroupHub, type RawResponse } from './hub-group.js';
import type { TestPki } from './pki.js';

export interface HubOptions {
  id: string;
  region: string;
  dir: string;
  pki: TestPki;
  etcdEndpoints: string[];
  /** Without it (and without `redis`) the hub has no redis: section. */
  redisUrl?: string;
  /** Extra config (merged at the top level; etcd/redis keys merged into their sections). */
  etcd?: Record<string, unknown>;
  redis?: Record<string, unknown>;
  /** Other top-level sections of hub.yaml (multi_tenancy, submit...). */
  sections?: Record<string, unknown>;
  /** The hub's environment (default process.env): passwords hub.yaml names as ${VAR}. */
  env?: NodeJS.ProcessEnv;
}

export type { RawResponse };

export class HubProcess extends GroupHub {
  constructor(readonly opts: HubOptions) {
    super(opts.id, opts.dir, {
      region: opts.region,
      pki: opts.pki,
      etcdEndpoints: opts.etcdEndpoints,
      redisUrl: opts.redisUrl,
      ...(opts.env ? { env: opts.env } : {}),
      config: {
        stream: { heartbeat_interval: '1s' },
        etcd: { lease_ttl: '3s', ...opts.etcd },
        redis: opts.redisUrl || opts.redis ? { stale_after: '2s', compact_interval: '1s', ...opts.redis } : undefined,
        ...(opts.sections ? { sections: opts.sections } : {}),
      },
    });
  }

  /** SIGSTOP / SIGCONT: a frozen process (a long GC pause, a stopped VM). */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    process.kill(this.pid, signal);
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
