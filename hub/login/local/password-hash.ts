// Password hashes for local users: scrypt (node:crypto) with its parameters stored beside each
// hash, so raising the cost later leaves old hashes verifiable.
//   scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { passwordHashPool } from './hash-pool.js';

// In the hash pool's own threads, never on libuv's (fs writes and fsyncs run there).
const scrypt = (password: string, salt: Buffer, keylen: number, opts: { N: number; r: number; p: number; maxmem: number }): Promise<Buffer> =>
  passwordHashPool.scrypt(password, salt, keylen, opts);

/** OWASP's scrypt floor is N=2^17, r=8, p=1 (128 MiB); tests may pass cheaper parameters. */
export const DEFAULT_SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
const KEYLEN = 32;

export async function hashPassword(password: string, params: { N: number; r: number; p: number } = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEYLEN, { ...params, maxmem: 256 * params.N * params.r });
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** False for a wrong password and for a hash this code does not understand. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || N > 2 ** 20 || r > 32 || p > 16) return false;
  const expected = Buffer.from(parts[5], 'base64url');
  const key = await scrypt(password, Buffer.from(parts[4], 'base64url'), expected.length || KEYLEN, { N, r, p, maxmem: 256 * N * r });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

