// Connection caps on a listener: at most `perSource` open connections from one address (outside
// the trusted sources and proxies: a bastion or a proxy carries many users) and `total` in all.
// Counted on the raw TCP connection, before the TLS handshake, so a flood of half-open or slow
// connections costs a socket each and no more, and other sources still get in.
import { BlockList, isIPv4, isIPv6, type Server, type Socket } from 'node:net';

export interface ConnectionLimitOptions {
  perSource: number;
  total: number;
  /** Addresses or CIDRs exempt from the per-source cap (never from the total). */
  trusted: readonly string[];
}

/** A BlockList of addresses and CIDRs ("10.0.0.0/8", "::1", "192.0.2.7"). */
export function addressList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (!isIPv4(address) && !isIPv6(address)) continue;
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

/** "::ffff:127.0.0.1" is 127.0.0.1 for counting and for the lists. */
function plain(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

export function matches(list: BlockList, address: string): boolean {
  if (isIPv4(address)) return list.check(address, 'ipv4');
  if (isIPv6(address)) return list.check(address, 'ipv6');
  return false;
}

export class ConnectionLimiter {
  private readonly bySource = new Map<string, number>();
  private open = 0;
  private readonly trusted: BlockList;
  /** Connections closed at once because a cap was reached. */
  readonly refused = { per_source: 0, total: 0 };

  constructor(private readonly opts: ConnectionLimitOptions) {
    this.trusted = addressList(opts.trusted);
  }

  /** Counts the connection, or destroys it when a cap is reached. */
  admit(socket: Socket): boolean {
    const source = plain(socket.remoteAddress);
    if (this.open >= this.opts.total) {
      this.refused.total++;
      socket.destroy();
      return false;
    }
    const n = this.bySource.get(source) ?? 0;
    if (n >= this.opts.perSource && !matches(this.trusted, source)) {
      this.refused.per_source++;
      socket.destroy();
      return false;
    }
    this.open++;
    this.bySource.set(source, n + 1);
    socket.once('close', () => {
      this.open--;
      const left = (this.bySource.get(source) ?? 1) - 1;
      if (left <= 0) this.bySource.delete(source);
      else this.bySource.set(source, left);
    });
    return true;
  }

  get connections(): number {
    return this.open;
  }

  /** Applies the caps to every connection `server` accepts from now on. */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.admit(socket));
  }
}
