// Stage 5, listeners: the agent streams and the fleet API on gRPC, the REST API, watch
// streams, /readyz and /metrics on HTTPS, both with the hub's certificate (reloaded when its
// files rotate) and the revocation list watched. A port in use stops the start here.
import { Admission, registerSubmitRoute, SubmitService } from '../submit/index.js';
import { Server, type ServerDuplexStream } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Server as TlsServer } from 'node:tls';
import type { AgentMessage, HubMessage } from '../../generated/fleet/v1/agent.js';
import { FleetServiceService } from '../../generated/fleet/v1/fleet.js';
import { grpcServerCredentials } from '../../shared/tls/index.js';
import { fleetService } from '../api/grpc/fleet-service.js';
import { buildHttpApi } from '../api/rest/index.js';
import { registerAuditMetrics } from '../audit/index.js';
import { bearerFromSessionCookie } from '../login/oidc/index.js';
import { readiness, type Listening } from '../health/index.js';
import { registerLeaderMetrics } from '../leader/index.js';
import { createHubMetrics } from '../metrics/index.js';
import { QuotaBook, registerQuotaMetrics, registerQuotaRoutes } from '../quota/index.js';
import { registerReplicationMetrics } from '../replication/index.js';
import { watchListenerCredentials, type CredentialWatcher } from '../tls/index.js';
import type { CloseStack } from './close-stack.js';
import type { Fleet } from './fleet.js';
import type { Foundations } from './foundations.js';
import type { Gate } from './gate.js';
import type { Region } from './region.js';

export interface Listeners {
  httpUrl: string;
  grpcAddress: string;
  /** Certificate rotation of both listeners. */
  credentials: CredentialWatcher;
}

export interface ListenerParts {
  base: Foundations;
  fleet: Fleet;
  region: Region;
  gate: Gate;
  listening: Listening;
}

export async function openListeners({ base, fleet, region, gate, listening }: ListenerParts, stack: CloseStack): Promise<Listeners> {
  const { config, logger, tls, audit } = base;
  const { state, commands, watch, events } = fleet;
  const { ingest, leadership, replication, ownership } = region;
  const { oidc, saml } = gate;
  const metrics = createHubMetrics(state, ingest);
  registerLeaderMetrics(metrics, leadership);
  registerAuditMetrics(metrics, audit);
  if (replication) registerReplicationMetrics(metrics, replication);
  // Tenant quotas: usage from the fleet state against the limits (and schedules) in force.
  const quotas = gate.tenancy ? new QuotaBook(gate.tenancy, state, base.clock) : undefined;
  if (quotas) registerQuotaMetrics(metrics, quotas);
  // Submission: admission against the same quotas, then the cluster's agent.
  const admission = new Admission({ ...(gate.tenancy ? { tenancy: gate.tenancy } : {}), state, clock: base.clock }, { ttlMs: config.submit.reservation_ttl });
  const submit = new SubmitService({ commands, admission }, config.submit);

  const grpcServer = new Server({
    'grpc.max_receive_message_length': 256 * 1024 * 1024,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  stack.defer('gRPC listener', () => shutdownGrpc(grpcServer));
  grpcServer.addService(ingest.service, { connect: (call: ServerDuplexStream<AgentMessage, HubMessage>) => ingest.handle(call) });
  const grpcCredentials = grpcServerCredentials(tls);
  grpcServer.addService(FleetServiceService, fleetService({ state, commands, watch, authenticator: gate.authenticator, rbac: gate.rbac, audit, ...(replication ? { stale: () => replication.stale() } : {}) }));
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(config.listen.grpc, grpcCredentials, (err, port) => (err ? reject(new Error(`gRPC ${config.listen.grpc}: ${err.message}`)) : resolve(port))),
  );
  const grpcAddress = `${splitHostPort(config.listen.grpc).host}:${grpcPort}`;
  listening.grpcUp(grpcAddress);

  const { app } = await buildHttpApi(
    {
      logger,
      authenticator: gate.authenticator,
      extraRoutes: [
        ...(oidc ? [(a: FastifyInstance) => oidc.registerRoutes(a)] : []),
        ...(saml ? [(a: FastifyInstance) => saml.registerRoutes(a)] : []),
        ...(quotas ? [(a: FastifyInstance) => registerQuotaRoutes(a, quotas)] : []),
        (a: FastifyInstance) => registerSubmitRoute(a, submit),
      ],
      cookieBearer: bearerFromSessionCookie,
      rbac: gate.rbac,
      logins: gate.logins,
      audit,
      state,
      commands,
      watch,
      events,
      readiness: readiness({ listening, ...(config.etcd ? { clustered: { leadership, ...(replication ? { replication } : {}) } } : {}), ...(oidc ? { oidc } : {}) }),
      metrics: async () => ({ contentType: metrics.contentType, body: await metrics.metrics() }),
      members: async () => {
        const s = leadership.status();
        return { mode: s.mode, etcd: s.etcd, ...(await leadership.members()) };
      },
      ...(replication ? { stale: () => replication.stale() } : {}),
      ...(ownership ? { owner: (cluster: string) => ownership.owner(cluster) } : {}),
      federation: region.federation,
    },
    tls,
  );
  stack.defer('HTTPS listener', () => app.close());
  const http = splitHostPort(config.listen.http);
  await app.listen({ host: http.host, port: http.port });
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : http.port;
  const httpUrl = `https://${http.host.includes(':') ? `[${http.host}]` : http.host}:${httpPort}`;
  listening.httpUp(httpUrl);

  const credentials = watchListenerCredentials(config.tls, tls, { grpc: grpcCredentials, https: app.server as unknown as TlsServer }, { logger });
  stack.defer('certificate watcher', () => credentials.close());
  base.revocations.start();
  logger.info({ http: httpUrl, grpc: grpcAddress, region: config.region, hub: config.hub_id }, 'hub listening');
  return { httpUrl, grpcAddress, credentials };
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
