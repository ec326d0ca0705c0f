// The replicated deltas' data keys in Redis follow a scheduled key rotation, so the old version
// can be retired (issue 11). Two hubs with their own data directories and one shared keyring
// elect a leader in a private etcd and seal stream entries into a private Redis secured as in
// production (TLS, client certificates, the ACL user), wired as hub/start/region.ts wires them:
// the leader's schedule (injected clock) and each hub's KeyRewrap with the Redis data-key records.
// After the leader rotates, every record in Redis names the new version, each hub's oldest_in_use
// says so, and once v1 is removed from the keyring a new follower still opens the entries sealed
// under v1 before the rotation.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditConfigSchema, AuditLog } from '../hub/audit/index.js';
import { etcdConfigSchema, redisConfigSchema } from '../hub/config/index.js';
import { groupKeyVersion, KeyRewrap, KeyRotationSchedule } from '../hub/keys/index.js';
import { createEtcdClient, EtcdLeadership } from '../hub/leader/index.js';
import { createRedis, DataKeyRecords, replicationKeys, ReplicationSealer, streamBind } from '../hub/replication/index.js';
import { ManualClock } from '../shared/clock/index.js';
import { AtRest } from '../shared/crypto/index.js';
import { makePki, type TestPki } from './harness/pki.js';
import { PrivateEtcd } from './harness/private-etcd.js';
import { registerKeyring, testLogger } from './harness/run-logs.js';
import { SecureServices } from './harness/secure-services.js';
import { waitFor } from './harness/wait.js';

const MINUTE = 60_000;
const REGION = 'rotation-redis';
const KEYS = replicationKeys('sfleet', REGION);
let etcd: PrivateEtcd;
let pki: TestPki;
let services: SecureServices;
const clients: Etcd3[] = [];
const redises: Redis[] = [];
const keyring = join(mkdtempSync(join(tmpdir(), 'sfleet-rotation-redis-ring-')), 'keyring.json');
const clock = new ManualClock(Date.parse('2026-12-07T12:00:00.000Z'));

beforeAll(async () => {
  etcd = await PrivateEtcd.create('key-rotation-redis');
  pki = await makePki();
  services = await SecureServices.create('key-rotation-redis', pki, { etcdPrefix: '/sfleet/', redisKeyPrefix: 'sfleet', region: REGION, services: ['redis'] });
}, 120_000);

afterAll(async () => {
  for (const r of redises) r.disconnect();
  for (const c of clients) c.close();
  await services?.stop();
  await etcd?.stop();
});

async function redis(): Promise<Redis> {
  const r = createRedis(redisConfigSchema.parse(services.redisSection(pki.hub)), { name: 'commands' });
  redises.push(r);
  await r.ping();
  return r;
}

interface Hub {
  id: string;
  atRest: AtRest;
  sealer: ReplicationSealer;
  redis: Redis;
  leadership: EtcdLeadership;
  rewrap: KeyRewrap;
  audit: AuditLog;
  dataDir: string;
}

async function start(id: string): Promise<Hub> {
  const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: keyring } });
  registerKeyring(keyring, 'rotation-redis keyring');
  const dataDir = mkdtempSync(join(tmpdir(), `sfleet-rotation-redis-${id}-`));
  atRest.writeFile(join(dataDir, 'users.json'), 'hub/users', Buffer.from('{"alice":{}}'));
  const r = await redis();
  const cfg = etcdConfigSchema.parse({ endpoints: [etcd.endpoint], lease_ttl: '3s' });
  const client = await createEtcdClient(cfg);
  clients.push(client);
  const logger = testLogger('key-rotation-group-redis');
  const audit = new AuditLog(auditConfigSchema.parse({}), { hubId: id, dataDir, logger, now: () => clock.now() });
  const leadership = new EtcdLeadership(cfg, {
    client,
    logger,
    identity: { hub_id: id, region: REGION, http_url: '', grpc_address: '', version: 'test' },
    health: () => ({ ready: true, redis: 'ok', stale_clusters: [], ingesting: [] }),
  });
  const deps = { atRest, roots: [dataDir], dataDir, clock, audit, logger };
  leadership.runner.register(new KeyRotationSchedule(deps, { intervalMs: 5 * MINUTE, checkMs: 100 }).singleton());
  const stores = [new DataKeyRecords({ atRest, redis: r, dataKeys: KEYS.dataKeys })];
  const rewrap = new KeyRewrap({ ...deps, hubId: id, groupVersion: groupKeyVersion(dataDir, leadership), stores }, { checkMs: 200 }).start();
  leadership.start();
  const sealer = new ReplicationSealer({ atRest, redis: r, dataKeys: KEYS.dataKeys, seal: true, clock });
  return { id, atRest, sealer, redis: r, leadership, rewrap, audit, dataDir };
}

