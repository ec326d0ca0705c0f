// One hub of a clustered hub group on loopback (a `sfleet hub` child process on the private etcd
// and Redis of scripts/services/start.sh), as `npm run chaos` and the leader-handover benchmark
// run it: its own ports for the life of the object, so a restarted hub comes back where it was.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort, httpsGet, SfleetChild, waitFor, type Services, type TlsPaths } from './procs.js';

export interface GroupHubOptions {
  region: string;
  /** The hub's server certificate, and the client certificate the probes present. */
  tls: { hub: TlsPaths; client: TlsPaths };
  services: Services;
  /** hub.yaml keys besides region, hub_id, listen, tls, data_dir and the etcd endpoints / Redis url. */
  config?: { log_level?: string; stream?: Record<string, unknown>; etcd?: Record<string, unknown>; redis?: Record<string, unknown> };
  readyTimeoutMs?: number;
  /** Timeout of one HTTPS probe (/readyz, /metrics). */
  probeTimeoutMs?: number;
}

export class GroupHub {
  proc?: SfleetChild;
  httpPort = 0;
  grpcPort = 0;
  constructor(
    readonly id: string,
    readonly dir: string,
    protected readonly opts: GroupHubOptions,
  ) {}

  get alive(): boolean {
    return !!this.proc?.alive;
  }

  /** Writes hub.yaml and starts the hub (the same ports on a restart); resolves once /readyz answers 200. */
  async start(): Promise<void> {
    if (!this.httpPort) {
      this.httpPort = await freePort();
      this.grpcPort = await freePort();
    }
    const home = path.join(this.dir, this.id);
    mkdirSync(home, { recursive: true });
    const { region, tls, services, config = {} } = this.opts;
    writeFileSync(
      path.join(home, 'hub.yaml'),
      stringify({
        region,
        hub_id: this.id,
        listen: { grpc: `127.0.0.1:${this.grpcPort}`, http: `127.0.0.1:${this.httpPort}` },
        tls: tls.hub,
        data_dir: path.join(home, 'data'),
        log_level: config.log_level ?? 'info',
        ...(config.stream ? { stream: config.stream } : {}),
        etcd: { endpoints: services.etcdEndpoints, ...config.etcd },
        redis: { url: services.redisUrl, ...config.redis },
      }),
    );
    this.proc = new SfleetChild(['hub', '--config', path.join(home, 'hub.yaml')], path.join(home, 'hub.log')).start();
    await waitFor(`hub ${this.id} ready`, async () => this.alive && (await this.get('/readyz')).status === 200, this.opts.readyTimeoutMs ?? 30_000, 100);
  }

  /** A GET on the hub's HTTPS port with the client certificate. */
  get(pathname: string): ReturnType<typeof httpsGet> {
    return httpsGet(`https://127.0.0.1:${this.httpPort}${pathname}`, this.opts.tls.client, this.opts.probeTimeoutMs);
  }

  /** The fencing token while this hub leads (its /readyz says so), else undefined (also when it does not answer). */
  async leadingToken(): Promise<number | undefined> {
    if (!this.alive) return undefined;
    const r = await this.get('/readyz').catch(() => undefined);
    if (!r) return undefined;
    try {
      const m = /^this hub \(fencing token (\d+)\)$/.exec((JSON.parse(r.body) as { checks: Record<string, string> }).checks.leader ?? '');
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  async kill(): Promise<void> {
    await this.proc?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.proc?.kill('SIGTERM');
  }
}
