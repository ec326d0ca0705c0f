// One hub of a clustered hub group on loopback: a `sfleet hub` child process on a private etcd
// (and Redis), its own ports for the life of the object, so a restarted hub comes back where it
// was. The HA tests (ha-hubs.ts adds their defaults), `npm run chaos` and the leader-handover
// benchmark all run this one.
import path from 'node:path';
import { HubClient } from '../../cli/client/index.js';
import { HubChild, httpsCall, type HttpsAnswer, type HubChildOptions } from './hub-child.js';
import type { TestPki } from './pki.js';

export interface GroupHubOptions extends HubChildOptions {
  region: string;
  /** The CA, the hub's server certificate, and the client certificate the probes present. */
  pki: Pick<TestPki, 'ca' | 'hub' | 'client'>;
  etcdEndpoints: string[];
  /** redis.url; with neither it nor config.redis the hub has no redis: section. */
  redisUrl?: string;
  /** hub.yaml keys besides region, hub_id, listen, tls, data_dir and the etcd endpoints / Redis url. */
  config?: {
    log_level?: string;
    stream?: Record<string, unknown>;
    etcd?: Record<string, unknown>;
    redis?: Record<string, unknown>;
    regions?: Record<string, unknown>;
    backup?: Record<string, unknown>;
    alerting?: Record<string, unknown>;
    /** Any other top-level sections (multi_tenancy, submit...), written as given. */
    sections?: Record<string, unknown>;
  };
  /** The hub's environment (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Timeout of one HTTPS probe (/readyz, /metrics); default 2 s. */
  probeTimeoutMs?: number;
}

export type RawResponse = HttpsAnswer;

export class GroupHub extends HubChild {
  constructor(
    readonly id: string,
    dir: string,
    readonly group: GroupHubOptions,
  ) {
    const { region: _r, pki: _p, etcdEndpoints: _e, redisUrl: _u, config: _c, probeTimeoutMs: _t, env = process.env, ...childOptions } = group;
    super(path.join(dir, id), env, childOptions);
  }

  protected async ready(): Promise<boolean> {
    return (await this.raw('/readyz')).status === 200;
  }

  /** Writes hub.yaml and starts the hub (the same ports on a restart); resolves once /readyz answers 200. */
  start(): Promise<this> {
    const { region, pki, etcdEndpoints, redisUrl, config = {} } = this.group;
    return this.startWith(
      {
        region,
        hub_id: this.id,
        tls: pki.hub,
        ...(config.log_level ? { log_level: config.log_level } : {}),
        ...(config.stream ? { stream: config.stream } : {}),
        ...(config.regions ? { regions: config.regions } : {}),
        etcd: { endpoints: etcdEndpoints, ...config.etcd },
        ...(redisUrl || config.redis ? { redis: { ...(redisUrl ? { url: redisUrl } : {}), ...config.redis } } : {}),
        ...(config.backup ? { backup: config.backup } : {}),
        ...(config.alerting ? { alerting: config.alerting } : {}),
        ...config.sections,
      },
      `hub ${this.id} ready`,
    );
  }

  /** SIGTERM: a graceful stop. */
  async stop(): Promise<void> {
    await this.kill('SIGTERM');
  }

  client(): HubClient {
    const { pki } = this.group;
    return new HubClient({ hub: this.httpUrl, ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
  }

  /** A GET with the client certificate; never throws on an HTTP status. */
  raw(pathname: string, timeoutMs = this.group.probeTimeoutMs ?? 2_000): Promise<RawResponse> {
    const { pki } = this.group;
    return httpsCall(`${this.httpUrl}${pathname}`, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs });
  }

  async readyz(): Promise<{ status: string; checks: Record<string, string> }> {
    return JSON.parse((await this.raw('/readyz')).body) as { status: string; checks: Record<string, string> };
  }

  /** This hub's fencing token while it leads (its /readyz says so), else undefined; throws when it does not answer. */
  async leadingToken(): Promise<number | undefined> {
    const r = await this.readyz();
    const m = /^this hub \(fencing token (\d+)\)$/.exec(r.checks.leader ?? '');
    return m ? Number(m[1]) : undefined;
  }
}
