// Wires the hub: store -> fleet state -> ingest (gRPC) -> API (HTTPS, gRPC, watch).
// The only place that knows every component.
import { Server, type ServerDuplexStream } from '@grpc/grpc-js';
import { mkdirSync } from 'node:fs';
import { AgentServiceService, type AgentMessage, type HubMessage } from '../generated/fleet/v1/agent.js';
import { FleetServiceService } from '../generated/fleet/v1/fleet.js';
import { createLogger, type Logger } from '../shared/logging/index.js';
import { grpcServerCredentials, loadTls } from '../shared/tls/index.js';
import { fleetService } from './api/grpc/fleet-service.js';
import { buildHttpApi } from './api/rest/index.js';
import { CommandRouter } from './commands/index.js';
import type { HubConfig } from './config/index.js';
import { FleetState } from './fleet/index.js';
import { IngestRegistry } from './ingest/index.js';
import { createHubMetrics } from './metrics/index.js';
import { Authenticator, TokenStore } from './policy/index.js';
import { FleetStore } from './store/index.js';
import { WatchFeed } from './watch/index.js';

export interface RunningHub {
  state: FleetState;
  ingest: IngestRegistry;
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
  const commands = new CommandRouter({ timeoutMs: config.commands.timeout });
  const ingest = new IngestRegistry({ state, store, commands, logger, hubId: config.hub_id, heartbeatMs: config.stream.heartbeat_interval });
  const authenticator = new Authenticator(new TokenStore(config.data_dir));
  const metrics = createHubMetrics(state, ingest);

  let grpcUp = false;
  let httpUp = false;
  const grpcServer = new Server({
    'grpc.max_receive_message_length': 256 * 1024 * 1024,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  grpcServer.addService(AgentServiceService, { connect: (call: ServerDuplexStream<AgentMessage, HubMessage>) => ingest.handle(call) });
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
      readiness: () => ({ ready: grpcUp && httpUp, checks: { data_dir: 'loaded', grpc: grpcUp ? 'listening' : 'down', http: httpUp ? 'listening' : 'down' } }),
      metrics: async () => ({ contentType: metrics.contentType, body: await metrics.metrics() }),
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

  let closed = false;
  return {
    state,
    ingest,
    httpUrl,
    grpcAddress: `${grpcHost}:${grpcPort}`,
    async close() {
      if (closed) return;
      closed = true;
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
      store.close(state);
    },
  };
}
