// Wires the hub: store -> fleet state -> ingest (gRPC) -> API (HTTPS, gRPC, watch).
// The only place that knows every component.
import { Server, type ServerDuplexStream } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { mkdirSync } from 'node:fs';
import type { Server as TlsServer } from 'node:tls';
import type { AgentMessage, HubMessage } from '../generated/fleet/v1/agent.js';
import { FleetServiceService } from '../generated/fleet/v1/fleet.js';
import { AtRest } from '../shared/crypto/index.js';
import { createLogger, type Logger } from '../shared/logging/index.js';
import { VERSION } from '../shared/version.js';
import { grpcServerCredentials, loadCa, loadTls, revocationPath } from '../shared/tls/index.js';
import { fleetService } from './api/grpc/fleet-service.js';
import { buildHttpApi } from './api/rest/index.js';
import { AuditLog, registerAuditMetrics } from './audit/index.js';
import { CommandRouter } from './commands/index.js';
import type { HubConfig } from './config/index.js';
import { EventLog } from './events/index.js';
import { Federation } from './federation/index.js';
import { FleetState } from './fleet/index.js';
import { AgentCertificates, IngestRegistry } from './ingest/index.js';
import { HubPipeline } from './pipeline.js';
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
import { bearerFromSessionCookie, startOidc } from './identity/oidc/index.js';
import { startSaml } from './identity/saml/index.js';
import { createIdentity } from './identity/index.js';
import { Authenticator, Rbac, TokenStore, type BearerVerifier } from './policy/index.js';
import { createRedis, MemoryDedupeStore, MemorySharedKvStore, registerReplicationMetrics, Replication, type DedupeStore, type SharedKvStore } from './replication/index.js';
import { FleetStore } from './store/index.js';
import { RevocationWatcher, watchListenerCredentials, type CredentialWatcher } from './tls/index.js';
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
  shared: { dedupe: DedupeStore; kv: SharedKvStore };
  /** The audit log: `audit.record({...})` for events that are not API answers (logins...). */
  audit: AuditLog;
  httpUrl: string;
  grpcAddress: string;
  /** Certificate rotation, the revocation list, agent certificate renewal. */
  tls: { credentials: CredentialWatcher; revocations: RevocationWatcher; certificates: AgentCertificates };
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
  // Encryption at rest: the data keys of every sealed file are unwrapped now (a missing key stops the start here, naming the file).
  const atRest = await AtRest.create(config.encryption, { logger });
  if (atRest.enabled) logger.info({ encryption: atRest.describe(), ...(await atRest.preload(config.data_dir)) }, 'encryption at rest: data keys loaded');

  // Revoked certificates are refused on every listener; agents renew theirs over the stream.
  const revocations = new RevocationWatcher(revocationPath(config.data_dir), { logger });
  const certificates = new AgentCertificates({
    logger: logger.child({ component: 'tls' }),
    refusal: (serial) => revocations.refusal(serial),
    ca: config.tls.ca_key ? await loadCa(config.tls.ca, config.tls.ca_key) : undefined,
    lifetimeMs: config.tls.issued_lifetime,
  });
  revocations.onChange(() => certificates.endRevoked());

  // Opened first: nothing may change before the audit log can record it.
  const audit = new AuditLog(config.audit, { hubId: config.hub_id, dataDir: config.data_dir, logger });
  await audit.open();

  const state = new FleetState();
  state.setMaxListeners(0);
  const store = new FleetStore({ dataDir: config.data_dir }, { logger, atRest });
  const loaded = store.load(state);
  logger.info({ dataDir: config.data_dir, ...loaded }, 'fleet state loaded from the data directory');

  const watch = new WatchFeed(state);
  const events = new EventLog({ dataDir: config.data_dir }, { logger, atRest });
  events.subscribe((event) => watch.publishEvent(event));
  const commands = new CommandRouter({ timeoutMs: config.commands.timeout });
  // Clustered mode: replication in Redis, leadership in etcd (standalone: neither).
  let replication: Replication | undefined;
  const pipeline = new HubPipeline({ state, store, events, onApplied: (delta) => replication?.onLocalApplied(delta) });
  // Read once ingest is built (below, after the ownership it takes).
  const ingesting = (): ReadonlySet<string> => ingest.ingesting();
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
  // One RBAC policy for REST, gRPC and watch streams (config rbac; absent: everyone authenticated is an admin).
  const rbac = new Rbac(config.rbac);
  // Logins: sessions and login counters shared in Redis when clustered, TOTP codes spent region-wide.
  const shared = replication ? { dedupe: replication.dedupe, kv: replication.sharedKv } : { dedupe: new MemoryDedupeStore(), kv: new MemorySharedKvStore() };
  const loginRedis = config.redis ? createRedis(config.redis, { name: 'login', offlineQueue: false }).on('error', () => undefined) : undefined;
  const logins = createIdentity(config, {
    logger,
    atRest,
    // auth.mfa.required_roles: the user's RBAC roles as bound at login.
    rolesOf: (principal) => rbac.grants(principal).map((g) => g.role),
    once: shared.dedupe,
    ...(replication ? { sharedKv: replication.sharedKv } : {}),
    ...(loginRedis && config.redis ? { redis: { client: loginRedis, prefix: `${config.redis.key_prefix}:${config.region}:login:` } } : {}),
  });
  // Single sign-on: OIDC bearer JWTs and browser logins (OIDC, SAML) ending in the same sessions as password logins.
  const oidc = config.sso?.oidc?.enabled ? startOidc(config.sso.oidc, { logger, sessions: logins.sessions }) : undefined;
  const saml = config.sso?.saml?.enabled ? startSaml(config.sso.saml, { logger, sessions: logins.sessions }) : undefined;
  const verifiers: BearerVerifier[] = [...logins.verifiers, ...(oidc ? [oidc.verifier] : [])];
  const authenticator = new Authenticator(new TokenStore(config.data_dir, atRest), verifiers);
  authenticator.revokedCertificate = (serial) => revocations.refusal(serial);
  const identity: MemberIdentity = { hub_id: config.hub_id, region: config.region, http_url: '', grpc_address: '', version: VERSION };
  const health = (): LocalHealth => ({
    ready: grpcUp && httpUp,
    redis: replication ? replication.redisStatus() : 'off',
    stale_clusters: replication ? [...replication.stale().keys()].sort() : [],
    ingesting: [...ingesting()].sort(),
  });
  const etcd = config.etcd ? await createEtcdClient(config.etcd) : undefined;
  const leadership: Leadership =
    config.etcd && etcd
      ? new EtcdLeadership(config.etcd, { client: etcd, logger: logger.child({ component: 'leader' }), identity, health, fences: replication ? [replication.fence] : [] })
      : new StandaloneLeadership({ logger, identity, health });
  for (const singleton of replication?.singletons() ?? []) leadership.runner.register(singleton);
  // One active agent per cluster across the region's hubs (owner keys on this hub's etcd lease).
  const ownership = leadership instanceof EtcdLeadership ? new EtcdClusterOwnership({ source: leadership, region: config.region, hubId: config.hub_id, logger: logger.child({ component: 'ownership' }), pollMs: Math.min(500, Math.max(100, Math.floor(config.etcd!.lease_ttl / 6))) }) : undefined;
  const ingest = new IngestRegistry({ path: pipeline, state, publishClusterStatus: (record) => state.emit('cluster', record), commands, logger, hubId: config.hub_id, heartbeatMs: config.stream.heartbeat_interval, failoverThreshold: config.stream.failover_threshold, certificates, audit, ownership });
  const metrics = createHubMetrics(state, ingest);
  registerLeaderMetrics(metrics, leadership);
  registerAuditMetrics(metrics, audit);
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
  const grpcCredentials = grpcServerCredentials(tls);
  grpcServer.addService(FleetServiceService, fleetService({ state, commands, watch, authenticator, rbac, audit }));
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(config.listen.grpc, grpcCredentials, (err, port) => (err ? reject(err) : resolve(port))),
  );
  grpcUp = true;

  const { app } = await buildHttpApi(
    {
      logger,
      authenticator,
      extraRoutes: [...(oidc ? [(a: FastifyInstance) => oidc.registerRoutes(a)] : []), ...(saml ? [(a: FastifyInstance) => saml.registerRoutes(a)] : [])],
      cookieBearer: bearerFromSessionCookie,
      rbac,
      identity: logins,
      audit,
      state,
      commands,
      watch,
      events,
      readiness: () => ({ ready: grpcUp && httpUp, checks: { data_dir: 'loaded', grpc: grpcUp ? 'listening' : 'down', http: httpUp ? 'listening' : 'down', ...clusteredChecks(), ...(oidc ? { oidc: oidc.status() } : {}) } }),
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
  const credentials = watchListenerCredentials(config.tls, tls, { grpc: grpcCredentials, https: app.server as unknown as TlsServer }, { logger });
  revocations.start();
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
    shared,
    audit,
    httpUrl,
    grpcAddress: `${grpcHost}:${grpcPort}`,
    tls: { credentials, revocations, certificates },
    async close() {
      if (closed) return;
      closed = true;
      credentials.close();
      revocations.close();
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
      loginRedis?.disconnect();
      store.close(state);
      events.close();
      etcd?.close();
      oidc?.close();
      await audit.close();
    },
  };
}
