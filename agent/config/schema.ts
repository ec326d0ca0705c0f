// The agent's configuration. Unknown keys are errors; defaults are filled here, nowhere else.
import { hostname } from 'node:os';
import { z } from 'zod';
import { byteSize, duration, hostPort, logLevel, tlsFiles } from '../../shared/config/fields.js';
import { encryptionConfigSchema } from '../../shared/crypto/config.js';

const slurmEndpoint = z
  .string()
  .regex(/^(https?:\/\/[^\s/]+(\/.*)?|unix:\/.+)$/, 'expected http(s)://host:port or unix:/path/to/slurmrestd.sock');

export const agentConfigSchema = z
  .object({
    cluster: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, . _ - (max 63)'),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/).default(hostname().split('.')[0] || 'agent'),
    hub: z
      .object({
        endpoints: z.array(hostPort).min(1, 'name at least one hub endpoint (host:port)'),
        initial_backoff: duration.default(250),
        max_backoff: duration.default(15_000),
      })
      .strict(),
    tls: tlsFiles.extend({
      // Renew the certificate from the hub once this fraction of its lifetime has passed.
      renew_at: z.number().gt(0.1, 'more than 0.1').lt(1, 'less than 1 (renew before it expires)').default(0.7),
    }),
    slurm: z
      .object({
        source: z.enum(['rest', 'cli']).default('rest'),
        endpoints: z.array(slurmEndpoint).default([]),
        auth: z
          .object({
            user: z.string().min(1).default('root'),
            token: z.string().default(''),
          })
          .strict()
          .default({ user: 'root', token: '' }),
        api_version: z
          .string()
          .regex(/^v0\.0\.\d{2}$/, 'expected v0.0.NN')
          .optional(),
        timeout: duration.default(60_000),
        simulator: z.boolean().default(false),
        cli: z.object({ bin_dir: z.string().optional() }).strict().default({}),
        // Several endpoints: failover = the first healthy one in order (fail back once the primary
        // has answered failover_threshold health checks again); round_robin = polls take turns.
        load_balancing: z
          .object({
            strategy: z.enum(['failover', 'round_robin']).default('failover'),
            health_check_interval: duration.refine((ms) => ms === 0 || ms >= 100, 'at least 100ms (or 0: no health checks, only request outcomes)').default(30_000),
            failover_threshold: z.number().int().min(1).max(100).default(3),
          })
          .strict()
          .default({ strategy: 'failover', health_check_interval: 30_000, failover_threshold: 3 }),
      })
      .strict()
      .superRefine((s, ctx) => {
        if (s.source === 'rest' && s.endpoints.length === 0) {
          ctx.addIssue({ code: 'custom', path: ['endpoints'], message: 'the rest source needs at least one slurmrestd endpoint' });
        }
      }),
    poll_interval: duration.default(10_000),
    spool_dir: z.string().min(1).default('./sfleet-spool'),
    spool: z.object({ max_bytes: byteSize.default(256 * 1024 * 1024) }).strict().default({ max_bytes: 256 * 1024 * 1024 }),
    log_level: logLevel,
    encryption: encryptionConfigSchema.optional(),
  })
  .strict();

export type AgentConfig = z.infer<typeof agentConfigSchema>;
