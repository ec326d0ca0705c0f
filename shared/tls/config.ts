// `security.encryption.tls` (the brief's shape): the TLS version floor and the TLS 1.3 suites of
// every listener and client. Only "1.3" is accepted: the fleet never speaks TLS 1.2.
import { z } from 'zod';
import { TLS13_SUITES, type TlsPolicy } from './policy.js';

export const tlsPolicyConfigSchema = z
  .object({
    min_version: z
      .string()
      .refine((v) => v === '1.3', 'only "1.3": every listener and client of the fleet speaks TLS 1.3 only, a lower version is refused')
      .default('1.3')
      .describe('The lowest TLS version: "1.3" only (TLS 1.3 is the only version the fleet speaks).'),
    cipher_suites: z
      .array(z.enum(TLS13_SUITES, { message: `a TLS 1.3 suite: one of ${TLS13_SUITES.join(', ')}` }))
      .min(1)
      .optional()
      .describe('The TLS 1.3 suites every listener and client offers (hub HTTPS and gRPC, agent, federation, LDAP, Vault). Absent: OpenSSL\'s defaults.'),
  })
  .strict();

export type TlsPolicyConfig = z.infer<typeof tlsPolicyConfigSchema>;

export function tlsPolicyOf(config: TlsPolicyConfig | undefined): TlsPolicy {
  return config?.cipher_suites ? { cipherSuites: config.cipher_suites } : {};
}
