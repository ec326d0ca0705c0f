// The s9s terminal UI's configuration (~/.s9s/config.yaml), read as s9s reads it: the cluster
// connections are checked strictly enough to migrate; everything else is kept as plain data so
// that each key can be named in the migration report.
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../shared/errors/index.js';

const s9sCluster = z
  .object({
    name: z.string().min(1, 'a cluster needs a name'),
    cluster: z
      .object({
        endpoint: z.string().min(1, 'a cluster needs its slurmrestd endpoint'),
        token: z.string().optional(),
        apiVersion: z.string().optional(),
        insecure: z.boolean().optional(),
        timeout: z.string().optional(),
        user: z.string().optional(),
      })
      .passthrough(),
    namespace: z.string().optional(),
    readOnly: z.boolean().optional(),
  })
  .passthrough();

const s9sConfig = z
  .object({
    refreshRate: z.union([z.string(), z.number()]).optional(),
    maxRetries: z.number().optional(),
    defaultCluster: z.string().optional(),
    clusters: z.array(s9sCluster).min(1, 'the file has no clusters: nothing to migrate'),
  })
  .passthrough();

export type S9sConfig = z.infer<typeof s9sConfig>;
export type S9sCluster = z.infer<typeof s9sCluster>;

/** Parses an s9s config file's text; a broken file is one ConfigError naming the key. */
export function readS9sConfig(text: string, source: string): S9sConfig {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigError(`${source}: not YAML: ${doc.errors[0].message}`);
  const result = s9sConfig.safeParse(doc.toJS());
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(`${source}: ${issue.path.join('.') || '(top)'}: ${issue.message} (expected an s9s config.yaml)`);
  }
  return result.data;
}
