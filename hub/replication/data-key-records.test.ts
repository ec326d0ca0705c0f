import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { AtRest } from '../../shared/crypto/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import type { AuditEvent } from '../audit/record.js';
import { KeyRewrap } from '../keys/index.js';
import { DataKeyRecords } from './data-key-records.js';
import { ReplicationSealer, streamBind } from './entry-sealer.js';

const KEY = 'sfleet:eu:data-keys';
const SECRET = Buffer.from('job=secret-protein-fold');
const bind = streamBind('sfleet:eu:deltas', 'd', 'alpha');

/** The data-keys hash as Redis answers the commands used on it (the CAS script evaluated as Redis would). */
function hashStore() {
  const hash = new Map<string, string>();
  /** Runs before the script's compare: another hub's write landing in between. */
  let beforeCas: (() => Promise<unknown>) | undefined;
  const redis = {
    hsetnx: async (_k: string, f: string, v: string) => (hash.has(f) ? 0 : (hash.set(f, v), 1)),
    hmget: async (_k: string, ...fs: string[]) => fs.map((f) => hash.get(f) ?? null),
    hget: async (_k: string, f: string) => hash.get(f) ?? null,
    hgetall: async () => Object.fromEntries(hash),
    eval: async (_script: string, _n: number, _k: string, f: string, expected: string, next: string) => {
      const other = beforeCas;
      beforeCas = undefined;
      await other?.();
      if (hash.get(f) !== expected) return 0;
      hash.set(f, next);
      return 1;
    },
  } as unknown as Redis;
  return { hash, redis, interleave: (fn: () => Promise<unknown>) => (beforeCas = fn) };
}

async function hub(keyring: string, store: ReturnType<typeof hashStore>) {
  const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: keyring } });
  const sealer = new ReplicationSealer({ atRest, redis: store.redis, dataKeys: KEY, seal: true, clock: new ManualClock() });
  return { atRest, sealer, records: new DataKeyRecords({ atRest, redis: store.redis, dataKeys: KEY }) };
}

/** Removes a key version from the keyring file, as an operator retiring it does. */
function retire(keyring: string, version: number): void {
  const ring = JSON.parse(readFileSync(keyring, 'utf8')) as { keys: { version: number }[] };
  ring.keys = ring.keys.filter((k) => k.version !== version);
  writeFileSync(keyring, JSON.stringify(ring));
}

