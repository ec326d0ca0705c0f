// The hub's configuration. Unknown keys are errors; defaults are filled here, nowhere else.
import { hostname } from 'node:os';
import { z } from 'zod';
import { duration, hostPort, logLevel, tlsFiles } from '../../shared/config/index.js';

export const hubConfigSchema = z
  .object({
    region: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes').default('default'),
    hub_id: z.string().min(1).max(64).default(hostname()),
    listen: z
      .object({
        grpc: hostPort.default('127.0.0.1:7443'),
        http: hostPort.default('127.0.0.1:8443'),
      })
      .strict()
      .default({ grpc: '127.0.0.1:7443', http: '127.0.0.1:8443' }),
    tls: tlsFiles,
    data_dir: z.string().min(1).default('./sfleet-data'),
    commands: z.object({ timeout: duration.default(30_000) }).strict().default({ timeout: 30_000 }),
    stream: z.object({ heartbeat_interval: duration.default(5_000) }).strict().default({ heartbeat_interval: 5_000 }),
    log_level: logLevel,
  })
  .strict();

export type HubConfig = z.infer<typeof hubConfigSchema>;
