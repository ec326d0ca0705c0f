// Stage 5, listeners: the agent streams and the fleet API on gRPC, the REST API, watch
// streams, /readyz and /metrics on HTTPS, both with the hub's certificate (reloaded when its
// files rotate) and the revocation list watched. A port in use stops the start here.
import { join } from 'node:path';
import { Admission, registerSubmitRoute, SharedAdmission, SubmitService } from '../submit/index.js';
import { PeerForwarding, registerForwardRoute } from '../commands/index.js';
import { Server, type ServerDuplexStream } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Server as TlsServer } from 'node:tls';
import type { AgentMessage, HubMessage } from '../../generated/fleet/v1/agent.js';
import { FleetServiceService } from '../../generated/fleet/v1/fleet.js';
import { PushgatewayPusher } from '../../shared/metrics/index.js';
import { grpcServerCredentials, identityFromSubjectAltName } from '../../shared/tls/index.js';
import { X509Certificate } from 'node:crypto';
import { fleetService } from '../api/grpc/fleet-service.js';
import { preReadGate } from '../api/grpc/pre-read-gate.js';
import { requestIdInterceptor } from '../api/grpc/request-id.js';
import { traceGrpcService } from '../api/grpc/call-trace.js';
import { addressList, ConnectionLimiter, listenGrpc, matches } from '../limits/index.js';
import { WatchBudget } from '../watch/index.js';
import { RbacReloader, type ReloadOutcome } from '../rbac-reload/index.js';
import type { HubConfig } from '../config/index.js';
import { buildHttpApi } from '../api/rest/index.js';
import { registerAuditMetrics } from '../audit/index.js';
import { bearerFromSessionCookie } from '../login/oidc/index.js';
import { hubHealth, readiness, type Listening } from '../health/index.js';
import { EtcdLeadership, registerLeaderMetrics } from '../leader/index.js';
import { HttpsLeaderRelay } from '../alerting/index.js';
import { QuotaBook, QuotaHistory, registerQuotaMetrics, registerQuotaRoutes } from '../quota/index.js';
import { QuotaEnforcer, SlurmLimitEnforcer } from '../enforcement/index.js';
import { PeerHolds, RedisBuckets, TenantRateLimiter } from '../tenant-rate/index.js';
import { createHubMetrics, registerDurabilityMetrics, timeGrpcService } from '../metrics/index.js';
import { createRedis, registerReplicationMetrics, type ReplicationKeys } from '../replication/index.js';
import { watchListenerCredentials, type CredentialWatcher } from '../tls/index.js';
import type { CloseStack } from './close-stack.js';
import type { Fleet } from './fleet.js';
import type { Foundations } from './foundations.js';
import type { Gate } from './gate.js';
import type { Region } from './region.js';
import { complianceRoutes } from './compliance-routes.js';
import { openConfluenceReports } from './reports.js';

export interface Listeners {
  httpUrl: string;
  grpcAddress: string;
  /** Certificate rotation of both listeners. */
  credentials: CredentialWatcher;
  /** Reads the config file again and applies its rbac section (SIGHUP); 'unchanged' without a file. */
  reloadRbac: () => Promise<ReloadOutcome>;
}

export interface ListenerParts {
  base: Foundations;
  fleet: Fleet;
  region: Region;
  gate: Gate;
  listening: Listening;
  /** The config file the hub was started from and how to read it again (rbac reload). */
  reload?: ConfigSource;
}

export interface ConfigSource {
  file: string;
  load: () => HubConfig;
}

