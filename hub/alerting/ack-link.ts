// Signed, single-use, expiring ack links: base64url(JSON {d: dedup_key, n: nonce, e: expiry})
// "." base64url(HMAC-SHA256). The key is made once per data directory (0600); in a hub group the
// group's key (group-link.ts, in the shared security store) signs instead, and links signed with
// either are accepted. A used nonce is kept (durably, in the alerting state) until the link would
// have expired anyway.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AckClaim {
  dedup_key: string;
  nonce: string;
  expires: number;
}

export class AckLinks {
  private group?: Buffer;

  constructor(private readonly key: Buffer) {}

  /** A hub group's shared key: it signs from now on; links of this hub's own key still verify. */
  useGroupKey(key: Buffer): void {
    this.group = key;
  }

  static fromFile(path: string): AckLinks {
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, randomBytes(32), { mode: 0o600, flag: 'wx' });
    }
    return new AckLinks(readFileSync(path));
  }

  sign(dedupKey: string, expires: number): string {
    const payload = Buffer.from(JSON.stringify({ d: dedupKey, n: randomBytes(12).toString('base64url'), e: expires })).toString('base64url');
    return `${payload}.${this.mac(payload, this.group ?? this.key)}`;
  }

  /** The claim, or why the token is refused. */
  verify(token: string, now: number): AckClaim | string {
    const [payload, mac, extra] = token.split('.');
    if (!payload || !mac || extra !== undefined) return 'malformed ack link';
    const got = Buffer.from(mac);
    const matches = (key: Buffer): boolean => {
      const want = Buffer.from(this.mac(payload, key));
      return want.length === got.length && timingSafeEqual(want, got);
    };
    if (!matches(this.key) && !(this.group && matches(this.group))) return 'ack link signature does not match';
    return claimOf(payload, now);
  }

  /**
   * Why a hub group's follower refuses a token before relaying it to the leader, or undefined.
   * With the group's key it checks as the leader would; before it has that key, only the form and
   * the expiry (a link of the group key must not be refused because etcd was slow here).
   */
  precheck(token: string, now: number): string | undefined {
    if (this.group) {
      const claim = this.verify(token, now);
      return typeof claim === 'string' ? claim : undefined;
    }
    const [payload, mac, extra] = token.split('.');
    if (!payload || !mac || extra !== undefined) return 'malformed ack link';
    const claim = claimOf(payload, now);
    return typeof claim === 'string' ? claim : undefined;
  }

  private mac(payload: string, key: Buffer): string {
    return createHmac('sha256', key).update(payload).digest('base64url');
  }
}

/** The claim a token's payload carries, or why it is refused (its signature checked elsewhere). */
function claimOf(payload: string, now: number): AckClaim | string {
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
