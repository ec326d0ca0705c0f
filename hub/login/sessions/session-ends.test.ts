import { describe, expect, it } from 'vitest';
import type { Principal } from '../../policy/index.js';
import { AnnouncingSessionStore, CredentialEnds } from './session-ends.js';
import { MemorySessionStore } from './session-store.js';

const alice: Principal = { name: 'alice', method: 'local', role: 'user', groups: [], attributes: {} };

describe('credential ends', () => {
  it('a logout here tells this hub and the group; news from another hub and a token tombstone tell this hub only', async () => {
    let published = 0;
    let fromGroup = (): void => undefined;
    const ends = new CredentialEnds({ publish: () => published++, subscribe: (l) => (fromGroup = l) });
    let heard = 0;
    ends.onEnded(() => heard++);
    const sessions = new AnnouncingSessionStore(new MemorySessionStore(), ends);
    const token = await sessions.create(alice, 60_000);
    expect(await sessions.get(token)).toEqual({ ...alice, expiresAt: expect.any(Number) });
    expect([heard, published]).toEqual([0, 0]);
    await sessions.revoke(token);
    expect(await sessions.get(token)).toBeUndefined();
    expect([heard, published]).toEqual([1, 1]);
    fromGroup();
    ends.heard();
    expect([heard, published]).toEqual([3, 1]);
  });

  it('a standalone hub (no relay) tells its own watches', () => {
    const ends = new CredentialEnds();
    let heard = 0;
    const off = ends.onEnded(() => heard++);
    ends.announce();
    off();
    ends.announce();
    expect(heard).toBe(1);
  });
});
