// Which limits a login attempt counts against: its user name always; from an address outside
// auth.rate_limit.trusted_sources also (address, user) with a short backoff, which comes before
// the user's own lockout so one noisy address does not lock the account for everyone, and the
// address over all user names.
import { BlockList, isIPv4 } from 'node:net';
import { parseCidr } from './cidr.js';
import type { AuthConfig } from './config.js';
import type { LimitKey } from './login-limiter.js';

type RateLimit = AuthConfig['rate_limit'];

export class LoginLimits {
  private readonly trusted = new BlockList();
  constructor(private readonly config: RateLimit) {
    for (const text of config.trusted_sources) {
      const c = parseCidr(text)!;
      this.trusted.addSubnet(c.address, c.prefix, c.type);
    }
  }

  isTrusted(source: string | undefined): boolean {
    if (!source) return false;
    const ip = plainAddress(source);
    return this.trusted.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6');
  }

  keys(user: string, source: string | undefined): LimitKey[] {
    const c = this.config;
    const name = user.toLowerCase();
    const keys: LimitKey[] = [{ key: `user:${name}`, max: c.max_failures_per_user, window: c.window, lockout: c.lockout }];
    if (source && !this.isTrusted(source)) {
      const ip = plainAddress(source);
      keys.push({ key: `src:${ip}|${name}`, max: c.max_failures_per_source, window: c.source_backoff, lockout: c.source_backoff });
      keys.push({ key: `ip:${ip}`, max: c.max_failures_per_ip, window: c.window, lockout: c.lockout });
    }
    return keys;
  }

  /** An address alone (a WebAuthn answer names no user before it is checked). */
  sourceKeys(source: string | undefined): LimitKey[] {
    if (!source || this.isTrusted(source)) return [];
    const c = this.config;
    return [{ key: `ip:${plainAddress(source)}`, max: c.max_failures_per_ip, window: c.window, lockout: c.lockout }];
  }

  /** What an admin's unlock of a user clears: the user's lockout (address backoffs run out by themselves). */
  userKeys(user: string): string[] {
    return [`user:${user.toLowerCase()}`];
  }
}

/** "::ffff:10.0.0.1" (an IPv4 client on a dual-stack socket) -> "10.0.0.1". */
function plainAddress(ip: string): string {
  return ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}
