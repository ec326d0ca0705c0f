// One ack-link key per hub group: kept in the group's security store, so a link any hub signs is
// accepted by every hub; standalone hubs keep their own key.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import type { SecurityKind, SecurityStore } from '../security-store/index.js';
import { AckLinks } from './ack-link.js';
import { shareAckLinkKey } from './group-link.js';

/** The shared store as every hub of a group sees it: one map, compare-and-set by running `change` on it. */
class MemoryStore implements Pick<SecurityStore, 'get' | 'update' | 'onChange'> {
  readonly map = new Map<string, unknown>();
  private readonly listeners: ((key: string) => void)[] = [];
  failing = 0;
  get<T>(kind: SecurityKind, key: string): T | undefined {
    return this.map.get(`${kind}/${key}`) as T | undefined;
  }
  async update<T>(kind: SecurityKind, key: string, change: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    if (this.failing-- > 0) throw new Error('etcd does not answer');
    const next = change(this.get<T>(kind, key));
    if (next !== undefined) this.map.set(`${kind}/${key}`, next);
    for (const l of this.listeners) l(key);
    return next;
  }
  onChange(_kind: SecurityKind, listener: (key: string) => void): void {
    this.listeners.push(listener);
  }
}

const HOUR = 3_600_000;
const flush = () => new Promise((r) => setImmediate(r));

describe('ack links in a hub group', () => {
  it('a link signed by hub A verifies on hub B once both use the group key; a standalone hub refuses it', async () => {
    const store = new MemoryStore();
    const a = new AckLinks(randomBytes(32));
    const b = new AckLinks(randomBytes(32));
    shareAckLinkKey(a, store as unknown as SecurityStore, silentLogger());
    shareAckLinkKey(b, store as unknown as SecurityStore, silentLogger());
    await flush();
    // Both hubs agree on one key, made once.
    expect([...store.map.keys()]).toEqual(['alerting/ack-link-key']);
    const link = a.sign('sfleet-eu-7', 1_000 + HOUR);
    expect(b.verify(link, 1_000)).toMatchObject({ dedup_key: 'sfleet-eu-7' });
    expect(a.verify(b.sign('sfleet-eu-8', 1_000 + HOUR), 1_000)).toMatchObject({ dedup_key: 'sfleet-eu-8' });
    const standalone = new AckLinks(randomBytes(32));
    expect(standalone.verify(link, 1_000)).toBe('ack link signature does not match');
  });

  it('a hub that sends no notifications (no channel) adopts the group key but never makes one', async () => {
    const store = new MemoryStore();
    const quiet = new AckLinks(randomBytes(32));
    shareAckLinkKey(quiet, store as unknown as SecurityStore, silentLogger(), { create: false });
    await flush();
    expect(store.map.size).toBe(0);
    const sender = new AckLinks(randomBytes(32));
    shareAckLinkKey(sender, store as unknown as SecurityStore, silentLogger());
    await flush();
    expect([...store.map.keys()]).toEqual(['alerting/ack-link-key']);
    expect(quiet.verify(sender.sign('sfleet-eu-10', 1_000 + HOUR), 1_000)).toMatchObject({ dedup_key: 'sfleet-eu-10' });
  });

  it('a follower refuses a forged or expired link before relaying it; before it has the group key only the form and expiry', async () => {
    const store = new MemoryStore();
    const leader = new AckLinks(randomBytes(32));
    const follower = new AckLinks(randomBytes(32));
    shareAckLinkKey(leader, store as unknown as SecurityStore, silentLogger());
    const link = leader.sign('sfleet-eu-9', 1_000 + HOUR);
    const forged = `${link.split('.')[0]}.${'A'.repeat(43)}`;
    // No group key yet: a well-formed link it cannot check goes on to the leader.
    expect(follower.precheck(forged, 1_000)).toBeUndefined();
    expect(follower.precheck('junk', 1_000)).toBe('malformed ack link');
    expect(follower.precheck(link, 1_000 + HOUR)).toBe('ack link expired');
    shareAckLinkKey(follower, store as unknown as SecurityStore, silentLogger());
    await flush();
    expect(follower.precheck(link, 1_000)).toBeUndefined();
    expect(follower.precheck(forged, 1_000)).toBe('ack link signature does not match');
  });

  it('a hub that cannot reach the store yet signs with its own key (its links work there), then adopts the group key; older links still verify', async () => {
    const store = new MemoryStore();
    store.failing = 1;
    const own = randomBytes(32);
    const a = new AckLinks(own);
    shareAckLinkKey(a, store as unknown as SecurityStore, silentLogger());
    await flush();
    const early = a.sign('k1', 1_000 + HOUR);
    expect(new AckLinks(own).verify(early, 1_000)).toMatchObject({ dedup_key: 'k1' });
    // Another hub made the group key meanwhile; the change reaches hub A.
    const b = new AckLinks(randomBytes(32));
    shareAckLinkKey(b, store as unknown as SecurityStore, silentLogger());
    await flush();
    expect(b.verify(a.sign('k2', 1_000 + HOUR), 1_000)).toMatchObject({ dedup_key: 'k2' });
    expect(a.verify(early, 1_000)).toMatchObject({ dedup_key: 'k1' });
  });
});