const versionsIn = (store: ReturnType<typeof hashStore>): number[] => [...store.hash.values()].map((r) => (JSON.parse(r) as { key_version: number }).key_version);
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('DataKeyRecords (the replication data keys follow a key rotation)', () => {
  it('re-wraps the records below the group version; after the old version is retired, an entry sealed before it still opens', async () => {
    const keyring = join(mkdtempSync(join(tmpdir(), 'dkr-')), 'keyring.json');
    const store = hashStore();
    const a = await hub(keyring, store);
    const sealed = a.sealer.seal(bind, SECRET)!;
    await settle();
    await a.atRest.rotate([]);
    expect(await a.records.oldestVersion()).toBe(1);

    // Without the re-wrap, retiring v1 would lose the entry: a fresh hub cannot open it.
    const copy = `${keyring}.copy`;
    writeFileSync(copy, readFileSync(keyring), { mode: 0o600 });
    retire(copy, 1);
    const early = await hub(copy, store);
    await early.sealer.load([sealed.k]);
    expect(() => early.sealer.open(bind, sealed)).toThrow(/cannot open/);

    expect(await a.records.rewrapTo(2)).toEqual({ rewrapped: 1, current: 0, failed: [] });
    expect(versionsIn(store)).toEqual([2]);
    expect(await a.records.oldestVersion()).toBe(2);
    expect(await a.records.rewrapTo(2)).toEqual({ rewrapped: 0, current: 1, failed: [] });

    retire(keyring, 1);
    const b = await hub(keyring, store);
    await b.sealer.load([sealed.k]);
    expect(b.sealer.open(bind, sealed).equals(SECRET)).toBe(true);
  });

  it('two hubs re-wrapping at once never clobber: the one that loses the compare-and-set finds the record moved', async () => {
    const keyring = join(mkdtempSync(join(tmpdir(), 'dkr-')), 'keyring.json');
    const store = hashStore();
    const a = await hub(keyring, store);
    const sealed = a.sealer.seal(bind, SECRET)!;
    await settle();
    await a.atRest.rotate([]);
    const b = await hub(keyring, store);
    // b reads the v1 record, then a's re-wrap lands before b's compare-and-set.
    const before = store.hash.get(sealed.k)!;
    let aMoved: unknown;
    store.interleave(async () => (aMoved = await a.records.rewrapTo(2)));
    expect(await b.records.rewrapTo(2)).toEqual({ rewrapped: 0, current: 1, failed: [] });
    expect(aMoved).toEqual({ rewrapped: 1, current: 0, failed: [] });
    expect(store.hash.get(sealed.k)).not.toBe(before);
    expect(versionsIn(store)).toEqual([2]);
    retire(keyring, 1);
    const c = await hub(keyring, store);
    await c.sealer.load([sealed.k]);
    expect(c.sealer.open(bind, sealed).equals(SECRET)).toBe(true);
  });

  it('a hub storing its key record late (HSETNX) does not put the old wrapping back over a moved record', async () => {
    const keyring = join(mkdtempSync(join(tmpdir(), 'dkr-')), 'keyring.json');
    const store = hashStore();
    const a = await hub(keyring, store);
    const sealed = a.sealer.seal(bind, SECRET)!;
    await settle();
    const v1 = store.hash.get(sealed.k)!;
    await a.atRest.rotate([]);
    await a.records.rewrapTo(2);
    // The same record sent again (a retried write): Redis keeps the re-wrapped one.
    expect(await store.redis.hsetnx(KEY, sealed.k, v1)).toBe(0);
    expect(versionsIn(store)).toEqual([2]);
  });

  it("KeyRewrap moves them at every check and counts them in oldest_in_use, so the retirement rule holds", async () => {
    const keyring = join(mkdtempSync(join(tmpdir(), 'dkr-')), 'keyring.json');
    const dir = mkdtempSync(join(tmpdir(), 'dkr-data-'));
    const store = hashStore();
    const a = await hub(keyring, store);
    a.atRest.writeFile(join(dir, 'users.json'), 'hub/users', Buffer.from('{}'));
    a.sealer.seal(bind, SECRET);
    // Another hub's key made under v1 whose record reaches Redis only after the re-wrap.
    const otherRedis = hashStore();
    (await hub(keyring, otherRedis)).sealer.seal(bind, SECRET);
    await settle();
    const [lateId, lateRecord] = [...otherRedis.hash.entries()][0]!;
    const group: { version?: number } = {};
    const audit: AuditEvent[] = [];
    const rewrap = new KeyRewrap(
      { atRest: a.atRest, roots: [dir], dataDir: dir, hubId: 'h1', groupVersion: async () => group.version, stores: [a.records], clock: new ManualClock(), audit: { record: async (e) => void audit.push(e) as never }, logger: silentLogger() },
      { checkMs: 1_000 },
    );
    expect(await rewrap.check()).toBe('idle');
    expect(rewrap.versions().oldest_in_use).toBe(1);
    // The leader rotated and moved its own files (here: this data dir); the Redis record is still v1.
    await a.atRest.rotate([dir]);
    group.version = 2;
    expect(await rewrap.check()).toBe('rewrapped');
    expect(versionsIn(store)).toEqual([2]);
    expect(rewrap.versions()).toMatchObject({ group: 2, hub: 2, oldest_in_use: 2 });
    expect(audit.map((e) => e.resource)).toEqual([expect.stringMatching(/ v2: 1 replication data keys in Redis re-wrapped$/)]);

    // A record stored late under v1 (another hub's, wrapped before the rotation, its write retried) is caught at the next check.
    store.hash.set(lateId, lateRecord);
    expect(versionsIn(store).sort()).toEqual([1, 2]);
    const registry = new Registry();
    rewrap.registerMetrics(registry);
    expect(await rewrap.check()).toBe('rewrapped');
    expect(versionsIn(store)).toEqual([2, 2]);
    expect(await registry.metrics()).toContain('sfleet_hub_key_version{of="oldest_in_use"} 2');

    // Redis out of reach: nothing audited, no key error (Redis's health says it), moved once it answers.
    store.hash.set(lateId, lateRecord);
    const hgetall = store.redis.hgetall;
    store.redis.hgetall = (async () => Promise.reject(new Error('connect ECONNREFUSED'))) as typeof hgetall;
    expect(await rewrap.check()).toBe('idle');
    expect(rewrap.versions().error).toBeUndefined();
    expect(audit).toHaveLength(2);
    store.redis.hgetall = hgetall;
    expect(await rewrap.check()).toBe('rewrapped');
    expect(versionsIn(store)).toEqual([2, 2]);
  });
});
