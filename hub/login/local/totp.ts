// TOTP (RFC 6238) second factor with otplib: 6 digits, 30 s, SHA-1, what authenticator apps use.
// A code is good once: the matched time step is claimed region-wide (Redis when clustered), so
// the same code replayed within its window is refused.
import { generateSecret, generateURI, verify } from 'otplib';
import { TotpInvalidError, TotpReplayedError } from '../errors.js';

export const TOTP_PERIOD_S = 30;

/** Claims a key once within ttlMs; true for the first caller (hub/replication DedupeStore). */
export interface OnceStore {
  claim(key: string, ttlMs: number): Promise<boolean>;
}

export function newTotpSecret(): string {
  return generateSecret();
}

export function totpUri(secret: string, user: string, issuer: string): string {
  return generateURI({ issuer, label: user, secret });
}

export class TotpVerifier {
  constructor(
    private readonly once: OnceStore,
    private readonly window: number,
  ) {}

  /** Throws TotpInvalidError or TotpReplayedError; resolves when the code is good and fresh. */
  async check(user: string, secret: string, code: string): Promise<void> {
    if (!/^\d{6}$/.test(code)) throw new TotpInvalidError();
    const result = await verify({ secret, token: code, epochTolerance: this.window * TOTP_PERIOD_S });
    if (!result.valid || !('timeStep' in result)) throw new TotpInvalidError();
    // Once the step is claimed the code is spent, until it cannot verify any more anyway.
    const ttl = (2 * this.window + 2) * TOTP_PERIOD_S * 1000;
    if (!(await this.once.claim(`totp:${user}:${result.timeStep}`, ttl))) throw new TotpReplayedError();
  }
}
