// Secrets (the HMAC key, the shipping destinations' credentials) come from an environment variable or a file, read at
// start. Errors name the variable or file, never the value.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../shared/errors/index.js';

export function readSecret(what: string, ref: { env?: string; file?: string }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (ref.env) {
    const value = env[ref.env];
    if (!value) throw new ConfigError(`${what}: environment variable ${ref.env} is not set`);
    return value;
  }
  if (ref.file) {
    let value: string;
    try {
      value = readFileSync(ref.file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${what}: cannot read ${ref.file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
    if (!value) throw new ConfigError(`${what}: ${ref.file} is empty`);
    return value;
  }
  return undefined;
}
