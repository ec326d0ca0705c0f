// The hub's `listen:` section: where the agent stream and FleetService (gRPC) and the REST API
// (HTTPS) listen.
import { z } from 'zod';
import { hostPort } from '../../shared/config/index.js';

export const listenConfigSchema = z
  .object({
    grpc: hostPort.default('127.0.0.1:7443').describe('host:port of the gRPC listener: agent streams and FleetService.'),
    http: hostPort.default('127.0.0.1:8443').describe('host:port of the HTTPS listener: REST API, watch (SSE), logins, dashboard.'),
  })
  .strict()
  .default({ grpc: '127.0.0.1:7443', http: '127.0.0.1:8443' });
