// The hub's `redis:` section. Clustered mode, part 2: shared state in Redis (the replication
// stream, dedupe, sessions, login counters). Needs an etcd section too (hub/config/schema.ts).
import { z } from 'zod';
import { duration, hostPort, tlsFiles } from '../../shared/config/index.js';

export const redisConfigSchema = z
  .object({
    url: z.string().regex(/^rediss?:\/\/\S+$/, 'expected redis://[user:password@]host:port[/db]').optional().describe('redis://[user:password@]host:port[/db] of a single Redis; or sentinels.'),
    sentinels: z.array(hostPort).default([]).describe('Redis Sentinels (host:port) that name the primary; instead of url.'),
    sentinel_name: z.string().min(1).default('mymaster').describe('The primary the sentinels watch.'),
    username: z.string().min(1).optional().describe('Redis ACL user (default: the "default" user); its keys and channels need only <key_prefix>:<region>:*.'),
    password: z.string().optional().describe('Redis password (use ${ENV} interpolation rather than a literal).'),
    tls: tlsFiles.optional().describe('TLS to Redis (and to the Sentinels): the CA Redis must chain to, and the client certificate Redis asks for. With a url it must be rediss://.'),
    encrypt_replication: z.boolean().default(false).describe('Seal the replicated deltas and snapshots in Redis with the encryption-at-rest key (encryption must be enabled); entries written before stay readable.'),
    db: z.number().int().min(0).max(15).default(0).describe('The Redis database number.'),
    key_prefix: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits and : _ . -').default('sfleet').describe('Every key of the hub group starts with it.'),
    connect_timeout: duration.default(2_000).describe('Per connection attempt.'),
    command_timeout: duration.default(2_000).describe('Per Redis command.'),
    stream_retention: duration.default(600_000).describe('Stream entries are kept at least this long, so a hub that restarts within it catches up from the stream without a bootstrap.'),
    compact_interval: duration.default(30_000).describe("How often the leader writes each cluster's snapshot and trims the stream below it."),
    stale_after: duration.default(5_000).describe('A hub that has not read the stream for this long counts its replicated clusters as stale (and skips compaction).'),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (!r.url && r.sentinels.length === 0) ctx.addIssue({ code: 'custom', path: ['url'], message: 'set url, or sentinels and sentinel_name' });
    if (r.url && r.sentinels.length > 0) ctx.addIssue({ code: 'custom', path: ['sentinels'], message: 'set url or sentinels, not both' });
    if (r.tls && r.url?.startsWith('redis://')) ctx.addIssue({ code: 'custom', path: ['url'], message: 'tls needs a rediss:// url' });
  });

export type RedisConfig = z.infer<typeof redisConfigSchema>;
