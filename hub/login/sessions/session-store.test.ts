import { describe, expect, it } from 'vitest';
import { MemorySessionStore, SessionVerifier } from './session-store.js';

const alice = { name: 'alice', method: 'local' as const, role: 'user' as const, groups: ['hpc'], attributes: { project: 'p1' } };

describe('sessions', () => {
  it('gives the principal back for its token until it expires or is revoked', async () => {
    let now = 1_000;
    const store = new MemorySessionStore(() => now);
    const token = await store.create(alice, 60_000);
    const verifier = new SessionVerifier(store);
    // With its expiry, where open watches end.
    await expect(verifier.verify(token)).resolves.toEqual({ ...alice, expiresAt: 61_000 });
    now += 60_001;
    await expect(verifier.verify(token)).rejects.toThrow(/log in again/);
    const second = await store.create(alice, 60_000);
    await store.revoke(second);
    await expect(verifier.verify(second)).rejects.toThrow(/log in again/);
  });

  it('leaves credentials of other kinds to other verifiers', async () => {
    expect(await new SessionVerifier(new MemorySessionStore()).verify('sft_abc')).toBeUndefined();
  });
});
