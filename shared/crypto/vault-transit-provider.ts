// The `vault` provider: HashiCorp Vault's transit secrets engine over its HTTP API wraps the data
// keys; the KEK never leaves Vault. Calls (all POST, JSON, `X-Vault-Token`, optional
// `X-Vault-Namespace`):
//   /v1/<mount>/encrypt/<key>      {plaintext: base64}   -> {data: {ciphertext: "vault:vN:..."}}
//   /v1/<mount>/decrypt/<key>      {ciphertext}          -> {data: {plaintext: base64}}
//   /v1/<mount>/rewrap/<key>       {ciphertext}          -> {data: {ciphertext}}  (newest version)
//   /v1/<mount>/keys/<key>/rotate                         -> new key version
// The ciphertext carries the key version ("vault:v3:..."), so old data keys stay unwrappable
// after a rotation. Vault is called once per data key: the unwrapped keys stay in memory for
// the process lifetime (AtRest), never per frame. The token is read from its file or variable
// on every call (a Vault agent may renew it) and never logged.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { KeyConfigError, KeyServiceError, KeyUnavailableError } from './errors.js';
import type { KeyProvider, WrappedDek } from './key-provider.js';
import { tlsVersionOptions, type TlsPolicy } from '../tls/policy.js';

export interface VaultTransitOptions {
  address: string;
  mount: string;
  key_name: string;
  token_file?: string;
  token_env?: string;
  namespace?: string;
  ca_file?: string;
  /** Per request, ms. */
  timeout: number;
  /** Extra attempts after a network error, a timeout, 429 or 5xx. */
  retries: number;
}

const CIPHERTEXT = /^vault:v(\d+):[A-Za-z0-9+/=]+$/;

export class VaultTransitProvider implements KeyProvider {
  readonly kind = 'vault' as const;
  readonly keyId: string;
  private readonly ca?: Buffer;

  constructor(
    private readonly opts: VaultTransitOptions,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** security.encryption.tls: the TLS 1.3 suites offered to an https Vault. */
    private readonly tlsPolicy: TlsPolicy = {},
  ) {
    this.keyId = `${opts.mount}/${opts.key_name}`;
    if (opts.ca_file) {
      try {
        this.ca = readFileSync(opts.ca_file);
      } catch (err) {
        throw new KeyConfigError(`vault ca_file ${opts.ca_file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
      }
    }
  }

  async wrap(dek: Buffer): Promise<WrappedDek> {
    const data = await this.call(`encrypt/${enc(this.opts.key_name)}`, { plaintext: dek.toString('base64') });
    return this.wrapped(data.ciphertext, 'encrypt');
  }

  async unwrap(w: WrappedDek): Promise<Buffer> {
    if (w.provider !== 'vault' || w.key_id !== this.keyId) {
      throw new KeyUnavailableError(`sealed with ${w.provider} key ${w.key_id} v${w.key_version}, but the configured key is vault key ${this.keyId}`);
    }
    const data = await this.call(`decrypt/${enc(this.opts.key_name)}`, { ciphertext: w.wrapped });
    const dek = typeof data.plaintext === 'string' ? Buffer.from(data.plaintext, 'base64') : Buffer.alloc(0);
    if (dek.length !== 32) throw new KeyServiceError(`vault decrypt/${this.opts.key_name} returned no 32-byte data key`);
    return dek;
  }

  async rewrap(w: WrappedDek): Promise<WrappedDek> {
    const data = await this.call(`rewrap/${enc(this.opts.key_name)}`, { ciphertext: w.wrapped });
    return this.wrapped(data.ciphertext, 'rewrap');
  }

  async rotate(): Promise<{ version: number; created: boolean }> {
    await this.call(`keys/${enc(this.opts.key_name)}/rotate`, {});
    // Rotate answers 204 on older Vault releases: the new version is what encrypt now uses.
    const probe = await this.wrap(Buffer.alloc(32));
    return { version: probe.key_version, created: true };
  }

  private wrapped(ciphertext: unknown, op: string): WrappedDek {
    const m = typeof ciphertext === 'string' ? CIPHERTEXT.exec(ciphertext) : null;
    if (!m) throw new KeyServiceError(`vault ${op}/${this.opts.key_name} returned no "vault:vN:..." ciphertext`);
    return { provider: 'vault', key_id: this.keyId, key_version: Number(m[1]), wrapped: ciphertext as string };
  }

  private token(): string {
    let token: string | undefined;
    if (this.opts.token_file) {
      try {
        token = readFileSync(this.opts.token_file, 'utf8').trim();
      } catch (err) {
        throw new KeyConfigError(`vault token_file ${this.opts.token_file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
      }
    } else if (this.opts.token_env) {
      token = this.env[this.opts.token_env]?.trim();
      if (!token) throw new KeyConfigError(`vault token_env: environment variable ${this.opts.token_env} is not set`);
    }
    if (!token) throw new KeyConfigError('vault: no token (set token_file or token_env)');
    return token;
  }

  /** One transit call with retries; resolves to the response's `data`. */
  private async call(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const token = this.token();
    let lastError: KeyServiceError | undefined;
    for (let attempt = 0; attempt <= this.opts.retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** (attempt - 1))));
      try {
        return await this.once(path, body, token);
      } catch (err) {
        if (!(err instanceof KeyServiceError) || (err.status !== undefined && err.status < 500 && err.status !== 429)) throw err;
        lastError = err;
      }
    }
    throw lastError ?? new KeyServiceError(`vault ${path}: failed`);
  }

  private once(path: string, body: Record<string, unknown>, token: string): Promise<Record<string, unknown>> {
    const url = new URL(`/v1/${this.opts.mount.split('/').map(enc).join('/')}/${path}`, this.opts.address);
    const payload = Buffer.from(JSON.stringify(body));
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const what = `vault ${url.origin} ${path.replace(/\/.*$/, '')}`;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': payload.length,
            'x-vault-token': token,
            ...(this.opts.namespace ? { 'x-vault-namespace': this.opts.namespace } : {}),
          },
          timeout: this.opts.timeout,
          ...(this.ca ? { ca: this.ca } : {}),
          ...tlsVersionOptions(this.tlsPolicy),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new KeyServiceError(`${what}: ${err.message}`)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let json: { data?: Record<string, unknown>; errors?: unknown[] } = {};
            try {
              json = text ? (JSON.parse(text) as typeof json) : {};
            } catch {
              // A proxy's HTML error page: the status says enough.
            }
            if (status >= 200 && status < 300) return resolve(json.data ?? {});
            // Vault's error strings describe the request, not the secret: safe to show, bounded.
            const reason = Array.isArray(json.errors) ? json.errors.map(String).join('; ').slice(0, 300) : `HTTP ${status}`;
            const hint = status === 401 || status === 403 ? ' (check the token and its policy on this key)' : '';
            reject(new KeyServiceError(`${what}: ${status} ${reason}${hint}`, status));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.opts.timeout}ms`)));
      req.on('error', (err) => reject(new KeyServiceError(`${what}: ${err.message}`)));
      req.end(payload);
    });
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
