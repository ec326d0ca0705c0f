import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/logging/index.js';
import { DirectoryUnavailableError } from '../errors.js';
import { MemorySessionStore, SessionVerifier } from './session-store.js';
import { RevalidatingSessionVerifier, type AccountLookup } from './session-revalidation.js';

const bob = { name: 'bob', method: 'ldap' as const, role: 'user' as const, groups: ['hpc-users', 'ops'], attributes: { project: 'p1' } };

function setup(directory: AccountLookup & { calls: number }) {
  let now = 1_000;
  const store = new MemorySessionStore(() => now);
  const verifier = new RevalidatingSessionVerifier(new SessionVerifier(store), store, { ldap: directory }, { intervalMs: 60_000, ttlMs: 3_600_000, now: () => now }, silentLogger());
  return { store, verifier, tick: (ms: number) => (now += ms) };
}

describe('session re-check against the directory', () => {
  it('takes the groups the directory has now, asks again only after the interval, and ends the session of a removed account', async () => {
    let entry: { name: string; groups: string[]; attributes: Record<string, string> } | undefined = { name: 'bob', groups: ['hpc-users'], attributes: { project: 'p2' } };
    const directory = { calls: 0, lookup: async () => (directory.calls++, entry) };
    const { store, verifier, tick } = setup(directory);
    const token = await store.create(bob, 3_600_000);
    expect(await verifier.verify(token, {})).toMatchObject({ name: 'bob', groups: ['hpc-users'], attributes: { project: 'p2' } });
    entry = undefined;
    tick(59_000);
    await verifier.verify(token, {});
    expect(directory.calls).toBe(1);
    tick(1_000);
    await expect(verifier.verify(token, {})).rejects.toThrow(/directory account no longer exists or is disabled/);
    // Revoked: the stored session is gone too, not only this hub's view of it.
    expect(await store.get(token)).toBeUndefined();
  });

  it('keeps the session as it was while the directory cannot answer, and passes other sessions untouched', async () => {
    const directory = {
      calls: 0,
      lookup: async () => {
        directory.calls++;
        throw new DirectoryUnavailableError('down');
      },
    };
    const { store, verifier } = setup(directory);
    const token = await store.create(bob, 3_600_000);
    expect(await verifier.verify(token, {})).toEqual({ ...bob, expiresAt: 3_601_000 });
    const local = await store.create({ ...bob, name: 'carol', method: 'local' }, 3_600_000);
    expect(await verifier.verify(local, {})).toMatchObject({ name: 'carol' });
    expect(directory.calls).toBe(1);
    expect(await verifier.verify('sft_other', {})).toBeUndefined();
  });

  it('asks the directory once for requests that arrive together', async () => {
    const directory = { calls: 0, lookup: async () => (directory.calls++, { name: 'bob', groups: [], attributes: {} }) };
    const { store, verifier } = setup(directory);
    const token = await store.create(bob, 3_600_000);
    await Promise.all(Array.from({ length: 5 }, () => verifier.verify(token, {})));
    expect(directory.calls).toBe(1);
  });
});
