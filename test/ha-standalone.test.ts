// Standalone mode next to the clustered one: no etcd, no Redis, the hub is a region of one
// that always leads; /api/v1/hubs and `sfleet hubs` say so, and nothing of the clustered
// machinery (etcd/redis readiness checks, staleness fields) shows up.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubClient } from '../cli/client/index.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { testLogger } from './harness/run-logs.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';

let pki: TestPki;
let hub: RunningHub;

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  hub = await startHub(
    hubConfigSchema.parse({
      region: 'solo',
      hub_id: 'only-hub',
      listen: { grpc: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}` },
      tls: pki.hub,
      data_dir: mkdtempSync(join(tmpdir(), 'hub-solo-')),
    }),
    { logger: testLogger('ha-standalone') },
  );
});

afterAll(async () => {
  await hub?.close();
});

describe('standalone hub (no etcd, no Redis)', () => {
  it('is its own leader: /api/v1/hubs and `sfleet hubs` list it alone', async () => {
    const client = new HubClient({ hub: hub.httpUrl, ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
    const answer = await client.json<{ mode: string; leader: string; items: { hub_id: string; leader: boolean; health: string; redis: string }[] }>('GET', '/api/v1/hubs');
    expect(answer).toMatchObject({ mode: 'standalone', region: 'solo', leader: 'only-hub' });
    expect(answer.items.map((m) => [m.hub_id, m.leader, m.health, m.redis])).toEqual([['only-hub', true, 'ok', 'off']]);
    expect(hub.leadership.status()).toMatchObject({ mode: 'standalone', leading: true, token: 1 });
    const env = { ...process.env, SFLEET_HUB: hub.httpUrl, SFLEET_CA: pki.ca, SFLEET_CERT: pki.client.cert, SFLEET_KEY: pki.client.key };
    const table = await sfleet(['hubs'], env);
    expect(table).toMatch(/only-hub\s+yes\s+ok\s+yes\s+off/);
    expect(table).toMatch(/region solo \(standalone\), leader: only-hub$/m);
  });

  it('keeps its readiness checks and answers as before (no etcd/redis checks, no staleness fields); dedupe in memory', async () => {
    const client = new HubClient({ hub: hub.httpUrl, ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
    const ready = await client.json<{ status: string; checks: Record<string, string> }>('GET', '/readyz');
    expect(ready).toEqual({ status: 'ready', checks: { data_dir: 'loaded', grpc: 'listening', http: 'listening' } });
    const clusters = await client.json<{ items: unknown[] }>('GET', '/api/v1/clusters');
    expect(clusters).toEqual({ items: [] });
    expect(hub.replication).toBeUndefined();
    expect(await hub.shared.dedupe.claim('x', 1_000)).toBe(true);
    expect(await hub.shared.dedupe.claim('x', 1_000)).toBe(false);
  });
});