async function stop(h: Hub): Promise<void> {
  await h.rewrap.close();
  await h.leadership.close().catch(() => undefined);
  await h.audit.close();
}

/** A delta entry as the publisher writes it: cluster, type, sealed payload and its key id. */
async function publish(h: Hub, cluster: string, text: string): Promise<void> {
  const sealed = h.sealer.seal(streamBind(KEYS.stream, 'd', cluster), Buffer.from(text))!;
  await h.redis.xadd(KEYS.stream, '*', 'h', h.id, 'c', cluster, 't', 'd', 'k', sealed.k, 'd', sealed.d);
}

/** The key version of every data-key record in Redis. */
async function recordVersions(r: Redis): Promise<number[]> {
  return Object.values(await r.hgetall(KEYS.dataKeys)).map((raw) => (JSON.parse(raw) as { key_version: number }).key_version);
}

/** Every stream entry opened as a follower opens it (load the keys named, then open). */
async function readStream(sealer: ReplicationSealer, r: Redis): Promise<string[]> {
  const entries = await r.xrangeBuffer(KEYS.stream, '-', '+');
  const fields = entries.map(([, f]) => {
    const m = new Map<string, Buffer>();
    for (let i = 0; i < f.length; i += 2) m.set(f[i]!.toString(), f[i + 1]!);
    return m;
  });
  await sealer.load(fields.map((m) => m.get('k')!.toString()));
  return fields.map((m) => sealer.open(streamBind(KEYS.stream, 'd', m.get('c')!.toString()), { k: m.get('k')!.toString(), d: m.get('d')! }).toString());
}

function audited(h: Hub, action: string): { outcome: string; resource: string }[] {
  const dir = join(h.dataDir, 'audit');
  mkdirSync(dir, { recursive: true });
  return readdirSync(dir)
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.action === action);
}

describe('key_rotation_interval with encrypt_replication: the data keys in Redis follow the rotation', () => {
  it('after the rotation every record is re-wrapped, oldest_in_use says so, and with v1 retired a new follower opens entries sealed under v1', async () => {
    const a = await start('rr-a');
    await waitFor('a leads', () => a.leadership.status().leading, 15_000, 20);
    const b = await start('rr-b');
    const hubs = [a, b];
    try {
      await publish(a, 'alpha', 'alpha job one');
      await publish(b, 'beta', 'beta job one');
      await waitFor('both key records are in Redis', async () => (await recordVersions(a.redis)).length === 2, 10_000, 50);
      expect(await recordVersions(a.redis)).toEqual([1, 1]);
      await waitFor('the schedule started', async () => (await a.leadership.singletonValue('key-rotation')) !== undefined, 10_000, 50);
      for (const h of hubs) await waitFor(`${h.id} counts the v1 records in oldest_in_use`, () => h.rewrap.versions().oldest_in_use === 1, 10_000, 50);

      clock.advance(5 * MINUTE);
      await waitFor('every data-key record in Redis is at v2', async () => (await recordVersions(a.redis)).every((v) => v === 2), 20_000, 50);
      // The retirement rule of the README: oldest_in_use equals group on every hub.
      for (const h of hubs) await waitFor(`${h.id}: oldest_in_use is 2 and equals group`, () => h.rewrap.versions().oldest_in_use === 2 && h.rewrap.versions().group === 2, 15_000, 50);
      const moves = hubs.flatMap((h) => audited(h, 'keys:rewrap')).filter((e) => /replication data keys in Redis/.test(e.resource));
      expect(moves.map((e) => e.outcome)).toEqual(moves.map(() => 'success'));
      expect(moves.map((e) => Number(/: (\d+) replication/.exec(e.resource)![1])).reduce((x, y) => x + y, 0)).toBe(2);
      // New entries after the rotation: sealed under a v2 key.
      await publish(a, 'alpha', 'alpha job two');
      await waitFor('the new key record is in Redis', async () => (await recordVersions(a.redis)).length === 3, 10_000, 50);
      expect(await recordVersions(a.redis)).toEqual([2, 2, 2]);

      // The operator retires v1: the keyring keeps v2 only.
      const ring = JSON.parse(readFileSync(keyring, 'utf8')) as { keys: { version: number }[] };
      ring.keys = ring.keys.filter((k) => k.version !== 1);
      writeFileSync(keyring, JSON.stringify(ring));
      const fresh = await AtRest.create({ enabled: true, provider: 'file', file: { path: keyring } });
      expect(fresh.keyVersion()).toBe(2);
      const r = await redis();
      const follower = new ReplicationSealer({ atRest: fresh, redis: r, dataKeys: KEYS.dataKeys, seal: false, clock });
      expect(await readStream(follower, r)).toEqual(['alpha job one', 'beta job one', 'alpha job two']);
    } finally {
      for (const h of hubs) await stop(h);
    }
  }, 180_000);
});
