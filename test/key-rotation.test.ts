// Scheduled key rotation on a hub group (security.encryption.data_at_rest.key_rotation_interval):
// two hubs elect a leader in a private etcd; with an injected clock and a 5-minute interval the
// leader re-wraps its sealed files to a new key version by itself once the interval has passed,
// records keys:rotate in its audit log, and the follower does nothing. When the leader goes, the
// new one continues the schedule from etcd (not due yet) and rotates one interval later.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditConfigSchema, AuditLog } from '../hub/audit/index.js';
import { etcdConfigSchema } from '../hub/config/index.js';
import { KeyRotationSchedule } from '../hub/keys/index.js';
import { createEtcdClient, EtcdLeadership } from '../hub/leader/index.js';
import { ManualClock } from '../shared/clock/index.js';
import { AtRest, readPrefix } from '../shared/crypto/index.js';
import { HaServices } from './harness/ha-services.js';
import { testLogger } from './harness/run-logs.js';
import { waitFor } from './harness/wait.js';

const MINUTE = 60_000;
let services: HaServices;
const clients: Etcd3[] = [];

beforeAll(async () => {
  services = await HaServices.create('key-rotation');
});

afterAll(async () => {
  for (const c of clients) c.close();
  await services?.stop();
});

interface Hub {
  id: string;
  dataDir: string;
  atRest: AtRest;
  leadership: EtcdLeadership;
  sealed: string;
}

const clock = new ManualClock(Date.parse('2026-12-06T12:00:00.000Z'));

async function hub(id: string, region: string): Promise<Hub> {
  const dataDir = mkdtempSync(join(tmpdir(), `sfleet-rotation-${id}-`));
  const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(dataDir, 'keyring.json') } });
  const sealed = join(dataDir, 'users.json');
  atRest.writeFile(sealed, 'hub/users', Buffer.from('{"alice":{}}'));
  const cfg = etcdConfigSchema.parse({ endpoints: services.etcdEndpoints, lease_ttl: '3s' });
  const client = await createEtcdClient(cfg);
  clients.push(client);
  const logger = testLogger('key-rotation');
  const audit = new AuditLog(auditConfigSchema.parse({}), { hubId: id, dataDir, logger, now: () => clock.now() });
  const leadership = new EtcdLeadership(cfg, {
    client,
    logger,
    identity: { hub_id: id, region, http_url: '', grpc_address: '', version: 'test' },
    health: () => ({ ready: true, redis: 'ok', stale_clusters: [], ingesting: [] }),
    // The election keeps real time (its leases are etcd's); only the schedule reads the injected clock.
  });
  const schedule = new KeyRotationSchedule({ atRest, roots: [dataDir], dataDir, clock, audit, logger }, { intervalMs: 5 * MINUTE, checkMs: 100 });
  leadership.runner.register(schedule.singleton());
  return { id, dataDir, atRest, leadership, sealed };
}

const version = (h: Hub): number | undefined => readPrefix(h.sealed)?.header.key_version;
function audited(h: Hub): { action: string; outcome: string; resource: string; hub_id: string }[] {
  const dir = join(h.dataDir, 'audit');
  mkdirSync(dir, { recursive: true });
  return readdirSync(dir)
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.action === 'keys:rotate');
}

describe('key_rotation_interval: 5m on a hub group', () => {
  it('the leader rotates by itself once the interval has passed; the follower does not; a new leader continues the schedule', async () => {
    const region = 'rotation';
    const a = await hub('rot-a', region);
    const b = await hub('rot-b', region);
    try {
      a.leadership.start();
      await waitFor('a leads', () => a.leadership.status().leading, 10_000, 20);
      b.leadership.start();
      expect(version(a)).toBe(1);
      // The schedule starts with the first leader (recorded in etcd); nothing is due yet.
      await new Promise((r) => setTimeout(r, 500));
      clock.advance(4 * MINUTE);
      await new Promise((r) => setTimeout(r, 500));
      expect(version(a)).toBe(1);
      expect(audited(a)).toEqual([]);

      clock.advance(1 * MINUTE);
      await waitFor('a re-wrapped its files to v2', () => version(a) === 2, 10_000, 50);
      await waitFor('a audited the rotation', () => audited(a).length === 1, 5_000, 50);
      expect(audited(a)[0]).toMatchObject({ action: 'keys:rotate', outcome: 'success', hub_id: 'rot-a' });
      expect(audited(a)[0].resource).toMatch(/ v2$/);
      expect(a.atRest.readFile(a.sealed, 'hub/users')?.toString()).toBe('{"alice":{}}');
      // The follower ran nothing.
      expect(version(b)).toBe(1);
      expect(audited(b)).toEqual([]);

      // The schedule's record reached etcd (and a's data dir) before a goes.
      await waitFor('a recorded the rotation', () => readFileSync(join(a.dataDir, 'key-rotation.json'), 'utf8').includes('"version":2'), 5_000, 50);
      // The leader goes; b takes over and reads the schedule from etcd: the last rotation was just now.
      await a.leadership.close();
      await waitFor('b leads', () => b.leadership.status().leading, 15_000, 20);
      await new Promise((r) => setTimeout(r, 500));
      expect(version(b)).toBe(1);
      clock.advance(5 * MINUTE);
      await waitFor('b rotated one interval after a', () => version(b) === 2, 10_000, 50);
      await waitFor('b audited the rotation', () => audited(b).length === 1, 5_000, 50);
      expect(audited(b)[0]).toMatchObject({ action: 'keys:rotate', outcome: 'success', hub_id: 'rot-b' });
      // a, no longer leading, did not rotate again.
      expect(version(a)).toBe(2);
      expect(audited(a)).toHaveLength(1);
    } finally {
      await a.leadership.close().catch(() => undefined);
      await b.leadership.close().catch(() => undefined);
    }
  });
});
