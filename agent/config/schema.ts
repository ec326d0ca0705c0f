// The agent's configuration. Unknown keys are errors; defaults are filled here, nowhere else.
import { hostname } from 'node:os';
import { z } from 'zod';
import { byteSize, duration, hostPort, logLevel, tlsFiles } from '../../shared/config/fields.js';
import { loadBalancingSchema, slurmEndpoint } from '../../shared/config/slurm-endpoints.js';
import { encryptionConfigSchema } from '../../shared/crypto/config.js';
import { checkDataAtRest, securityConfigSchema } from '../../shared/security/index.js';
import { observeConfigSchema } from '../observe/config.js';

export const agentConfigSchema = z
  .object({
    cluster: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, . _ - (max 63)').describe('The Slurm cluster this agent speaks for (must match its certificate).'),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/).default(hostname().split('.')[0] || 'agent').describe('This agent among the agents of its cluster (the active one and standbys).').meta({ defaultText: 'the short host name' }),
    hub: z
      .object({
        endpoints: z.array(hostPort).min(1, 'name at least one hub endpoint (host:port)').describe('host:port of the hubs\' gRPC listeners, tried in order.'),
        initial_backoff: duration.default(250).describe('The first wait before reconnecting; doubled per failure.'),
        max_backoff: duration.default(15_000).describe('The longest wait between reconnects.'),
        connect_timeout: duration
          .default(10_000)
          .describe("A connection to a hub not up (TCP, TLS, HTTP/2) within this long is given up and the next hub tried: a connect whose SYN a broken network dropped is otherwise retried by the kernel only after 1, 3, 7, 15 s. Only a value under the hub's hello timeout (10 s) acts: the default leaves it to that timeout."),
      })
      .strict().describe('The hubs the agent streams to.'),
    tls: tlsFiles.extend({
      // Renew the certificate from the hub once this fraction of its lifetime has passed.
      renew_at: z.number().gt(0.1, 'more than 0.1').lt(1, 'less than 1 (renew before it expires)').default(0.7).describe('Renew the certificate from the hub once this fraction of its lifetime has passed.'),
      // Not beside tls.cert: /etc/sfleet is read-only to the service (ReadOnlyPaths= in the unit).
      renewed_dir: z.string().min(1).default('./sfleet-tls').describe('Where a renewed certificate and key are written (relative: to the working directory, the state directory under systemd); used while newer than tls.cert.'),
    }).describe('The agent\'s certificate and the fleet CA the hub\'s certificate must chain to.'),
    slurm: z
      .object({
        source: z.enum(['rest', 'cli']).default('rest').describe('rest: slurmrestd; cli: the Slurm commands (squeue, sinfo, scontrol...).'),
        endpoints: z.array(slurmEndpoint).default([]).describe('slurmrestd URLs: http(s)://host:port or unix:/path/to/slurmrestd.sock.'),
        auth: z
          .object({
            user: z.string().min(1).default('root').describe('X-SLURM-USER-NAME.'),
            token: z.string().default('').describe('X-SLURM-USER-TOKEN, a Slurm JWT (use ${SLURM_JWT} rather than a literal).'),
          })
          .strict()
          .default({ user: 'root', token: '' }).describe('How the agent authenticates to slurmrestd.'),
        api_version: z
          .string()
          .regex(/^v0\.0\.\d{2}$/, 'expected v0.0.NN')
          .optional().describe('The slurmrestd API version, e.g. v0.0.40; default: found by asking slurmrestd.'),
        timeout: duration.default(60_000).describe('Per request to slurmrestd or run of a Slurm command.'),
        tls: z
          .object({
            ca_file: z.string().min(1).optional().describe('PEM file of the CA that signed an https slurmrestd\'s certificate; default: the system\'s trusted CAs.'),
            insecure: z.boolean().default(false).describe('Accept any certificate from an https slurmrestd (the agent warns at start): for a first test only, the JWT then goes to whoever answers.'),
          })
          .strict()
          .default({ insecure: false })
          .describe('TLS to an https:// slurmrestd (slurmrestd behind a TLS proxy, or 24.05+ with TLS).'),
        simulator: z.boolean().default(false).describe('The endpoint is the project\'s slurmrestd simulator (sfleet sim): commands without a REST call go to it.'),
        cli: z.object({ bin_dir: z.string().optional().describe('Where the Slurm commands are; default: the PATH.') }).strict().default({}).describe('The cli source.'),
        load_balancing: loadBalancingSchema.default({ strategy: 'failover', health_check_interval: 30_000, failover_threshold: 3 }).describe('How several endpoints share the work.'),
      })
      .strict()
      .superRefine((s, ctx) => {
        if (s.source === 'rest' && s.endpoints.length === 0) {
          ctx.addIssue({ code: 'custom', path: ['endpoints'], message: 'the rest source needs at least one slurmrestd endpoint' });
        }
      }).describe('Where the agent reads the cluster from and sends commands to.'),
    poll_interval: duration.default(10_000).describe('How often the agent reads the cluster.'),
    spool_dir: z.string().min(1).default('./sfleet-spool').describe('Where the agent spools deltas the hub has not acknowledged yet.'),
    spool: z.object({ max_bytes: byteSize.default(256 * 1024 * 1024).describe('The most the spool holds; past it, deltas are compacted into a snapshot.') }).strict().default({ max_bytes: 256 * 1024 * 1024 }).describe('The spool of unacknowledged deltas.'),
    log_level: logLevel,
    submit: z
      .object({
        min_uid: z.number().int().min(1).default(1000).describe('Jobs are never submitted as a user with a uid below this (system accounts); root never.'),
        slurm_user: z.string().min(1).default('slurm').describe('The SlurmUser: jobs are never submitted as it.'),
      })
      .strict()
      .default({ min_uid: 1000, slurm_user: 'slurm' })
      .describe('Checks on jobs submitted through the hub, made again here whatever the hub says.'),
    encryption: encryptionConfigSchema.optional().describe('Encryption at rest of the agent\'s spool.'),
    observe: observeConfigSchema.describe('The agent\'s own /metrics and /healthz listener and Pushgateway pushes.'),
    security: securityConfigSchema.optional().describe('TLS to the hubs, slurmrestd aside (version, TLS 1.3 suites) and encryption at rest of the spool (algorithm, key provider).'),
  })
  .strict()
  .superRefine((c, ctx) => {
    checkDataAtRest(c, ctx);
    if (c.security?.encryption.data_at_rest?.key_rotation_interval !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['security', 'encryption', 'data_at_rest', 'key_rotation_interval'],
        message: "the agent does not rotate on a schedule: rotate its spool's keys with `sfleet keys rotate --config agent.yaml`; the schedule belongs in hub.yaml, where the hub group's leader runs it",
      });
    }
  });

export type AgentConfig = z.infer<typeof agentConfigSchema>;
