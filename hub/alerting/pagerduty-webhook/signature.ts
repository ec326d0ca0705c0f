// PagerDuty v3 webhook signatures (developer docs, "Verifying Signatures"): X-PagerDuty-Signature
// holds one or more comma-separated `v1=<hex HMAC-SHA256 of the raw body>`, one per signing
// secret while PagerDuty rotates one. A delivery is PagerDuty's when any v1 signature matches any
// secret configured here; the raw bytes are signed, so the body is checked before it is parsed.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header's value for a body signed with these secrets (a sender's view: tests, a local relay). */
export function signPagerDuty(raw: Buffer | string, secrets: readonly string[]): string {
  return secrets.map((s) => `v1=${createHmac('sha256', s).update(raw).digest('hex')}`).join(',');
}

/** Whether one v1 signature of the header matches one of the secrets (compared in constant time). */
export function verifyPagerDuty(raw: Buffer, header: string | string[] | undefined, secrets: readonly string[]): boolean {
  return matchingSecrets(raw, header, secrets).length > 0;
}

/**
 * The secrets one v1 signature of the header matches (compared in constant time). A hub paging
 * several PagerDuty services acts on a delivery only for the channels whose secret signed it.
 */
export function matchingSecrets(raw: Buffer, header: string | string[] | undefined, secrets: readonly string[]): string[] {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value || !secrets.length) return [];
  const given = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => Buffer.from(part.slice(3).toLowerCase(), 'utf8'));
  const matched: string[] = [];
  for (const secret of secrets) {
    const want = Buffer.from(createHmac('sha256', secret).update(raw).digest('hex'), 'utf8');
    // Every pair is compared (no early exit), equal lengths only: timingSafeEqual needs them.
    let ok = false;
    for (const got of given) if (got.length === want.length && timingSafeEqual(got, want)) ok = true;
    if (ok) matched.push(secret);
  }
  return matched;
}
