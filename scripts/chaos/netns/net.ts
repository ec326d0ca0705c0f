// The namespace network of `npm run chaos` (mode netns): one network namespace per hub, etcd
// member, Redis and agent, each joined by a veth pair to one bridge in the root namespace (which
// holds the chaos process, the simulator and the probes), addresses from 10.231.0.0/24. Faults
// are nftables rules inside a namespace (table `inet sfchaos`), so they act on real packets.
// Everything carries the prefix `sfc-`: a run removes what a killed earlier run left behind.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../../test/harness/index.js';

const PREFIX = 'sfc-';
const BRIDGE = `${PREFIX}br`;
const SUBNET = '10.231.0';
export const BRIDGE_ADDRESS = `${SUBNET}.1`;

export interface Node {
  /** The short name (hub-1, etcd2, redis, head1). */
  name: string;
  /** The namespace (sfc-hub-1). */
  ns: string;
  address: string;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Whether this machine lets us make a namespace (root, a kernel with netns, iproute2 and nft). */
export function netnsAvailable(): { ok: true } | { ok: false; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root' };
  // iproute2 and nftables from Debian when missing (install.sh lives beside the source, not in dist/).
  const install = spawnSync('bash', [path.join(ROOT, 'scripts/chaos/netns/install.sh')], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
  if (install.status !== 0) return { ok: false, why: `installing iproute2 and nftables failed: ${(install.stderr ?? '').trim().split('\n').pop()}` };
  // What a killed earlier run left (its probe among it) would make the probe fail: gone first.
  cleanNetns();
  const probe = `${PREFIX}probe`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) return { ok: false, why: `ip netns add refused: ${(add.stderr || add.error?.message || '').trim()}` };
  const nft = spawnSync('ip', ['netns', 'exec', probe, 'nft', 'list', 'ruleset'], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', probe]);
  if (nft.status !== 0) return { ok: false, why: `nft does not run in a namespace: ${(nft.stderr || nft.error?.message || '').trim()}` };
  return { ok: true };
}

/** Removes every namespace and link of ours, from this run or a killed earlier one. */
export function cleanNetns(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0];
    if (ns?.startsWith(PREFIX)) spawnSync('ip', ['netns', 'del', ns]);
  }
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of links.split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name?.startsWith(PREFIX)) spawnSync('ip', ['link', 'del', name]);
  }
}

export class Netns {
  readonly nodes = new Map<string, Node>();
  private next = 11;

  /** Cleans what an earlier run left, then makes the bridge. */
  constructor() {
    cleanNetns();
    ip(['link', 'add', BRIDGE, 'type', 'bridge']);
    ip(['addr', 'add', `${BRIDGE_ADDRESS}/24`, 'dev', BRIDGE]);
    ip(['link', 'set', BRIDGE, 'up']);
  }

  /** A namespace for `name` on the bridge, with the next free address. */
  add(name: string): Node {
    const ns = `${PREFIX}${name}`;
    const address = `${SUBNET}.${this.next++}`;
    const host = `${PREFIX}v${this.next - 1}`; // interface names are at most 15 characters
    ip(['netns', 'add', ns]);
    ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    ip(['link', 'set', host, 'master', BRIDGE, 'up']);
    ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    const node = { name, ns, address };
    this.nodes.set(name, node);
    return node;
  }

  get(name: string): Node {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no namespace for ${name}`);
    return n;
  }

  /**
   * Drops packets in `name`'s namespace to (`out`) and/or from (`in`) the peers' addresses;
   * `lossPercent` drops only that share at random (nftables numgen), not all; `port` only the
   * TCP connections to (and answers from) that port of the peers (one route of the delayer).
   */
  fault(name: string, peers: string[], opts: { out?: boolean; in?: boolean; lossPercent?: number; port?: number }): void {
    const addrs = `{ ${peers.map((p) => this.get(p).address).join(', ')} }`;
    const verdict = opts.lossPercent === undefined ? 'drop' : `numgen random mod 100 < ${opts.lossPercent} drop`;
    const rules: string[] = [];
    const to = opts.port === undefined ? '' : ` tcp dport ${opts.port}`;
    const from = opts.port === undefined ? '' : ` tcp sport ${opts.port}`;
    if (opts.out ?? true) rules.push(`add rule inet sfchaos output ip daddr ${addrs}${to} ${verdict}`);
    if (opts.in ?? true) rules.push(`add rule inet sfchaos input ip saddr ${addrs}${from} ${verdict}`);
    this.nft(name, rules);
  }

  /** Removes every fault of `name`'s namespace. */
  heal(name: string): void {
    this.nft(name, []);
  }

  /** The rules now in `name`'s namespace (for the log). */
  rules(name: string): string {
    return execFileSync('ip', ['netns', 'exec', this.get(name).ns, 'nft', 'list', 'table', 'inet', 'sfchaos'], { encoding: 'utf8' });
  }

  // One atomic nft batch: the table is made empty again, then the rules go in.
  private nft(name: string, rules: string[]): void {
    const batch = [
      'table inet sfchaos {',
      '  chain input { type filter hook input priority 0; }',
      '  chain output { type filter hook output priority 0; }',
      '}',
      'flush table inet sfchaos',
      ...rules,
      '',
    ].join('\n');
    execFileSync('ip', ['netns', 'exec', this.get(name).ns, 'nft', '-f', '-'], { input: batch, stdio: ['pipe', 'ignore', 'pipe'] });
  }

  /** The command prefix that runs a program in `name`'s namespace. */
  exec(name: string): string[] {
    return ['ip', 'netns', 'exec', this.get(name).ns];
  }

  /** Removes every namespace and link (the veth goes with its namespace). */
  teardown(): void {
    cleanNetns();
  }
}
