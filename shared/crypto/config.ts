// The `encryption` section of the hub and agent configs (the same for both).
import { z } from 'zod';
import { duration } from '../config/index.js';

const vaultSchema = z
  .object({
    address: z.string().regex(/^https?:\/\/[^\s/]+\/?$/, 'expected http(s)://host:port of the Vault server').describe('http(s)://host:port of the Vault server.'),
    mount: z.string().regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'a mount path such as "transit"').default('transit').describe('The transit secrets engine\'s mount path.'),
    key_name: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'a transit key name').describe('The transit key that wraps the data keys.'),
    token_file: z.string().min(1).optional().describe('A file holding the Vault token.'),
    token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional().describe('An environment variable holding the Vault token.'),
    namespace: z.string().min(1).optional().describe('Vault Enterprise namespace.'),
    ca_file: z.string().min(1).optional().describe('CA bundle for an https address with a private CA.'),
    timeout: duration.default(5_000).describe('Per request to Vault.'),
    retries: z.number().int().min(0).max(10).default(2).describe('Retries of a failed request to Vault.'),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!v.token_file === !v.token_env) ctx.addIssue({ code: 'custom', path: ['token_file'], message: 'set exactly one of token_file and token_env' });
  });

export const encryptionConfigSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Seal the files written from now on; off: plain files, and sealed ones are refused.'),
    provider: z.enum(['file', 'env', 'vault']).default('file').describe('Where the key-encryption key comes from: a keyring file, an environment variable or Vault transit.'),
    file: z.object({ path: z.string().min(1).describe('The keyring file; created with a new key on the first start with encryption on (back it up).') }).strict().optional().describe('provider file: the keyring file.'),
    env: z.object({ var: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').describe('The environment variable holding a base64 256-bit key, or a JSON map of versions (VAR_V<n> adds version n).') }).strict().optional().describe('provider env: the environment variable holding the key.'),
    vault: vaultSchema.optional().describe('provider vault: Vault transit.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.enabled && !c[c.provider]) ctx.addIssue({ code: 'custom', path: [c.provider], message: `provider "${c.provider}" needs its "${c.provider}" section` });
  });

export type EncryptionConfig = z.infer<typeof encryptionConfigSchema>;
