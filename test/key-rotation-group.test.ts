// Scheduled key rotation re-wraps the data keys of EVERY hub of a group, not only the leader's
// (issue 19). Three hubs with their own data directories and one shared keyring (a shared mount)
// elect a leader in a private etcd, wired as hub/start/region.ts wires them: the leader's schedule
// (injected clock, 5-minute interval) and each hub's KeyRewrap reading the schedule's record in
// etcd. After the leader rotates, every running follower's sealed files name the new version in
// their headers, read back, and its audit log has keys:rewrap; a follower that was stopped during
// the rotation re-wraps when it starts.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditConfigSchema, AuditLog } from '../hub/audit/index.js';
import { etcdConfigSchema } from '../hub/config/index.js';
import { groupKeyVersion, KeyRewrap, KeyRotationSchedule } from '../hub/keys/index.js';
import { createEtcdClient, EtcdLeadership } from '../hub/leader/index.js';
import { ManualClock } from '../shared/clock/index.js';
import { AtRest, readPrefix } from '../shared/crypto/index.js';
import { RecordLog } from '../shared/record-log/index.js';
import { PrivateEtcd } from './harness/private-etcd.js';
import { testLogger } from './harness/run-logs.js';
import { waitFor } from './harness/wait.js';

const MINUTE = 60_000;
const REGION = 'rotation-group';
let etcd: PrivateEtcd;
const clients: Etcd3[] = [];
const keyring = join(mkdtempSync(join(tmpdir(), 'sfleet-rotation-ring-')), 'keyring.json');
const clock = new ManualClock(Date.parse('2026-12-07T12:00:00.000Z'));

beforeAll(async () => {
  etcd = await PrivateEtcd.create('key-rotation-group');
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await etcd?.stop();
});

/** What a hub keeps in its data dir: whole sealed files and a sealed log. */
const FILES: [string, string, string][] = [
  ['users.json', 'hub/users', '{"alice":{}}'],
  ['tokens.json', 'hub/tokens', '{"t1":{"roles":["viewer"]}}'],
  ['sessions/sessions.json', 'hub/sessions', '{"s1":{}}'],
];

interface Hub {
  id: string;
  dataDir: string;
  atRest: AtRest;
  leadership: EtcdLeadership;
  rewrap: KeyRewrap;
  audit: AuditLog;
}

function seed(id: string, atRest: AtRest): string {
  const dataDir = mkdtempSync(join(tmpdir(), `sfleet-rotation-${id}-`));
  mkdirSync(join(dataDir, 'sessions'));
  for (const [name, purpose, text] of FILES) atRest.writeFile(join(dataDir, name), purpose, Buffer.from(text));
  const { log } = RecordLog.open(join(dataDir, 'events.log'), { sealing: atRest.sealing('hub/events') });
  log.append(Buffer.from('event one'), Buffer.from('event two'));
  log.close();
  return dataDir;
}

/** Starts (or restarts, on the same data dir) one hub: a fresh AtRest on the shared keyring. */
async function start(id: string, dataDir?: string): Promise<Hub> {
  const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: keyring } });
  const dir = dataDir ?? seed(id, atRest);
  await atRest.preload(dir);
  const cfg = etcdConfigSchema.parse({ endpoints: [etcd.endpoint], lease_ttl: '3s' });
  const client = await createEtcdClient(cfg);
  clients.push(client);
  const logger = testLogger('key-rotation-group');
  const audit = new AuditLog(auditConfigSchema.parse({}), { hubId: id, dataDir: dir, logger, now: () => clock.now() });
  const leadership = new EtcdLeadership(cfg, {
    client,
    logger,
    identity: { hub_id: id, region: REGION, http_url: '', grpc_address: '', version: 'test' },
    health: () => ({ ready: true, redis: 'ok', stale_clusters: [], ingesting: [] }),
  });
  const deps = { atRest, roots: [dir], dataDir: dir, clock, audit, logger };
  leadership.runner.register(new KeyRotationSchedule(deps, { intervalMs: 5 * MINUTE, checkMs: 100 }).singleton());
  const rewrap = new KeyRewrap({ ...deps, hubId: id, groupVersion: groupKeyVersion(dir, leadership) }, { checkMs: 200 }).start();
  leadership.start();
  return { id, dataDir: dir, atRest, leadership, rewrap, audit };
}

async function stop(h: Hub): Promise<void> {
  await h.rewrap.close();
  await h.leadership.close().catch(() => undefined);
  await h.audit.close();
}

