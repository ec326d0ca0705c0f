// The hub's `etcd:` section. Clustered mode, part 1: membership, leader election and fencing in
// etcd. Absent: a standalone hub.
import { z } from 'zod';
import { duration, tlsFiles } from '../../shared/config/index.js';

/** Whole seconds of at least `min`: etcd leases count in seconds. */
const seconds = (min: number) => duration.refine((ms) => ms >= min * 1000 && ms % 1000 === 0, `a whole number of seconds, at least ${min}s`);

const etcdUrl = z.string().regex(/^https?:\/\/[^\s/]+$/, 'expected http(s)://host:port');

export const etcdConfigSchema = z
  .object({
    endpoints: z.array(etcdUrl).min(1, 'name at least one etcd endpoint (http(s)://host:port)').describe('The etcd members, http(s)://host:port each.'),
    prefix: z
      .string()
      .regex(/^\/[A-Za-z0-9/_.-]*\/$/, 'a key prefix that starts and ends with "/"')
      .default('/sfleet/')
      .describe("Every key of the hub group lives under it (one prefix per region's hub group)."),
    lease_ttl: seconds(2).default(5_000).describe("The membership and leader lease: a hub that stops renewing it loses leadership this long after (whole seconds)."),
    call_timeout: duration.default(2_000).describe('Per etcd request.'),
    dial_timeout: duration.default(2_000).describe('Per connection attempt to a member.'),
    breaker_failures: z.number().int().min(1).max(100).default(2).describe('Failed calls in a row before a member is skipped for breaker_reset.'),
    breaker_reset: duration.default(1_000).describe('How long a failing member is skipped before it is tried again.'),
    tls: tlsFiles.optional().describe('Client certificate, key and CA for https:// endpoints.'),
    username: z.string().min(1).optional().describe('etcd user (etcd auth enabled): a user whose role reaches only this prefix.'),
    password: z.string().min(1).optional().describe("The etcd user's password (use ${ENV} interpolation rather than a literal)."),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (!e.username !== !e.password) ctx.addIssue({ code: 'custom', path: [e.username ? 'password' : 'username'], message: 'set username and password together' });
    if (e.tls && !e.endpoints.every((u) => u.startsWith('https://'))) ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls needs https:// endpoints (every one)' });
  });

export type EtcdConfig = z.infer<typeof etcdConfigSchema>;
