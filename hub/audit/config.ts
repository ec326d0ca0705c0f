// The hub's `audit:` section. Secrets are never values in the file: they are named by an
// environment variable or a file (resolved at start; see ship/secrets.ts).
import { z } from 'zod';
import { byteSize, duration } from '../../shared/config/index.js';

/** Record fields a destination can be limited to (ship.fields). */
export const SHIPPED_FIELDS = ['timestamp', 'seq', 'level', 'hub_id', 'user', 'auth_method', 'action', 'resource', 'outcome', 'status', 'reason', 'source_ip', 'request_id', 'tenant', 'transport', 'request', 'prev_hash', 'hash'] as const;

const level = z.enum(['None', 'Metadata', 'Request']);
const globs = z.array(z.string().min(1).max(256)).min(1);
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
const httpUrl = z.string().regex(/^https?:\/\/[^\s]+$/, 'expected http(s)://host:port/...');

export const auditRuleSchema = z
  .object({
    level: level.describe('None (no record), Metadata (who, what, outcome) or Request (and the request body).'),
    actions: globs.optional().describe('Actions the rule matches (globs, e.g. jobs:*).'),
    resources: globs.optional().describe('Resources the rule matches (globs).'),
    users: globs.optional().describe('Users the rule matches (globs).'),
  })
  .strict()
  .refine((r) => r.actions || r.resources || r.users, 'a rule needs actions, resources or users to match');

export const elasticsearchShipSchema = z
  .object({
    url: httpUrl.describe('The cluster\'s base URL; records go to <url>/_bulk.'),
    index: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,254}$/, 'a lower-case Elasticsearch index name').default('sfleet-audit').describe('The index records are written to.'),
    username: z.string().min(1).optional().describe('Basic auth user (with password_env or password_file).'),
    password_env: envName.optional().describe('The name of an environment variable holding the password.'),
    password_file: z.string().min(1).optional().describe('A file holding the password.'),
    api_key_env: envName.optional().describe('An environment variable holding the encoded API key (base64 of id:key), sent as Authorization: ApiKey.'),
    api_key_file: z.string().min(1).optional().describe('A file holding the encoded API key.'),
    ca_file: z.string().min(1).optional().describe('CA bundle for an https url with a private CA.'),
  })
  .strict()
  .superRefine((e, ctx) => {
    const password = [e.password_env, e.password_file].filter(Boolean).length;
    const apiKey = [e.api_key_env, e.api_key_file].filter(Boolean).length;
    if (password > 1) ctx.addIssue({ code: 'custom', path: ['password_file'], message: 'set password_env or password_file, not both' });
    if (apiKey > 1) ctx.addIssue({ code: 'custom', path: ['api_key_file'], message: 'set api_key_env or api_key_file, not both' });
    if (password && !e.username) ctx.addIssue({ code: 'custom', path: ['username'], message: 'a password needs a username' });
    if (e.username && !password) ctx.addIssue({ code: 'custom', path: ['password_env'], message: 'a username needs password_env or password_file' });
    if (password && apiKey) ctx.addIssue({ code: 'custom', path: ['api_key_env'], message: 'use basic auth (username/password) or an API key, not both' });
  });

export const webhookShipSchema = z
  .object({
    url: httpUrl.describe('Where records are POSTed (a JSON array per batch).'),
    secret_env: envName.optional().describe('An environment variable holding the HMAC-SHA256 key: the body\'s signature goes in X-Sfleet-Signature: sha256=<hex>.'),
    secret_file: z.string().min(1).optional().describe('A file holding the HMAC-SHA256 key.'),
    ca_file: z.string().min(1).optional().describe('CA bundle for an https url with a private CA.'),
  })
  .strict()
  .refine((w) => !(w.secret_env && w.secret_file), { path: ['secret_file'], message: 'set secret_env or secret_file, not both' });

export const auditShipSchema = z
  .object({
    elasticsearch: elasticsearchShipSchema.optional().describe('Ship records to Elasticsearch (bulk API).'),
    webhook: webhookShipSchema.optional().describe('Ship records to an HTTP endpoint.'),
    buffer: z.number().int().min(1).max(1_000_000).default(10_000).describe('Records held in memory per destination while it is slow or down; when full the oldest are dropped (the local file keeps them).'),
    batch: z.number().int().min(1).max(10_000).default(500).describe('Records per request.'),
    flush_interval: duration.default(1_000).describe('How long a partial batch waits for more records.'),
    timeout: duration.default(10_000).describe('Per request to a destination.'),
    initial_backoff: duration.default(500).describe('The first wait after a failed delivery; doubled per failure.'),
    max_backoff: duration.default(60_000).describe('The longest wait between delivery attempts.'),
    fields: z
      .array(z.enum(SHIPPED_FIELDS))
      .min(1)
      .optional()
      .describe('The record fields sent to every destination (the record id always goes too, so a retried record overwrites); absent: all. The local files keep every field.'),
  })
  .strict();

export const auditConfigSchema = z
  .object({
    dir: z.string().min(1).optional().describe('Where the audit files are written; default: <data_dir>/audit.'),
    fallback_dir: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A directory on another filesystem that takes an audit record while the audit directory cannot be written (full, read-only, I/O errors), so changes are not refused; its records are folded back into the chain once it can be written. Without it such changes are refused (503).',
      ),
    level: level.default('Metadata').describe('The level of a record no rule matches.'),
    rules: z.array(auditRuleSchema).default([
      { level: 'Metadata', actions: ['audit:*'] },
      { level: 'None', actions: ['*:read'] },
    ]).describe('The first rule that matches a record sets its level.'),
    retention_days: z.number().int().min(1).max(36_500).default(2555).describe('Whole files older than this many days are deleted (2555 = 7 years, SOX).'),
    max_file_size: byteSize.pipe(z.number().int().min(4096, 'at least 4096 bytes')).default(64 * 1024 * 1024).describe('A file is also closed and a new one started at this size (a new one starts every UTC day anyway).'),
    hmac_key_env: envName.optional().describe('An environment variable holding a secret key for HMAC-SHA256 line hashes (rewriting the chain then needs the key). Keep it once enabled.'),
    hmac_key_file: z.string().min(1).optional().describe('A file holding the HMAC key.'),
    ship: auditShipSchema.optional().describe('Copies of the records sent elsewhere (the local file stays the record).'),
  })
  .strict()
  .refine((a) => !(a.hmac_key_env && a.hmac_key_file), { path: ['hmac_key_file'], message: 'set hmac_key_env or hmac_key_file, not both' });

export type AuditConfig = z.infer<typeof auditConfigSchema>;
export type AuditShipConfig = z.infer<typeof auditShipSchema>;
export type ElasticsearchShipConfig = z.infer<typeof elasticsearchShipSchema>;
export type WebhookShipConfig = z.infer<typeof webhookShipSchema>;
