import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { AtRest, FileKeyProvider } from '../../shared/crypto/index.js';
import { ReplicationSealer, streamBind } from './entry-sealer.js';

const SECRET = Buffer.from('job=secret-protein-fold user=alice');

/** The one hash the sealer uses (HSETNX, HMGET), as Redis answers them. */
function hashStore() {
  const hash = new Map<string, string>();
  const redis = {
    hsetnx: async (_key: string, field: string, value: string) => (hash.has(field) ? 0 : (hash.set(field, value), 1)),
    hmget: async (_key: string, ...fields: string[]) => fields.map((f) => hash.get(f) ?? null),
  } as unknown as Redis;
  return { hash, redis };
}

async function group(keyring: string, store = hashStore(), seal = true) {
  const clock = new ManualClock();
  const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: keyring } });
  return { clock, atRest, store, sealer: new ReplicationSealer({ atRest, redis: store.redis, dataKeys: 'sfleet:eu:data-keys', seal, clock }) };
}

const bind = streamBind('sfleet:eu:deltas', 'd', 'alpha');

describe('ReplicationSealer', () => {
  it('seals under a data key another hub of the group opens; the payload is not in the sealed bytes', async () => {
    const keyring = join(mkdtempSync(join(tmpdir(), 'sealer-')), 'keyring.json');
    const a = await group(keyring);
    const sealed = a.sealer.seal(bind, SECRET)!;
    expect(sealed.d.includes(Buffer.from('secret-protein'))).toBe(false);
    await new Promise((r) => setImmediate(r)); // the key record's HSET
    expect([...a.store.hash.keys()]).toEqual([sealed.k]);
    expect(a.store.hash.get(sealed.k)).not.toContain(SECRET.toString());
    // Hub B: its own process, the same keyring and Redis.
    const b = await group(keyring, a.store);
    await b.sealer.load([sealed.k]);
    expect(b.sealer.open(bind, sealed).equals(SECRET)).toBe(true);
    // Bound to the stream, type and cluster: an entry moved to another cluster does not open.
    expect(() => b.sealer.open(streamBind('sfleet:eu:deltas', 'd', 'beta'), sealed)).toThrow(/does not authenticate/);
    const tampered = { k: sealed.k, d: Buffer.from(sealed.d) };
    tampered.d[20] ^= 1;
    expect(() => b.sealer.open(bind, tampered)).toThrow(/does not authenticate/);
  });

  it('a damaged data-key record loads as a missing one: load() resolves, open() names the key', async () => {
    const keyring = join(mkdtempSync(join(tmpdir(), 'sealer-')), 'keyring.json');
    const a = await group(keyring);
    const sealed = a.sealer.seal(bind, SECRET)!;
    await new Promise((r) => setImmediate(r));
    a.store.hash.set(sealed.k, '{not json');
    const b = await group(keyring, a.store);
    await expect(b.sealer.load([sealed.k])).resolves.toBeUndefined();
    expect(() => b.sealer.open(bind, sealed)).toThrow(/which this hub cannot open/);
  });

  it('a new at-rest key version starts a new data key; entries of the old one still open', async () => {
    const keyring = join(mkdtempSync(join(tmpdir(), 'sealer-')), 'keyring.json');
    const a = await group(keyring);
    const old = a.sealer.seal(bind, SECRET)!;
    expect(a.sealer.seal(bind, SECRET)!.k).toBe(old.k);
    await new FileKeyProvider(keyring).rotate();
    a.clock.advance(2_000);
    const fresh = a.sealer.seal(bind, SECRET)!;
    expect(fresh.k).not.toBe(old.k);
    await new Promise((r) => setImmediate(r));
    expect(JSON.parse(a.store.hash.get(old.k)!).key_version).toBe(1);
    expect(JSON.parse(a.store.hash.get(fresh.k)!).key_version).toBe(2);
    const b = await group(keyring, a.store);
    await b.sealer.load([old.k, fresh.k]);
    expect(b.sealer.open(bind, old).equals(SECRET)).toBe(true);
    expect(b.sealer.open(bind, fresh).equals(SECRET)).toBe(true);
  });

  it('with sealing off it seals nothing but still opens; a key it cannot open is named, never shown', async () => {
    const keyring = join(mkdtempSync(join(tmpdir(), 'sealer-')), 'keyring.json');
    const a = await group(keyring);
    const sealed = a.sealer.seal(bind, SECRET)!;
    await new Promise((r) => setImmediate(r));
    const reader = await group(keyring, a.store, false);
    expect(reader.sealer.seal(bind, SECRET)).toBeUndefined();
    await reader.sealer.load([sealed.k]);
    expect(reader.sealer.open(bind, sealed).equals(SECRET)).toBe(true);
    // Another group's keyring cannot open it: a clear error with the key id's start only.
    const stranger = await group(join(mkdtempSync(join(tmpdir(), 'sealer-')), 'keyring.json'), a.store);
    await stranger.sealer.load([sealed.k]);
    expect(() => stranger.sealer.open(bind, sealed)).toThrow(new RegExp(`data key ${sealed.k.slice(0, 8)}, which this hub cannot open`));
  });
});
