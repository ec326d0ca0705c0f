import { describe, expect, it } from 'vitest';
import { compareIds, replicationKeys } from './keys.js';
import { MemoryDedupeStore, MemorySharedKvStore } from './shared-stores.js';

describe('replication keys', () => {
  it('orders Redis stream ids numerically, not as text', () => {
    expect(compareIds('9-0', '10-0')).toBe(-1);
    expect(compareIds('10-2', '10-10')).toBe(-1);
    expect(compareIds('10-10', '10-10')).toBe(0);
    expect(compareIds('1795720640130-1', '1795720640130-0')).toBe(1);
  });
  it('keeps every key of a region under one prefix', () => {
    const k = replicationKeys('sfleet', 'eu');
    for (const key of [k.stream, k.snapshot('a'), k.clusters, k.fence, k.trimmed, k.owner('a'), k.resync, k.events, k.dedupe('x'), k.sharedKv('s')]) {
      expect(key.startsWith('sfleet:eu:')).toBe(true);
    }
  });
});

describe('standalone shared stores', () => {
  it('dedupe: the first claim of a key wins until it expires', async () => {
    const d = new MemoryDedupeStore();
    expect(await d.claim('page:1', 40)).toBe(true);
    expect(await d.claim('page:1', 40)).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(await d.claim('page:1', 40)).toBe(true);
  });
  it('key-value entries expire unless touched', async () => {
    const s = new MemorySharedKvStore();
    await s.set('abc', { user: 'alice' }, 40);
    expect(await s.get('abc')).toEqual({ user: 'alice' });
    expect(await s.touch('abc', 40)).toBe(true);
    await s.delete('abc');
    expect(await s.get('abc')).toBeUndefined();
    expect(await s.touch('abc', 40)).toBe(false);
  });
});
