// The hub's configuration. Unknown keys are errors; defaults are filled here, nowhere else.
import { hostname } from 'node:os';
import { z } from 'zod';
import { duration, hostPort, logLevel, tlsFiles } from '../../shared/config/index.js';
import { ssoConfigSchema } from './sso-schema.js';
import { rbacConfigSchema } from '../policy/rbac/config.js';
import { authConfigSchema } from '../login/config.js';
import { auditConfigSchema } from '../audit/config.js';
import { encryptionConfigSchema } from '../../shared/crypto/config.js';

/** Whole seconds of at least `min`: etcd leases count in seconds. */
const seconds = (min: number) =>
  duration.refine((ms) => ms >= min * 1000 && ms % 1000 === 0, `a whole number of seconds, at least ${min}s`);

const etcdUrl = z.string().regex(/^https?:\/\/[^\s/]+$/, 'expected http(s)://host:port');

/** Clustered mode, part 1: membership, leader election and fencing in etcd. Absent: standalone. */
export const etcdConfigSchema = z
  .object({
    endpoints: z.array(etcdUrl).min(1, 'name at least one etcd endpoint (http(s)://host:port)'),
    prefix: z.string().regex(/^\/[A-Za-z0-9/_.-]*\/$/, 'a key prefix that starts and ends with "/"').default('/sfleet/'),
    lease_ttl: seconds(2).default(5_000),
    call_timeout: duration.default(2_000),
    dial_timeout: duration.default(2_000),
    breaker_failures: z.number().int().min(1).max(100).default(2),
    breaker_reset: duration.default(1_000),
    tls: tlsFiles.optional(),
  })
  .strict();

/** Clustered mode, part 2: shared state in Redis (replication stream, dedupe, sessions). */
export const redisConfigSchema = z
  .object({
    url: z.string().regex(/^rediss?:\/\/\S+$/, 'expected redis://[user:password@]host:port[/db]').optional(),
    sentinels: z.array(hostPort).default([]),
    sentinel_name: z.string().min(1).default('mymaster'),
    password: z.string().optional(),
    db: z.number().int().min(0).max(15).default(0),
    key_prefix: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits and : _ . -').default('sfleet'),
    connect_timeout: duration.default(2_000),
    command_timeout: duration.default(2_000),
    stream_retention: duration.default(600_000),
    compact_interval: duration.default(30_000),
    stale_after: duration.default(5_000),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (!r.url && r.sentinels.length === 0) ctx.addIssue({ code: 'custom', path: ['url'], message: 'set url, or sentinels and sentinel_name' });
    if (r.url && r.sentinels.length > 0) ctx.addIssue({ code: 'custom', path: ['sentinels'], message: 'set url or sentinels, not both' });
  });

/** Multi-region: the peer regions' hubs a scope=global query asks (over HTTPS, mutual TLS). */
export const regionsConfigSchema = z
  .object({
    peers: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a region name: lower-case letters, digits and dashes'),
            url: z.string().regex(/^https:\/\/[^\s/]+\/?$/, "expected https://host:port of the peer region's API"),
            timeout: duration.default(2_000),
          })
          .strict(),
      )
      .default([])
      .refine((peers) => new Set(peers.map((p) => p.name)).size === peers.length, 'peer region names must be unique'),
    // Client certificate and CA for the peers; default: the hub's own tls (hub certificates have clientAuth).
    tls: tlsFiles.optional(),
  })
  .strict();

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
    tls: tlsFiles.extend({
      // The fleet CA's private key: with it the hub renews agent certificates (CSR over the stream).
      ca_key: z.string().min(1).optional(),
      // Validity of the certificates the hub issues on renewal.
      issued_lifetime: duration.refine((ms) => ms >= 10_000, 'at least 10s').default(30 * 86_400_000),
    }),
    data_dir: z.string().min(1).default('./sfleet-data'),
    commands: z.object({ timeout: duration.default(30_000) }).strict().default({ timeout: 30_000 }),
    stream: z
      .object({
        heartbeat_interval: duration.default(5_000),
        // Missed heartbeats before an agent counts as gone and a standby agent of its cluster takes over.
        failover_threshold: z.number().int().min(2).max(100).default(3),
      })
      .strict()
      .default({ heartbeat_interval: 5_000, failover_threshold: 3 }),
    log_level: logLevel,
    etcd: etcdConfigSchema.optional(),
    redis: redisConfigSchema.optional(),
    regions: regionsConfigSchema.optional(),
    sso: ssoConfigSchema.optional(),
    // Access control (README, Access control); absent: every authenticated caller is an admin.
    rbac: rbacConfigSchema.optional(),
    auth: authConfigSchema.prefault({}),
    audit: auditConfigSchema.prefault({}),
    encryption: encryptionConfigSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.redis && !c.etcd) {
      ctx.addIssue({ code: 'custom', path: ['redis'], message: 'shared state in Redis needs etcd too (its leader compacts the replication stream): add an etcd section' });
    }
    for (const [i, peer] of (c.regions?.peers ?? []).entries()) {
      if (peer.name === c.region) ctx.addIssue({ code: 'custom', path: ['regions', 'peers', i, 'name'], message: `"${peer.name}" is this hub's own region` });
    }
  });

export type HubConfig = z.infer<typeof hubConfigSchema>;
export type EtcdConfig = z.infer<typeof etcdConfigSchema>;
export type RedisConfig = z.infer<typeof redisConfigSchema>;
export type RegionsConfig = z.infer<typeof regionsConfigSchema>;
