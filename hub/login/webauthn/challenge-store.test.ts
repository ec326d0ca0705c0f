import { describe, expect, it, vi } from 'vitest';
import { MemoryDedupeStore, MemorySharedKvStore } from '../../replication/index.js';
import { ChallengeStore } from './challenge-store.js';

describe('WebAuthn challenge store', () => {
  it('gives a pending ceremony back once, only under its own kind', async () => {
    const store = new ChallengeStore(new MemorySharedKvStore(), new MemoryDedupeStore(), 60_000);
    const id = await store.put('login', { challenge: 'c1', user: 'alice' });
    expect(await store.take('registration', id)).toBeUndefined();
    expect(await store.take('login', id)).toEqual({ challenge: 'c1', user: 'alice' });
    expect(await store.take('login', id)).toBeUndefined();
    expect(await store.take('login', 'not-an-id')).toBeUndefined();
  });

  it('forgets a ceremony after its ttl', async () => {
    vi.useFakeTimers();
    try {
      const store = new ChallengeStore(new MemorySharedKvStore(), new MemoryDedupeStore(), 10_000);
      const id = await store.put('login', { challenge: 'c2' });
      vi.advanceTimersByTime(10_001);
      expect(await store.take('login', id)).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
