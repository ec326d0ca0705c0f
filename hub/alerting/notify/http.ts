// One HTTP request for the HTTP channels and the Confluence client, its answer classified the same
// way for all of them: 2xx delivered; 408, 429 (with Retry-After) and 5xx retry; other 4xx
// rejected; no answer retry. https goes through node:https with the hub's TLS policy (TLS 1.3,
// security.encryption.tls.cipher_suites) and the channel's CA, like every other client of the hub.
// Reasons never carry the URL (it may hold a token, as Slack's does) or the body sent.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tlsVersionOptions, type TlsPolicy } from '../../../shared/tls/policy.js';
import type { SendResult } from './notifier.js';

export type HttpAnswer = SendResult & { body?: string; status?: number; truncated?: boolean };

/** How a channel reaches its receiver: the hub's TLS policy, a private CA, how much answer to keep. */
export interface HttpOptions {
  tls?: TlsPolicy;
  /** PEM of the CA(s) that sign the receiver's certificate; absent: the system's CAs. */
  ca?: Buffer;
  /** Bytes of the answer kept (default 2 KiB); past it the answer is cut and `truncated` set. */
  maxAnswer?: number;
}

export async function postJson(url: string, body: string, headers: Record<string, string>, signal: AbortSignal, opts: HttpOptions = {}): Promise<HttpAnswer> {
  return request('POST', url, body, { 'content-type': 'application/json', ...headers }, signal, opts);
}

/** Any method; `body` undefined sends none. The answer's text (maxAnswer at most) comes back on every outcome. */
export async function request(method: string, url: string, body: string | undefined, headers: Record<string, string>, signal: AbortSignal, opts: HttpOptions = {}): Promise<HttpAnswer> {
  let res: RawAnswer;
  try {
    res = await send(method, url, body, headers, signal, opts);
  } catch (err) {
    if (signal.aborted) return { outcome: 'retry', reason: 'no answer: timed out' };
    // A TLS refusal repeats until the config changes: rejected at once, as MQTT's certificate refusal is.
    const tls = tlsRefusal(err as NodeJS.ErrnoException, opts.tls);
    return tls ? { outcome: 'rejected', reason: tls } : { outcome: 'retry', reason: `no answer: ${(err as NodeJS.ErrnoException).code ?? (err as Error).name}` };
  }
  const { status, text, truncated } = res;
  const ok = status >= 200 && status < 300;
  if (ok) return { outcome: 'delivered', detail: `HTTP ${status}`, body: text, status, ...(truncated ? { truncated } : {}) };
  const brief = `HTTP ${status}${text ? `: ${text.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`;
  if (status === 429 || status === 408 || status >= 500) {
    const retryAfterMs = retryAfter(res.retryAfter ?? null);
    return { outcome: 'retry', reason: brief, status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  return { outcome: 'rejected', reason: brief, status };
}

interface RawAnswer {
  status: number;
  text: string;
  truncated: boolean;
  retryAfter?: string;
}

function send(method: string, url: string, body: string | undefined, headers: Record<string, string>, signal: AbortSignal, opts: HttpOptions): Promise<RawAnswer> {
  const max = opts.maxAnswer ?? 2048;
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const https = u.protocol === 'https:';
    if (!https && u.protocol !== 'http:') return reject(Object.assign(new Error('not an http(s) URL'), { code: 'ERR_INVALID_PROTOCOL' }));
    const sent = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const onAnswer = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      const done = (): void => {
        const retry = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), truncated, ...(typeof retry === 'string' ? { retryAfter: retry } : {}) });
      };
      res.on('data', (c: Buffer) => {
        if (truncated) return;
        if (size + c.length > max) {
          // Keep what fits and stop reading: a receiver cannot make the hub hold an unbounded answer.
          chunks.push(c.subarray(0, max - size));
          truncated = true;
          done();
          res.destroy();
          return;
        }
        chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        if (!truncated) done();
      });
      res.on('error', (err) => {
        if (!truncated) reject(err);
      });
    };
    // Redirects are not followed: a 3xx is refused like a 4xx (a receiver URL that moved is fixed in the config).
    const req = https
      ? httpsRequest(u, { method, headers: sent, signal, ...(opts.ca ? { ca: opts.ca } : {}), ...tlsVersionOptions(opts.tls) }, onAnswer)
      : httpRequest(u, { method, headers: sent, signal }, onAnswer);
    req.on('error', reject);
    req.end(body);
  });
}

/** A refused TLS handshake, said so a user can act (it names the hub's policy), or undefined. */
function tlsRefusal(err: NodeJS.ErrnoException, tls: TlsPolicy | undefined): string | undefined {
  const code = err.code ?? err.name;
  if (/^ERR_SSL_|^EPROTO$/.test(code)) {
    const suites = tls?.cipherSuites?.length ? tls.cipherSuites.join(', ') : "OpenSSL's default TLS 1.3 suites";
    return `TLS handshake failed (${code}): the receiver does not accept TLS 1.3 with the suites security.encryption.tls allows (${suites})`;
  }
  // An expired or not-yet-valid certificate (a receiver mid-rotation, a skewed clock) may be fixed
  // by the next try: it is retried like an unanswered request, not rejected.
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/.test(code)) return undefined;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `TLS certificate not trusted (${code}): set the channel's ca_file for a private CA`;
  return undefined;
}

/** The JSON of a delivered answer, or undefined when it is not JSON. */
export function jsonOf(answer: HttpAnswer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(answer.body ?? '') as unknown;
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Retry-After as seconds or an HTTP date. */
export function retryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/** Basic (user and password) or Bearer (a token), as the channel's credentials say. */
export function authorization(creds: { username?: string | undefined; password?: string | undefined; token?: string | undefined }): string {
  return creds.token ? `Bearer ${creds.token}` : `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
}