export async function openListeners({ base, fleet, region, gate, listening, reload }: ListenerParts, stack: CloseStack): Promise<Listeners> {
  const { config, logger, tls, audit } = base;
  const { state, commands, watch, events } = fleet;
  const { ingest, leadership, replication, ownership } = region;
  const { oidc, saml, kerberos } = gate;
  const observe = config.observability.metrics;
  const tenancy = gate.tenancy?.enabled ? gate.tenancy : undefined;
  const hubMetrics = createHubMetrics({ state, ingest, watchers: () => watch.watchers, watchResumes: () => watch.resumes, alerts: region.alerting, clock: base.clock, ...(tenancy ? { tenantOf: (cluster: string, account: string | undefined) => tenancy.tenantOf(cluster, account) } : {}) }, { maxSeries: observe.max_series, topPendingReasons: observe.top_pending_reasons, topAccounts: observe.top_accounts, topRpcUsers: observe.top_rpc_users });
  const metrics = hubMetrics.registry;
  registerDurabilityMetrics(metrics, base.faults, [config.data_dir, config.audit.dir ?? join(config.data_dir, 'audit'), ...(config.audit.fallback_dir ? [config.audit.fallback_dir] : [])]);
  registerLeaderMetrics(metrics, leadership);
  region.etcdSpace?.registerMetrics(metrics);
  registerAuditMetrics(metrics, audit);
  await region.tracing.registerMetrics(metrics, 'sfleet_hub_');
  if (replication) registerReplicationMetrics(metrics, replication);
  openConfluenceReports(base, region, metrics);
  // Tenant quotas: usage from the fleet state against the limits (and schedules) in force.
  const quotas = gate.tenancy ? new QuotaBook(gate.tenancy, state, base.clock) : undefined;
  if (quotas) registerQuotaMetrics(metrics, quotas);
  // Their history for the dashboard's chart: only the leader samples, into the data directory or,
  // in a hub group with Redis, into the region's document every hub answers from.
  const historyShared = replication && leadership instanceof EtcdLeadership ? { shared: replication.document('quota-history') } : {};
  const quotaHistory = quotas ? new QuotaHistory({ report: () => quotas.report(), clock: base.clock, logger: logger.child({ component: 'quota-history' }), dataDir: config.data_dir, atRest: base.atRest, ...historyShared }, { sampleMs: config.multi_tenancy?.history_interval ?? 60_000 }) : undefined;
  if (quotaHistory) {
    leadership.runner.register(quotaHistory.singleton());
    stack.defer('quota history', () => quotaHistory.close());
  }
  // Enforcement (policy hold) for jobs submitted straight to Slurm: the leader's singleton (it starts with the election, after the listeners).
  if (gate.tenancy?.enabled && config.multi_tenancy) {
    const enforcerDeps = { tenancy: gate.tenancy, state, commands, audit, events, clock: base.clock, logger: logger.child({ component: 'quota-enforcement' }) };
    const slurmLimits = new SlurmLimitEnforcer(enforcerDeps);
    const enforcer = new QuotaEnforcer(enforcerDeps, { intervalMs: config.multi_tenancy.enforcement_interval, slurmLimits });
    leadership.runner.register(enforcer.singleton());
    quotas?.attachEnforcement({
      heldCount: (t) => enforcer.heldCount(t),
      slurmLimits: (t) => slurmLimits.status().filter((s) => s.tenant === t).map(({ cluster, account, user, limits }) => ({ cluster, account, user, limits: { ...limits } })),
    });
  }
  // Per-tenant API rate limits: a bucket per tenant, shared by the hub group in Redis when there is one.
  const tenantRate =
    gate.tenancy?.enabled && config.multi_tenancy
      ? new TenantRateLimiter((t) => gate.tenancy?.tenant(t)?.rate_limit ?? config.multi_tenancy?.rate_limit, {
          clock: base.clock,
          logger: logger.child({ component: 'tenant-rate' }),
          ...(replication && config.redis ? { shared: await tenantBuckets(config.redis, replication.keys, stack) } : {}),
        })
      : undefined;
  tenantRate?.registerMetrics(metrics);
  if (observe.prometheus.push_gateway) {
    const pusher = new PushgatewayPusher(
      { registries: [metrics], logger: logger.child({ component: 'pushgateway' }) },
      { url: observe.prometheus.push_gateway, grouping: [['job', 'sfleet-hub'], ['region', config.region], ['hub', config.hub_id]], intervalMs: observe.prometheus.push_interval, prefix: 'sfleet_hub_' },
    );
    pusher.start();
    stack.defer('Pushgateway pusher', () => pusher.close());
  }
  // A hub group: commands for a cluster whose agent streams to another hub go to that hub.
  if (ownership) commands.forwardWith(new PeerForwarding({ hubId: config.hub_id, owner: (c) => ownership.owner(c), members: () => leadership.members(), tls }, { timeoutMs: config.commands.timeout }));
  // A hub group: one ack-link key for all hubs (the security store), and a follower relays ack
  // links and PagerDuty webhooks to the leader, the only hub that changes alert state.
  if (leadership instanceof EtcdLeadership) {
    const relay = new HttpsLeaderRelay({ hubId: config.hub_id, leader: () => leadership.status().leader, members: () => leadership.members(), tls, timeoutMs: 10_000 });
    region.alerting.joinGroup({ ...(gate.security ? { security: gate.security } : {}), relay });
  }
  // Submission: admission against the same quotas, then the cluster's agent.
  // Standalone: reservations in this process; a hub group: in the region's etcd (shared-admission.ts).
  const admissionDeps = { ...(gate.tenancy ? { tenancy: gate.tenancy } : {}), state, clock: base.clock };
  const admission =
    leadership instanceof EtcdLeadership && config.etcd
      ? new SharedAdmission(
          { ...admissionDeps, ns: leadership.namespace, region: config.region, hubId: config.hub_id, lease: () => leadership.currentLease, logger: logger.child({ component: 'admission' }) },
          { ttlMs: config.submit.reservation_ttl, callTimeoutMs: config.etcd.call_timeout },
        )
      : new Admission(admissionDeps, { ttlMs: config.submit.reservation_ttl });
  if (admission instanceof SharedAdmission) stack.defer('quota admission', () => admission.close());
  const submit = new SubmitService({ commands, admission }, config.submit);

  // Open watches: buffer caps, per-caller cap, and the re-check that ends revoked ones (at once on a new revocation list).
  const watchBudget = new WatchBudget({
    perWatcher: config.limits.watch_buffer,
    total: config.limits.watch_buffer_total,
    perCaller: config.limits.watches_per_caller,
    recheckMs: config.limits.session_recheck,
    stallMs: config.limits.watch_stall,
  }, (caller, err) => logger.info({ component: 'watch', caller, reason: err.message }, 'watch ended by the hub'));
  stack.defer('watch budget', () => watchBudget.close());
  base.revocations.onChange(() => void watchBudget.recheckAll());
  // A logout or a revoked token, here or on another hub of the group (hub/login/sessions/session-ends.ts).
  gate.ends.onEnded(() => void watchBudget.recheckAll());
  // The rbac section reloads on SIGHUP and on file change; open watches re-check at once.
  const reloader = reload ? new RbacReloader({ rbac: gate.rbac, ...reload, logger: logger.child({ component: 'rbac-reload' }), audit, changed: () => void watchBudget.recheckAll() }, config) : undefined;
  if (reloader && (config.rbac?.watch_file ?? true)) reloader.start();
  if (reloader) stack.defer('rbac reload', () => reloader.close());

  // Bounded before trusted: the gate runs on metadata before any message is read (pre-read-gate.ts).
  const grpcServer = new Server({
    'grpc.max_receive_message_length': config.limits.agent_message,
    interceptors: [
      // x-request-id first: the gate's refusals carry the caller's id too.
      requestIdInterceptor(),
      preReadGate({
        authenticator: gate.authenticator,
        rbac: gate.rbac,
        admitAgent: (serial) => base.certificates.admit(serial),
        audit,
        agentMessageBytes: config.limits.agent_message,
        apiMessageBytes: config.limits.api_message,
        apiStringBytes: config.limits.api_string,
      }),
    ],
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  stack.defer('gRPC listener', () => shutdownGrpc(grpcServer));
  grpcServer.addService(ingest.service, { connect: (call: ServerDuplexStream<AgentMessage, HubMessage>) => ingest.handle(call) });
  const grpcCredentials = grpcServerCredentials(tls);
  // A gRPC connection over its tenant's rate is held for its Retry-After, as an HTTP one is; never a trusted source's.
  const trustedGrpc = addressList(config.http.trusted_sources);
  const holds = tenantRate ? new PeerHolds({ exempt: (peer) => matches(trustedGrpc, peer.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').replace(/^::ffff:/, '')) }) : undefined;
  const fleetImpl = fleetService({ state, commands, watch, watchBudget, tracing: region.tracing, ...(tenantRate ? { admitTenant: (t: string) => tenantRate.admit(t), holds } : {}), authenticator: gate.authenticator, rbac: gate.rbac, audit, declared: Object.keys(config.clusters ?? {}), ...(replication ? { stale: () => replication.stale() } : {}) });
  grpcServer.addService(FleetServiceService, timeGrpcService(FleetServiceService, traceGrpcService(FleetServiceService, fleetImpl, region.tracing), hubMetrics.grpc));
  // Connection caps per source and in all, as on the HTTPS listener (hub/limits/grpc-listener.ts).
  const grpcBind = splitHostPort(config.listen.grpc);
  const grpcLimiter = new ConnectionLimiter({ perSource: config.limits.grpc_max_connections_per_source, total: config.limits.grpc_max_connections, trusted: config.http.trusted_sources });
  const listener = await listenGrpc(grpcServer, grpcCredentials, grpcBind.host, grpcBind.port, grpcLimiter, ingest.connections).catch((err: Error) => {
    throw new Error(`gRPC ${config.listen.grpc}: ${err.message}`);
  });
  // Closed in reverse order: no new connections, then the gRPC server's shutdown.
  stack.defer('gRPC connections', () => listener.stop());
  const grpcPort = listener.port;
  const grpcAddress = `${grpcBind.host}:${grpcPort}`;
  listening.grpcUp(grpcAddress);

  // GDPR pseudonyms: the key was read once, at the region's start.
  const pseudonymizer = region.pseudonymizer;
  const { app } = await buildHttpApi(
    {
      logger,
      authenticator: gate.authenticator,
      extraRoutes: [
        ...(oidc ? [(a: FastifyInstance) => oidc.registerRoutes(a)] : []),
        ...(saml ? [(a: FastifyInstance) => saml.registerRoutes(a)] : []),
        ...(kerberos ? [(a: FastifyInstance) => kerberos.registerRoutes(a)] : []),
        ...(gate.smartCard ? [(a: FastifyInstance) => gate.smartCard!.registerRoutes(a)] : []),
        ...(quotas ? [(a: FastifyInstance) => registerQuotaRoutes(a, quotas, quotaHistory && { store: quotaHistory, sampling: () => leadership.runner.active.includes('quota-history') })] : []),
        (a: FastifyInstance) => registerSubmitRoute(a, submit),
        complianceRoutes(config, {
          audit,
          history: region.history,
          tokens: gate.tokens,
          alerting: region.alerting,
          backups: region.backups,
          pseudonymizer,
          ...(region.pseudonymized ? { pseudonymized: region.pseudonymized } : {}),
          ...(gate.logins.localUsers ? { localUsers: gate.logins.localUsers } : {}),
          rolesOf: (name, groups) => gate.rbac.grants({ name, method: 'local', role: 'user', groups, attributes: {} }).map((g) => g.role),
        }),
        (a: FastifyInstance) => registerForwardRoute(a, commands, ownership ? () => leadership.members() : undefined),
      ],
      cookieBearer: bearerFromSessionCookie,
      ...(tenantRate ? { admitTenant: (t: string) => tenantRate.admit(t) } : {}),
      rbac: gate.rbac,
      logins: gate.logins,
      sso: [...(oidc?.browserLogin ? (['oidc'] as const) : []), ...(saml ? (['saml'] as const) : []), ...(gate.smartCard ? (['smart-card'] as const) : [])],
      audit,
      state,
      commands,
      watch,
      watchBudget,
      events,
      exportJournal: fleet.exportJournal,
      readiness: readiness({ listening, ...(config.etcd ? { clustered: { leadership, ...(replication ? { replication } : {}) } } : {}), ...(oidc ? { oidc } : {}) }),
      health: hubHealth({
        faults: base.faults,
        ...(replication ? { redisEviction: replication.eviction } : {}),
        ...(config.etcd ? { etcd: () => leadership.status().etcd } : {}),
        ...(region.etcdSpace ? { etcdSpace: region.etcdSpace } : {}),
        ...(gate.security ? { securityStore: gate.security } : {}),
      }),
      ...(observe.prometheus.enabled ? { metrics: async () => ({ contentType: hubMetrics.contentType, body: await hubMetrics.scrape() }), metricsPath: observe.prometheus.endpoint } : {}),
      observeRequest: (method, route, status, seconds) => hubMetrics.http.observe({ method, route, status_code: String(status) }, seconds),
      members: async () => {
        const s = leadership.status();
        return { mode: s.mode, etcd: s.etcd, ...(await leadership.members()) };
      },
      ...(replication ? { stale: () => replication.stale() } : {}),
      ...(ownership ? { owner: (cluster: string) => ownership.owner(cluster) } : {}),
      declared: Object.keys(config.clusters ?? {}),
      federation: region.federation,
      ...(region.history ? { history: region.history } : {}),
      ...(pseudonymizer ? { pseudonymize: (user: string) => pseudonymizer.name(user) } : {}),
      ...(region.backups ? { backups: region.backups } : {}),
      // A token revoked here ends its open watches at once, not at the next re-check (the watch-revocation bench).
      tokens: {
        identify: (token) => gate.tokens.identify(token),
        create: (name, ttlMs, own) => gate.tokens.create(name, ttlMs, own),
        list: () => gate.tokens.list(),
        revoke: async (nameOrId, by) => {
          const gone = await gate.tokens.revoke(nameOrId, by);
          if (gone.length > 0) gate.ends.announce();
          return gone;
        },
      },
      http: config.http,
      alerting: region.alerting,
      tracing: region.tracing,
    },
    tls,
  );
  new ConnectionLimiter({ perSource: config.http.max_connections_per_source, total: config.http.max_connections, trusted: [...config.http.trusted_sources, ...config.http.trusted_proxies] }).attach(app.server);
  stack.defer('HTTPS listener', () => app.close());
  const http = splitHostPort(config.listen.http);
  await app.listen({ host: http.host, port: http.port });
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : http.port;
  const httpUrl = `https://${http.host.includes(':') ? `[${http.host}]` : http.host}:${httpPort}`;
  listening.httpUp(httpUrl);
  // auth.smart_card: the card listener, served by the same API (its gate and audit).
  if (gate.smartCard) {
    const http = config.http;
    const timeouts = { handshakeTimeout: http.header_timeout, headersTimeout: http.header_timeout, requestTimeout: http.body_timeout, keepAliveTimeout: http.keep_alive_idle };
    const cardLimiter = new ConnectionLimiter({ perSource: http.max_connections_per_source, total: http.max_connections, trusted: http.trusted_sources });
    await gate.smartCard.listen(app, httpPort, timeouts, (server) => cardLimiter.attach(server));
  }
  // Peers of the group check a forwarded command's certificate against the members' records.
  listening.certificateName(identityFromSubjectAltName(new X509Certificate(tls.cert).subjectAltName)?.name);

  const apiServer = app.server as unknown as TlsServer;
  const https: Pick<TlsServer, 'setSecureContext'> = gate.smartCard
    ? {
        setSecureContext: (options) => {
          apiServer.setSecureContext(options);
          if (Buffer.isBuffer(options.cert) && Buffer.isBuffer(options.key)) gate.smartCard!.setHubCertificate(options.cert, options.key);
        },
      }
    : apiServer;
  const credentials = watchListenerCredentials(config.tls, tls, { grpc: grpcCredentials, https }, { logger });
  stack.defer('certificate watcher', () => credentials.close());
  base.revocations.start();
  logger.info({ http: httpUrl, grpc: grpcAddress, region: config.region, hub: config.hub_id }, 'hub listening');
  const reloadRbac = async (): Promise<ReloadOutcome> => {
    if (reloader) return reloader.reload('SIGHUP');
    logger.warn('SIGHUP: the hub was started without a config file; nothing to reload');
    return 'unchanged';
  };
  return { httpUrl, grpcAddress, credentials, reloadRbac };
}

/**
 * The group's rate buckets on a connection of their own (no offline queue: a request never waits
 * for a reconnect). Connected before the API listens, for up to connect_timeout: the first
 * requests would otherwise count alone.
 */
async function tenantBuckets(redis: NonNullable<HubConfig['redis']>, keys: ReplicationKeys, stack: CloseStack): Promise<RedisBuckets> {
  const connection = createRedis(redis, { name: 'tenant-rate', offlineQueue: false });
  // ioredis reports every failed reconnect; the limiter logs the outage once.
  connection.on('error', () => undefined);
  stack.defer('tenant rate Redis connection', () => connection.quit().then(() => undefined, () => connection.disconnect()));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, redis.connect_timeout);
    connection.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return new RedisBuckets(connection, (tenant) => keys.tenantRate(tenant));
}

function splitHostPort(value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  return { host: value.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(value.slice(i + 1)) };
}

/** Lets open calls finish for up to 2 s, then ends the rest. */
function shutdownGrpc(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 2_000);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
