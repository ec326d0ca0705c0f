// The brief's `security:` section, shared by hub and agent:
//   security.encryption.tls           -> every TLS endpoint (shared/tls/policy.ts)
//   security.encryption.data_at_rest  -> the envelope encryption of the `encryption` section
// data_at_rest names the algorithm and the key provider; where the provider's key lives
// (keyring path, variable, Vault address and token) stays in encryption.<provider>.
import { z } from 'zod';
import { duration } from '../config/index.js';
import { encryptionConfigSchema, type EncryptionConfig } from '../crypto/config.js';
import { tlsPolicyConfigSchema, tlsPolicyOf } from '../tls/config.js';
import type { TlsPolicy } from '../tls/policy.js';

export const dataAtRestConfigSchema = z
  .object({
    algorithm: z
      .string()
      .refine((v) => v === 'AES-256-GCM', 'only "AES-256-GCM": the envelope encryption seals every file with AES-256-GCM data keys')
      .default('AES-256-GCM')
      .describe('The cipher of sealed files: "AES-256-GCM" (the only one).'),
    key_provider: z.enum(['file', 'env', 'vault']).describe('Where the key-encryption key comes from; its details go in encryption.file, encryption.env or encryption.vault. Turns encryption at rest on.'),
    key_rotation_interval: duration
      .refine((ms) => ms >= 60_000, 'at least 1m')
      .optional()
      .describe('Rotate the key-encryption key and re-wrap the data keys this often (the leader of a hub group, audited as keys:rotate; every other hub then re-wraps its own files, audited as keys:rewrap). Absent: only by hand (sfleet keys rotate). The agent rotates its spool\'s keys by hand only.'),
  })
  .strict();

export const securityConfigSchema = z
  .object({
    encryption: z
      .object({
        tls: tlsPolicyConfigSchema.optional().describe('TLS of every listener and client: version floor and TLS 1.3 suites.'),
        data_at_rest: dataAtRestConfigSchema.optional().describe('Encryption at rest: algorithm and key provider (the provider\'s details in the `encryption` section).'),
      })
      .strict()
      .prefault({})
      .describe('TLS and encryption at rest.'),
  })
  .strict();

export type SecurityConfig = z.infer<typeof securityConfigSchema>;

/** The TLS policy every endpoint of this process uses. */
export function tlsPolicyFrom(security: SecurityConfig | undefined): TlsPolicy {
  return tlsPolicyOf(security?.encryption.tls);
}

/** Whether TLS settings were given at all (LDAP keeps its TLS 1.2 floor otherwise). */
export function hasTlsPolicy(security: SecurityConfig | undefined): boolean {
  return security?.encryption.tls !== undefined;
}

/** The `encryption` section with data_at_rest applied: on, with its key provider. */
export function effectiveEncryption(encryption: EncryptionConfig | undefined, security: SecurityConfig | undefined): EncryptionConfig | undefined {
  const atRest = security?.encryption.data_at_rest;
  if (!atRest) return encryption;
  return { ...(encryption ?? encryptionConfigSchema.parse({})), enabled: true, provider: atRest.key_provider };
}

/** Refusals that need both sections; called from the hub's and the agent's superRefine. */
export function checkDataAtRest(c: { encryption?: EncryptionConfig; security?: SecurityConfig }, ctx: z.RefinementCtx): void {
  const atRest = c.security?.encryption.data_at_rest;
  if (!atRest) return;
  const path = ['security', 'encryption', 'data_at_rest', 'key_provider'];
  if (!c.encryption?.[atRest.key_provider]) {
    const what = { file: 'path', env: 'var', vault: 'address, key_name and token_file or token_env' }[atRest.key_provider];
    ctx.addIssue({ code: 'custom', path, message: `key_provider "${atRest.key_provider}" needs encryption.${atRest.key_provider} (${what}): the provider's details live in the encryption section` });
  } else if (c.encryption.enabled && c.encryption.provider !== atRest.key_provider) {
    ctx.addIssue({ code: 'custom', path, message: `"${atRest.key_provider}" contradicts encryption.provider "${c.encryption.provider}": set one of them` });
  }
}