/** The key version each sealed file's header names, as `sfleet keys status` reads them. */
function versions(h: Hub): number[] {
  return [...FILES.map(([name]) => name), 'events.log'].map((name) => readPrefix(join(h.dataDir, name))?.header.key_version ?? 0);
}

function readable(h: Hub, atRest = h.atRest): string[] {
  const out = FILES.map(([name, purpose]) => atRest.readFile(join(h.dataDir, name), purpose)?.toString() ?? '');
  const { records, log } = RecordLog.open(join(h.dataDir, 'events.log'), { sealing: atRest.sealing('hub/events') });
  log.close();
  return [...out, ...records.map((r) => Buffer.from(r).toString())];
}
const CONTENT = [...FILES.map(([, , text]) => text), 'event one', 'event two'];

function audited(h: Hub, action: string): { outcome: string; resource: string; hub_id: string }[] {
  const dir = join(h.dataDir, 'audit');
  mkdirSync(dir, { recursive: true });
  return readdirSync(dir)
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.action === action);
}

describe('key_rotation_interval on a hub group: every hub re-wraps its own files', () => {
  it('after the leader rotates, each follower (also one stopped during the rotation) moves its sealed files to the new version, audited on that hub', async () => {
    const a = await start('grp-a');
    await waitFor('a leads', () => a.leadership.status().leading, 15_000, 20);
    const b = await start('grp-b');
    let c = await start('grp-c');
    const hubs = [a, b];
    try {
      for (const h of [a, b, c]) expect(versions(h)).toEqual([1, 1, 1, 1]);
      // The schedule starts with the leader (its record in etcd); c then goes down.
      await waitFor('the schedule started', async () => (await a.leadership.singletonValue('key-rotation')) !== undefined, 10_000, 50);
      await stop(c);

      clock.advance(5 * MINUTE);
      // The leader rotates and re-wraps its own files; each running follower follows by itself.
      await waitFor('a rotated to v2', () => versions(a).every((v) => v === 2), 15_000, 50);
      await waitFor('b re-wrapped all its files to v2', () => versions(b).every((v) => v === 2), 15_000, 50);
      await waitFor('b audited its re-wrap', () => audited(b, 'keys:rewrap').length === 1, 10_000, 50);
      expect(audited(b, 'keys:rewrap')[0]).toMatchObject({ outcome: 'success', hub_id: 'grp-b', resource: expect.stringMatching(/^key file key kr-[0-9a-f]+ v2: 4 file\(s\) re-wrapped$/) });
      expect(audited(b, 'keys:rotate')).toEqual([]);
      await waitFor('a audited its rotation', () => audited(a, 'keys:rotate').length === 1, 10_000, 50);
      expect(audited(a, 'keys:rotate')[0]).toMatchObject({ outcome: 'success', hub_id: 'grp-a' });
      // The data reads back: in the running hub and in a fresh process (a restart) on the keyring.
      const fresh = await AtRest.create({ enabled: true, provider: 'file', file: { path: keyring } });
      for (const h of hubs) {
        expect(readable(h)).toEqual(CONTENT);
        expect(readable(h, fresh)).toEqual(CONTENT);
      }
      // Each hub shows it has moved: group, hub and oldest_in_use all 2.
      await waitFor('a has recorded it follows v2', () => a.rewrap.versions().hub === 2, 10_000, 50);
      for (const h of hubs) {
        const registry = new Registry();
        h.rewrap.registerMetrics(registry);
        const text = await registry.metrics();
        for (const of of ['group', 'hub', 'oldest_in_use', 'sealing']) expect(text).toContain(`sfleet_hub_key_version{of="${of}"} 2`);
      }

      // c was down: its files are still at v1 (readable: the shared keyring keeps v1).
      expect(versions(c)).toEqual([1, 1, 1, 1]);
      c = await start('grp-c', c.dataDir);
      hubs.push(c);
      await waitFor('c re-wrapped its files when it started', () => versions(c).every((v) => v === 2), 15_000, 50);
      await waitFor('c audited its re-wrap', () => audited(c, 'keys:rewrap').length === 1, 10_000, 50);
      expect(audited(c, 'keys:rewrap')[0]).toMatchObject({ outcome: 'success', hub_id: 'grp-c', resource: expect.stringMatching(/ v2: 4 file\(s\) re-wrapped$/) });
      expect(readable(c)).toEqual(CONTENT);
      // The leader moved nothing itself after its rotation, so it has no re-wrap record; b's stays one.
      expect(audited(a, 'keys:rewrap')).toEqual([]);
      expect(audited(b, 'keys:rewrap')).toHaveLength(1);
    } finally {
      for (const h of hubs) await stop(h);
    }
  }, 120_000);
});
