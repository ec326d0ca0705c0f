// Wires the hub: store -> fleet state -> ingest (gRPC) -> API (HTTPS, gRPC, watch).
// The only place that knows every component.
import { Server, type ServerDuplexStream } from '@grpc/grpc-js';
import { mkdirSync } from 'node:fs';
import type { AgentMessage, HubMessage } from '../generated/fleet/v1/agent.js';
import { FleetServiceService } from '../generated/fleet/v1/fleet.js';
import { createLogger, type Logger } from '../shared/logging/index.js';
import { VERSION } from '../shared/version.js';
import { grpcServerCredentials, loadTls } from '../shared/tls/index.js';
import { fleetService } from './api/grpc/fleet-service.js';
import { buildHttpApi } from './api/rest/index.js';
import { CommandRouter } from './commands/index.js';
import type { HubConfig } from './config/index.js';
import { EventLog } from './events/index.js';
import { Federation } from './federation/index.js';
import { FleetState } from './fleet/index.js';
import { IngestRegistry } from './ingest/index.js';
import {
  createEtcdClient,
  EtcdClusterOwnership,
  EtcdLeadership,
  registerLeaderMetrics,
  StandaloneLeadership,
  type Leadership,
  type LocalHealth,
  type MemberIdentity,
} from './leader/index.js';
import { createHubMetrics } from './metrics/index.js';
import { Authenticator, TokenStore } from './policy/index.js';
import { MemoryDedupeStore, MemorySessionStore, registerReplicationMetrics, Replication, type DedupeStore, type SessionStore } from './replication/index.js';
import { FleetStore } from './store/index.js';
import { WatchFeed } from './watch/index.js';

export interface RunningHub {
  state: FleetState;
  ingest: IngestRegistry;
  events: EventLog;
  /** Who leads the region; singletons (leader-only work) register on leadership.runner. */
  leadership: Leadership;
  /** Clustered mode: the Redis replication (absent standalone). */
  replication?: Replication;
  /** Notification dedupe and sessions: in Redis when clustered, in memory standalone. */
  shared: { dedupe: DedupeStore; sessions: SessionStore };
  httpUrl: string;
  grpcAddress: string;
  close(): Promise<void>;
}

function splitHostPort(value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  return { host: value.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(value.slice(i + 1)) };
}

