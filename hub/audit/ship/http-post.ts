// One POST with a deadline, over http or https (with an optional private CA), TLS 1.3 with the
// suites of security.encryption.tls like every other client of the hub.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tlsVersionOptions, type TlsPolicy } from '../../../shared/tls/policy.js';

export interface PostResult {
  status: number;
  body: string;
}

export function post(url: string, opts: { headers: Record<string, string>; body: string; timeoutMs: number; ca?: Buffer; tls?: TlsPolicy }): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      u,
      { method: 'POST', headers: { ...opts.headers, 'content-length': String(Buffer.byteLength(opts.body)) }, ca: opts.ca, ...tlsVersionOptions(opts.tls) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          // The answer is only read for the bulk item statuses; cap what we keep.
          if (size < 64 << 20) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${opts.timeoutMs}ms`)), opts.timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(opts.body);
  });
}
