// The hub's `backup:` section, in the brief's shape: `{schedule, timezone, retention, encryption,
// destinations}`. A number for retention is days. Destinations: a local directory, an S3 bucket
// (any S3-compatible server through `endpoint`), or `gcs`: Google Cloud Storage through its S3
// (XML) API with HMAC keys, i.e. an S3 destination whose endpoint defaults to Google's.
import { z } from 'zod';
import { byteSize, cronExpression, duration, timeZone } from '../../shared/config/index.js';
import { encryptionConfigSchema } from '../../shared/crypto/index.js';

/** S3 and GCS refuse, when the upload completes, any part under 5 MiB but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3 and GCS take at most 10,000 parts per object. */
export const MAX_PARTS = 10_000;

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

const bucketFields = {
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional().describe('What messages and `sfleet backup list` call it; default "<type>:<bucket>".'),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a bucket name (3-63 lower-case letters, digits, dots, dashes)').describe('The bucket.'),
  prefix: z.string().regex(/^([A-Za-z0-9._-]+\/)*$/, 'empty, or path segments each ending in "/"').default('').describe('Key prefix of every object of the backups, e.g. "region-a/".'),
  force_path_style: z.boolean().default(false).describe('Address the bucket as <endpoint>/<bucket> instead of <bucket>.<endpoint> (most self-hosted S3 servers).'),
  timeout: duration.default(30_000).describe('Per request.'),
  retries: z.number().int().min(0).max(10).default(3).describe('Retries of a failed request (with backoff) before the backup is reported failed.'),
  part_size: byteSize
    .refine((n) => n >= MIN_PART_SIZE, 'at least 5MiB: S3 and GCS refuse smaller parts (but the last) when the upload completes')
    .default(16 * 1024 * 1024)
    .describe('Objects larger than this are uploaded in parts of this size (multipart upload; an upload that fails is aborted). At least 5MiB (S3 and GCS refuse smaller parts but the last); an object that would need more than 10,000 parts goes in larger ones.'),
};

const s3Schema = z
  .object({
    type: z.literal('s3').describe('An S3-compatible bucket (AWS S3, MinIO, Ceph RGW...).'),
    ...bucketFields,
    region: z.string().min(1).default('us-east-1').describe('The bucket\'s region (signing).'),
    endpoint: z.url({ protocol: /^https?$/ }).optional().describe('An S3-compatible server (http(s)://host:port); default: AWS.'),
    access_key_id_env: envName.default('AWS_ACCESS_KEY_ID').describe('The environment variable holding the access key id.'),
    secret_access_key_env: envName.default('AWS_SECRET_ACCESS_KEY').describe('The environment variable holding the secret access key.'),
  })
  .strict();

const gcsSchema = z
  .object({
    type: z.literal('gcs').describe("A Google Cloud Storage bucket through its S3-compatible API, with HMAC keys."),
    ...bucketFields,
    region: z.string().min(1).default('auto').describe('Signing region; Google accepts "auto".'),
    endpoint: z.url({ protocol: /^https?$/ }).default('https://storage.googleapis.com').describe("Google's S3-compatible (XML API) endpoint, or a test server."),
    access_key_id_env: envName.default('GCS_HMAC_ACCESS_KEY_ID').describe('The environment variable holding the HMAC access id (a service account HMAC key).'),
    secret_access_key_env: envName.default('GCS_HMAC_SECRET').describe('The environment variable holding the HMAC secret.'),
  })
  .strict();

const localSchema = z
  .object({
    type: z.literal('local').describe('A directory on this machine (another disk or a mounted share).'),
    name: bucketFields.name,
    path: z.string().min(1).describe('A directory (another disk or a mounted share); created when missing.'),
  })
  .strict();

export const destinationSchema = z.discriminatedUnion('type', [localSchema, s3Schema, gcsSchema]);

export const backupConfigSchema = z
  .object({
    schedule: cronExpression
      .optional()
      .describe('Cron expression of the scheduled backups (in `timezone`), run by the leader; absent: on demand only (sfleet backup create).'),
    timezone: timeZone
      .default('UTC')
      .describe('Time zone of `schedule`. A time skipped by DST runs at the next valid minute; a repeated hour runs once.'),
    catch_up: duration.default(6 * 3_600_000).describe('A scheduled run missed (no leader at the time) still runs when a leader comes within this long after it.'),
    retention: z.number().min(0.01).max(36500).default(30).describe('Days a backup is kept (fractions allowed, e.g. 0.5). The newest complete backup is always kept.'),
    encryption: z
      .union([z.literal(true), encryptionConfigSchema])
      .default(true)
      .describe('true: the key provider of the hub\'s encryption at rest wraps each backup\'s data key; or a provider of its own (provider, file/env/vault), e.g. a key kept apart from the hub. Backups are always AES-256-GCM encrypted.'),
    ship_interval: duration
      .default(300_000)
      .refine((ms) => ms >= 1_000 && ms <= 300_000, 'between 1s and 5m: the change log is shipped at least every 5 minutes (the RPO)')
      .describe('How often the change log of the durable stores and the audit records written since the last ship go to every destination (point-in-time recovery between backups). Default and maximum 5m: a lost hub loses at most this much.'),
    destinations: z.array(destinationSchema).min(1).max(8).describe('Where each backup goes, all of them every time: local directories, S3 or GCS buckets.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    for (const [i, d] of c.destinations.entries()) {
      const name = destinationName(d);
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['destinations', i, 'name'], message: `two destinations are called "${name}": give one a name` });
      seen.add(name);
    }
    if (typeof c.encryption === 'object' && !c.encryption.enabled) ctx.addIssue({ code: 'custom', path: ['encryption', 'enabled'], message: 'backups are always encrypted (they hold password hashes and token digests): set enabled: true' });
  });

export type BackupConfig = z.infer<typeof backupConfigSchema>;
export type DestinationConfig = z.infer<typeof destinationSchema>;

export function destinationName(d: z.input<typeof destinationSchema> | DestinationConfig): string {
  return d.name ?? (d.type === 'local' ? `local:${d.path}` : `${d.type}:${d.bucket}`);
}
