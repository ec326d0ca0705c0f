// Signed, single-use, expiring ack links: base64url(JSON {d: dedup_key, n: nonce, e: expiry})
// "." base64url(HMAC-SHA256). The key is made once per data directory (0600). A used nonce is
// kept (durably, in the alerting state) until the link would have expired anyway.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AckClaim {
  dedup_key: string;
  nonce: string;
  expires: number;
}

export class AckLinks {
  constructor(private readonly key: Buffer) {}

  static fromFile(path: string): AckLinks {
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, randomBytes(32), { mode: 0o600, flag: 'wx' });
    }
    return new AckLinks(readFileSync(path));
  }

  sign(dedupKey: string, expires: number): string {
    const payload = Buffer.from(JSON.stringify({ d: dedupKey, n: randomBytes(12).toString('base64url'), e: expires })).toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  /** The claim, or why the token is refused. */
  verify(token: string, now: number): AckClaim | string {
    const [payload, mac, extra] = token.split('.');
    if (!payload || !mac || extra !== undefined) return 'malformed ack link';
    const want = Buffer.from(this.mac(payload));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return 'ack link signature does not match';
    let claim: { d?: unknown; n?: unknown; e?: unknown };
    try {
      claim = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claim;
    } catch {
      return 'malformed ack link';
    }
    if (typeof claim.d !== 'string' || typeof claim.n !== 'string' || typeof claim.e !== 'number') return 'malformed ack link';
    if (now >= claim.e) return 'ack link expired';
    return { dedup_key: claim.d, nonce: claim.n, expires: claim.e };
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
