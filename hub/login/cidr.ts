// Address ranges in config (auth.rate_limit.trusted_sources).
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';

/** "10.0.0.0/8", "2001:db8::/32" or one address. */
export const cidr = z
  .string()
  .max(64)
  .refine((text) => parseCidr(text) !== undefined, 'a CIDR such as 10.1.0.0/16 or an address')
  .describe('An address range (CIDR) or one address.');

export function parseCidr(text: string): { address: string; prefix: number; type: 'ipv4' | 'ipv6' } | undefined {
  const [address, bits, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!type) return undefined;
  const max = type === 'ipv4' ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) return undefined;
  return { address, prefix, type };
}

