// HTTPS to the identity provider: discovery, keys and the code exchange. TLS is always
// verified (against `ca` when configured); every call has a deadline. Errors name the URL and
// what went wrong, never a request body (it may hold the client secret or a code).
import { request } from 'node:https';

export class IssuerHttpError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export interface IssuerHttpOptions {
  ca?: string;
  timeoutMs: number;
}

const MAX_BODY = 1024 * 1024;

export function issuerRequest(
  url: string,
  opts: IssuerHttpOptions & { method?: 'GET' | 'POST'; form?: Record<string, string>; headers?: Record<string, string> },
): Promise<unknown> {
  const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
  const where = url.split('?')[0];
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: opts.ca,
        // A fresh connection per call: calls are rare, and a pooled socket to a restarted IdP fails.
        agent: false,
        timeout: opts.timeoutMs,
        headers: {
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy(new Error('answer larger than 1 MiB'));
          else chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) reject(new IssuerHttpError(`${where} answered HTTP ${status}`, status, json));
          else if (json === undefined || typeof json !== 'object' || json === null) reject(new IssuerHttpError(`${where} did not answer with a JSON object`, status));
          else resolve(json);
        });
        res.on('error', (err) => reject(new IssuerHttpError(`${where}: ${err.message}`)));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs}ms`)));
    req.on('error', (err) => reject(new IssuerHttpError(`${where}: ${err.message}`)));
    req.end(body);
  });
}
