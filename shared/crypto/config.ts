// The `encryption` section of the hub and agent configs (the same for both).
import { z } from 'zod';
import { duration } from '../config/index.js';

const vaultSchema = z
  .object({
    address: z.string().regex(/^https?:\/\/[^\s/]+\/?$/, 'expected http(s)://host:port of the Vault server'),
    mount: z.string().regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'a mount path such as "transit"').default('transit'),
    key_name: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'a transit key name'),
    token_file: z.string().min(1).optional(),
    token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
    namespace: z.string().min(1).optional(),
    ca_file: z.string().min(1).optional(),
    timeout: duration.default(5_000),
    retries: z.number().int().min(0).max(10).default(2),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!v.token_file === !v.token_env) ctx.addIssue({ code: 'custom', path: ['token_file'], message: 'set exactly one of token_file and token_env' });
  });

export const encryptionConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    provider: z.enum(['file', 'env', 'vault']).default('file'),
    file: z.object({ path: z.string().min(1) }).strict().optional(),
    env: z.object({ var: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }).strict().optional(),
    vault: vaultSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.enabled && !c[c.provider]) ctx.addIssue({ code: 'custom', path: [c.provider], message: `provider "${c.provider}" needs its "${c.provider}" section` });
  });

export type EncryptionConfig = z.infer<typeof encryptionConfigSchema>;
