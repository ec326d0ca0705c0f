// One POST from this hub to another hub of the region over mutual TLS: this hub's certificate
// (the peer knows it as a hub), the peer's checked against the fleet CA, no connection pool (a
// peer that died must not leave a socket behind), a deadline, and an answer read up to a bound.
// Command forwarding (hub/commands) and the alerting relay to the leader (hub/alerting) use it.
import { request } from 'node:https';
import { tlsOptionsOf, type TlsMaterial } from '../../shared/tls/index.js';

/** No answer within the deadline: the peer may still be working on it (the caller decides whether to send again). */
export class PeerTimeoutError extends Error {}

export interface PeerPost {
  /** This hub's certificate and the fleet CA. */
  tls: TlsMaterial;
  headers: Record<string, string>;
  body: Buffer;
  timeoutMs: number;
  /** The largest answer read; a larger one fails the request. */
  maxAnswer: number;
}

export interface PeerAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** Rejects on network and TLS failures, an answer over maxAnswer, and (PeerTimeoutError) the deadline. */
export function postToPeer(url: URL, p: PeerPost): Promise<PeerAnswer> {
  const { tls } = p;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { ...p.headers, 'content-length': String(p.body.length) },
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        ...tlsOptionsOf(tls),
        rejectUnauthorized: true,
        agent: false,
        timeout: p.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > p.maxAnswer) req.destroy(new Error('the answer is too large'));
          else chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new PeerTimeoutError(`no answer within ${p.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(p.body);
  });
}
