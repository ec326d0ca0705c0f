// The hub's `compliance:` section (the brief's block). Frameworks are presets over the audit
// section that only ever raise it (presets.ts); `audit` restates the audit log's settings in the
// brief's words. Cross-section checks (a backend that is not configured) are in check.ts.
import { z } from 'zod';

export const FRAMEWORKS = ['sox', 'gdpr', 'hipaa', 'soc2'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** The record fields a shipping destination may be given; `ip` is the brief's name for source_ip. */
export const SHIPPABLE_FIELDS = ['user', 'action', 'resource', 'timestamp', 'ip', 'outcome', 'status', 'reason', 'auth_method', 'request_id', 'tenant', 'transport', 'level', 'hub_id', 'request'] as const;

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

export const complianceAuditSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .refine((v) => v, 'the audit log cannot be turned off (every change and every refused login is recorded): remove the key or set it to true')
      .describe('Always true: the hash-chained audit log is always written; false is refused.'),
    backend: z
      .enum(['file', 'elasticsearch', 'webhook'])
      .default('file')
      .describe('Where records are kept besides the local hash-chained files: elasticsearch or webhook need audit.ship.<backend> (its url and credentials); the fields below apply to it.'),
    retention_days: z.number().int().min(1).max(36_500).optional().describe('Days the audit files are kept at least: raises audit.retention_days, never lowers it.'),
    fields: z
      .array(z.enum(SHIPPABLE_FIELDS))
      .min(1)
      .optional()
      .describe('The record fields shipped to the backend (ip is source_ip); the record id always goes too, so a retried record overwrites. Absent: every field. The local files keep every field.'),
  })
  .strict();

export const gdprSchema = z
  .object({
    pseudonym_key_env: envName.optional().describe('An environment variable holding the key of the HMAC-SHA256 pseudonyms (stable per key: the same user gets the same pseudonym in every export).'),
    pseudonym_key_file: z.string().min(1).optional().describe('A file holding the pseudonym key.'),
  })
  .strict()
  .refine((g) => !(g.pseudonym_key_env && g.pseudonym_key_file), { path: ['pseudonym_key_file'], message: 'set pseudonym_key_env or pseudonym_key_file, not both' });

export const complianceConfigSchema = z
  .object({
    frameworks: z
      .array(z.enum(FRAMEWORKS))
      .default([])
      .describe('Presets that raise the audit settings: sox (audit files kept 2555 days at least), hipaa (reads of job data recorded), gdpr (pseudonymised exports, sfleet export --user), soc2 (sfleet compliance report).'),
    audit: complianceAuditSchema.optional().describe('The audit log in the brief\'s words; each key raises or points at the audit section.'),
    gdpr: gdprSchema.optional().describe('GDPR: the key of the pseudonyms in exports asked for with pseudonymize.'),
  })
  .strict();

export type ComplianceConfig = z.infer<typeof complianceConfigSchema>;