export async function startHub(config: HubConfig, opts: { logger?: Logger } = {}): Promise<RunningHub> {
  const logger = opts.logger ?? createLogger({ name: 'sfleet-hub', level: config.log_level });
  const tls = loadTls(config.tls, 'hub');
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });

  const state = new FleetState();
  state.setMaxListeners(0);
  const store = new FleetStore({ dataDir: config.data_dir }, { logger });
  const loaded = store.load(state);
  logger.info({ dataDir: config.data_dir, ...loaded }, 'fleet state loaded from the data directory');

  const watch = new WatchFeed(state);
  const events = new EventLog({ dataDir: config.data_dir }, { logger });
  events.subscribe((event) => watch.publishEvent(event));
  const commands = new CommandRouter({ timeoutMs: config.commands.timeout });
  // Clustered mode: replication in Redis, leadership in etcd (standalone: neither).
  let replication: Replication | undefined;
  const ingest = new IngestRegistry({ state, store, commands, logger, hubId: config.hub_id, heartbeatMs: config.stream.heartbeat_interval, failoverThreshold: config.stream.failover_threshold, events, onApplied: (delta) => replication?.onLocalApplied(delta) });
  const ingesting = (): ReadonlySet<string> => new Set(ingest.active.keys());
  if (config.redis) {
    replication = new Replication(config.redis, {
      region: config.region,
      hubId: config.hub_id,
      state,
      store,
      logger,
      dataDir: config.data_dir,
      ingesting,
      onReplicated: (delta) => events.record(delta.cluster, delta.events),
    });
  }
  const authenticator = new Authenticator(new TokenStore(config.data_dir));
  const metrics = createHubMetrics(state, ingest);
  const identity: MemberIdentity = { hub_id: config.hub_id, region: config.region, http_url: '', grpc_address: '', version: VERSION };
  const health = (): LocalHealth => ({
    ready: grpcUp && httpUp,
    redis: replication ? replication.redisStatus() : 'off',
    stale_clusters: replication ? [...replication.stale().keys()].sort() : [],
    ingesting: [...ingesting()].sort(),
  });
  const etcd = config.etcd ? createEtcdClient(config.etcd) : undefined;
  const leadership: Leadership =
    config.etcd && etcd
      ? new EtcdLeadership(config.etcd, { client: etcd, logger: logger.child({ component: 'leader' }), identity, health, fences: replication ? [replication.fence] : [] })
      : new StandaloneLeadership({ logger, identity, health });
  for (const singleton of replication?.singletons() ?? []) leadership.runner.register(singleton);
  // One active agent per cluster across the region's hubs (owner keys on this hub's etcd lease).
  const ownership = leadership instanceof EtcdLeadership ? new EtcdClusterOwnership({ source: leadership, region: config.region, hubId: config.hub_id, logger: logger.child({ component: 'ownership' }), pollMs: Math.min(500, Math.max(100, Math.floor(config.etcd!.lease_ttl / 6))) }) : undefined;
  if (ownership) ingest.useOwnership(ownership);
  registerLeaderMetrics(metrics, leadership);
  if (replication) registerReplicationMetrics(metrics, replication);
  const clusteredChecks = (): Record<string, string> => {
    if (!config.etcd) return {};
    const s = leadership.status();
    const checks: Record<string, string> = {
      etcd: s.etcd,
      leader: s.leading ? `this hub (fencing token ${s.token})` : s.leader ? `hub ${s.leader}` : 'unknown',
      singletons: s.leading ? `running: ${s.singletons.join(', ') || 'none registered'}` : 'not run here (this hub does not lead)',
    };
    if (replication) {
      const stale = replication.stale();
      checks.redis = replication.redisStatus();
      checks.replication = stale.size ? `stale: ${[...stale].map(([c, why]) => `${c} (${why})`).join('; ')}` : 'fresh';
    }
    return checks;
  };
  // Catch up with the other hubs before agents connect, so they resume where the region is.
  await replication?.start(5_000);

  let grpcUp = false;
  let httpUp = false;
  const grpcServer = new Server({
    'grpc.max_receive_message_length': 256 * 1024 * 1024,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  grpcServer.addService(ingest.service, { connect: (call: ServerDuplexStream<AgentMessage, HubMessage>) => ingest.handle(call) });
  grpcServer.addService(FleetServiceService, fleetService({ state, commands, watch, authenticator }));
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(config.listen.grpc, grpcServerCredentials(tls), (err, port) => (err ? reject(err) : resolve(port))),
  );
  grpcUp = true;

  const { app } = await buildHttpApi(
    {
      logger,
      authenticator,
      state,
      commands,
      watch,
      events,
      readiness: () => ({ ready: grpcUp && httpUp, checks: { data_dir: 'loaded', grpc: grpcUp ? 'listening' : 'down', http: httpUp ? 'listening' : 'down', ...clusteredChecks() } }),
      metrics: async () => ({ contentType: metrics.contentType, body: await metrics.metrics() }),
      hubs: async () => {
        const s = leadership.status();
        return { mode: s.mode, etcd: s.etcd, ...(await leadership.members()) };
      },
      ...(replication ? { stale: () => replication.stale() } : {}),
      ...(ownership ? { owner: (cluster: string) => ownership.owner(cluster) } : {}),
      // scope=global queries: this region merged with the peer regions (none configured: this one alone).
      federation: new Federation({
        region: config.region,
        peers: config.regions?.peers ?? [],
        tls: config.regions?.tls ? loadTls(config.regions.tls, 'hub regions') : tls,
        logger: logger.child({ component: 'federation' }),
      }),
    },
    tls,
  );
  const http = splitHostPort(config.listen.http);
  await app.listen({ host: http.host, port: http.port });
  httpUp = true;
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : http.port;
  const grpcHost = splitHostPort(config.listen.grpc).host;
  const httpUrl = `https://${http.host.includes(':') ? `[${http.host}]` : http.host}:${httpPort}`;
  logger.info({ http: httpUrl, grpc: `${grpcHost}:${grpcPort}`, region: config.region, hub: config.hub_id }, 'hub listening');
  identity.http_url = httpUrl;
  identity.grpc_address = `${grpcHost}:${grpcPort}`;
  leadership.start();

  let closed = false;
  return {
    state,
    ingest,
    events,
    leadership,
    replication,
    shared: replication ? { dedupe: replication.dedupe, sessions: replication.sessions } : { dedupe: new MemoryDedupeStore(), sessions: new MemorySessionStore() },
    httpUrl,
    grpcAddress: `${grpcHost}:${grpcPort}`,
    async close() {
      if (closed) return;
      closed = true;
      // Resign first: another hub leads (and owns our clusters) at once instead of after the lease TTL.
      ownership?.close();
      await leadership.close();
      await app.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          grpcServer.forceShutdown();
          resolve();
        }, 2_000);
        grpcServer.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await replication?.close();
      store.close(state);
      events.close();
      etcd?.close();
    },
  };
}
