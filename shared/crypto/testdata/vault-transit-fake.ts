// A stand-in for HashiCorp Vault's transit engine, for tests only (Vault cannot run here). It
// checks requests the way Vault's HTTP API does: token header (401 missing, 403 wrong), optional
// namespace header, POST/PUT only, JSON bodies, strict base64 (400), "vault:vN:" ciphertexts
// with real AES-256-GCM under versioned keys, encrypt creating a missing key (upsert), rotate
// adding a version.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class VaultTransitFake {
  readonly requests: RecordedRequest[] = [];
  readonly keys = new Map<string, Buffer[]>();
  /** Answer this many requests with 503 (Vault sealed / standby) first. */
  failNext = 0;
  /** Accept connections but never answer. */
  hang = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly opts: { token: string; namespace?: string; mount: string },
    private readonly https = false,
  ) {}

  /** `tls`: serve HTTPS with this certificate and key (PEM), as a production Vault does. */
  static async start(opts: { token: string; namespace?: string; mount?: string; tls?: { cert: Buffer; key: Buffer } }): Promise<VaultTransitFake> {
    const holder: { fake?: VaultTransitFake } = {};
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => holder.fake?.handle(req.method ?? '', req.url ?? '', req.headers, Buffer.concat(chunks).toString('utf8'), res));
    };
    const server: Server = opts.tls ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest) : createServer(onRequest);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    holder.fake = new VaultTransitFake(server, typeof address === 'object' && address ? address.port : 0, { mount: 'transit', ...opts }, !!opts.tls);
    return holder.fake;
  }

  get address(): string {
    return `${this.https ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(method: string, url: string, headers: IncomingHttpHeaders, text: string, res: ServerResponse): void {
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      return send(res, 400, { errors: ['failed to parse JSON input'] });
    }
    this.requests.push({ method, path: url, headers, body });
    if (this.hang) return;
    if (this.failNext > 0) {
      this.failNext--;
      return send(res, 503, { errors: ['Vault is sealed'] });
    }
    const token = headers['x-vault-token'];
    if (!token) return send(res, 401, { errors: ['missing client token'] });
    if (token !== this.opts.token) return send(res, 403, { errors: ['permission denied'] });
    if (this.opts.namespace && headers['x-vault-namespace'] !== this.opts.namespace) return send(res, 403, { errors: ['permission denied'] });
    if (method !== 'POST' && method !== 'PUT') return send(res, 405, { errors: ['unsupported operation'] });
    const prefix = `/v1/${this.opts.mount}/`;
    if (!url.startsWith(prefix)) return send(res, 404, { errors: ['no handler for route'] });
    const rest = url.slice(prefix.length).split('/').map(decodeURIComponent);
    if (rest.length === 3 && rest[0] === 'keys' && rest[2] === 'rotate') {
      const versions = this.keys.get(rest[1]);
      if (!versions) return send(res, 400, { errors: ['encryption key not found'] });
      versions.push(randomBytes(32));
      return send(res, 200, { data: { name: rest[1], type: 'aes256-gcm96', latest_version: versions.length } });
    }
    if (rest.length !== 2) return send(res, 404, { errors: ['no handler for route'] });
    const [op, name] = rest;
    try {
      if (op === 'encrypt') {
        const plaintext = body.plaintext;
        if (typeof plaintext !== 'string' || !BASE64.test(plaintext)) return send(res, 400, { errors: ['failed to base64-decode plaintext'] });
        if (!this.keys.has(name)) this.keys.set(name, [randomBytes(32)]); // upsert, as Vault does
        return send(res, 200, { data: this.encrypt(name, Buffer.from(plaintext, 'base64')) });
      }
      if (op === 'decrypt' || op === 'rewrap') {
        if (!this.keys.has(name)) return send(res, 400, { errors: ['encryption key not found'] });
        const plain = this.decrypt(name, body.ciphertext);
        if (op === 'decrypt') return send(res, 200, { data: { plaintext: plain.toString('base64') } });
        return send(res, 200, { data: this.encrypt(name, plain) });
      }
    } catch (err) {
      return send(res, 400, { errors: [(err as Error).message] });
    }
    return send(res, 404, { errors: ['no handler for route'] });
  }

  private encrypt(name: string, plain: Buffer): { ciphertext: string; key_version: number } {
    const versions = this.keys.get(name)!;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', versions[versions.length - 1], nonce);
    const body = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { ciphertext: `vault:v${versions.length}:${body.toString('base64')}`, key_version: versions.length };
  }

  private decrypt(name: string, ciphertext: unknown): Buffer {
    const m = typeof ciphertext === 'string' ? /^vault:v(\d+):(.*)$/.exec(ciphertext) : null;
    if (!m) throw new Error('invalid ciphertext: no prefix');
    const key = this.keys.get(name)![Number(m[1]) - 1];
    if (!key) throw new Error('invalid key version');
    if (!BASE64.test(m[2])) throw new Error('invalid ciphertext: could not decode base64');
    const raw = Buffer.from(m[2], 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
    } catch {
      throw new Error('cipher: message authentication failed');
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
