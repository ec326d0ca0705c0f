// The `env` provider: keys from the environment. `<VAR>` holds one base64 key (version 1) or a
// JSON map {"1":"<base64>","2":"<base64>"}; `<VAR>_V<n>` adds version n. The newest version
// wraps new data keys; the others stay for reading. The process cannot add a version itself:
// set the new variable, restart, then `sfleet keys rotate` re-wraps to it.
import { KeyConfigError } from './errors.js';
import { decodeKey, LocalKeyProvider } from './key-provider.js';

export class EnvKeyProvider extends LocalKeyProvider {
  readonly kind = 'env' as const;
  readonly keyId: string;
  private readonly keys = new Map<number, Buffer>();

  constructor(variable: string, env: NodeJS.ProcessEnv = process.env) {
    super();
    this.keyId = variable;
    const value = env[variable]?.trim();
    if (value) {
      if (value.startsWith('{')) {
        let map: Record<string, unknown>;
        try {
          map = JSON.parse(value) as Record<string, unknown>;
        } catch {
          throw new KeyConfigError(`environment variable ${variable}: not valid JSON`);
        }
        for (const [v, key] of Object.entries(map)) {
          const version = Number(v);
          if (!Number.isInteger(version) || version < 1) throw new KeyConfigError(`environment variable ${variable}: version "${v}" must be an integer >= 1`);
          this.keys.set(version, decodeKey(String(key), `environment variable ${variable} (v${version})`));
        }
      } else {
        this.keys.set(1, decodeKey(value, `environment variable ${variable}`));
      }
    }
    const versioned = new RegExp(`^${variable}_V([0-9]+)$`);
    for (const [name, key] of Object.entries(env)) {
      const m = versioned.exec(name);
      if (!m || !key) continue;
      const version = Number(m[1]);
      if (version < 1 || this.keys.has(version)) throw new KeyConfigError(`environment variable ${name}: version ${version} is given twice or is below 1`);
      this.keys.set(version, decodeKey(key, `environment variable ${name}`));
    }
    if (this.keys.size === 0) throw new KeyConfigError(`environment variable ${variable} (or ${variable}_V1, _V2...) is not set: it must hold a base64 256-bit key`);
  }

  protected versions(): Map<number, Buffer> {
    return this.keys;
  }

  /** Nothing to create: the newest version in the environment is the one data keys move to. */
  async rotate(): Promise<{ version: number; created: boolean }> {
    return { version: this.newest(), created: false };
  }
}
