// Scheduled key rotation on real hub processes (`sfleet hub`, a private etcd, one keyring file
// every hub reads: a shared mount). The schedule's record in etcd is dated back past the interval
// (what the in-process test key-rotation-group.test.ts does with an injected clock), so the leader
// rotates at its next check instead of one minute later. Then `sfleet keys status` on each hub's
// config shows every sealed file at the new version, each follower's audit log has keys:rewrap and
// its /metrics sfleet_hub_key_version; a hub that was stopped during the rotation follows when it starts.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubProcess } from './harness/ha-hubs.js';
import { makePki, type TestPki } from './harness/pki.js';
import { PrivateEtcd } from './harness/private-etcd.js';
import { registerKeyring } from './harness/run-logs.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

const REGION = 'rotation-hubs';
let etcd: PrivateEtcd;
let pki: TestPki;
let dir: string;
let keyring: string;
const hubs: HubProcess[] = [];

beforeAll(async () => {
  assertBuilt();
  etcd = await PrivateEtcd.create('key-rotation-hubs');
  pki = await makePki();
  dir = mkdtempSync(join(tmpdir(), 'rotation-hubs-'));
  keyring = join(mkdtempSync(join(tmpdir(), 'rotation-hubs-ring-')), 'keyring.json');
}, 120_000);

afterAll(async () => {
  for (const h of hubs) await h.kill().catch(() => undefined);
  await etcd?.stop();
});

function hub(id: string): HubProcess {
  const h = new HubProcess({
    id,
    region: REGION,
    dir,
    pki,
    etcdEndpoints: [etcd.endpoint],
    sections: {
      encryption: { file: { path: keyring } },
      security: { encryption: { data_at_rest: { key_provider: 'file', key_rotation_interval: '1m' } } },
    },
  });
  hubs.push(h);
  return h;
}

interface FileStatus {
  file: string;
  encrypted: boolean;
  key_version: number;
}

/** What an operator reads: `sfleet keys status --config hub.yaml`, the sealed files only. */
async function sealed(h: HubProcess): Promise<FileStatus[]> {
  const all = JSON.parse(await sfleet(['keys', 'status', '--config', h.configFile, '-o', 'json'], process.env)) as FileStatus[];
  return all.filter((f) => f.encrypted);
}

function audited(h: HubProcess, action: string): { outcome: string; resource: string; hub_id: string }[] {
  const auditDir = join(h.dataDir, 'audit');
  if (!existsSync(auditDir)) return [];
  return readdirSync(auditDir)
    .filter((f) => f.endsWith('.jsonl') || f.endsWith('.log'))
    .flatMap((f) => readFileSync(join(auditDir, f), 'utf8').split('\n'))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((r) => r.action === action);
}

describe('key_rotation_interval on a group of hub processes', () => {
  it('the leader rotates; every follower re-wraps its own data dir, audits it and shows the version in /metrics; a stopped hub follows when it starts', async () => {
    const a = await hub('rot-hub-a').start(); // first: the leader
    registerKeyring(keyring, 'group keyring');
    const b = await hub('rot-hub-b').start();
    const c = await hub('rot-hub-c').start();
    const client = new Etcd3({ hosts: [etcd.endpoint] });
    try {
      const key = `/sfleet/singleton/${REGION}/key-rotation`;
      await waitFor('the leader started the schedule', async () => (await client.get(key).string()) ?? false, 30_000, 200);
      for (const h of [a, b, c]) {
        const files = await sealed(h);
        expect(files.length, `${h.id} has sealed files`).toBeGreaterThan(0);
        expect(new Set(files.map((f) => f.key_version))).toEqual(new Set([1]));
      }
      await c.stop();
      // The interval has passed since the schedule started (dated back, as a clock would be).
      await client.put(key).value(JSON.stringify({ at: new Date(Date.now() - 2 * 60_000).toISOString() }));

      await waitFor('the leader rotated to v2', async () => (await sealed(a)).every((f) => f.key_version === 2) && audited(a, 'keys:rotate').length === 1, 60_000, 500);
      registerKeyring(keyring, 'group keyring');
      await waitFor('b re-wrapped its own files to v2', async () => (await sealed(b)).every((f) => f.key_version === 2), 60_000, 500);
      await waitFor('b audited its re-wrap', () => audited(b, 'keys:rewrap').length === 1, 30_000, 200);
      expect(audited(b, 'keys:rewrap')[0]).toMatchObject({ outcome: 'success', hub_id: 'rot-hub-b', resource: expect.stringMatching(/^key file key kr-[0-9a-f]+ v2: [1-9][0-9]* file\(s\) re-wrapped$/) });
      await waitFor('b shows v2 in /metrics', async () => (await b.metric('sfleet_hub_key_version', 'of="oldest_in_use"')) === 2, 30_000, 200);
      expect(await b.metric('sfleet_hub_key_version', 'of="group"')).toBe(2);
      expect(await b.metric('sfleet_hub_key_version', 'of="sealing"')).toBe(2);
      await waitFor('a shows v2 in /metrics', async () => (await a.metric('sfleet_hub_key_version', 'of="hub"')) === 2, 30_000, 200);
      // The follower still reads its data: a restart unwraps every sealed file's data key (preload)
      // and refuses to start on one it cannot open.
      await b.stop();
      await b.start();
      expect((await b.readyz()).status).toBe('ready');

      // c was down during the rotation: still v1 on disk, then v2 once it starts.
      expect(new Set((await sealed(c)).map((f) => f.key_version))).toEqual(new Set([1]));
      await c.start();
      await waitFor('c re-wrapped its files when it started', async () => (await sealed(c)).every((f) => f.key_version === 2), 60_000, 500);
      await waitFor('c audited its re-wrap', () => audited(c, 'keys:rewrap').length === 1, 30_000, 200);
      expect(audited(c, 'keys:rewrap')[0]).toMatchObject({ outcome: 'success', hub_id: 'rot-hub-c' });
      expect(await c.metric('sfleet_hub_key_version', 'of="oldest_in_use"')).toBe(2);
    } finally {
      client.close();
    }
  }, 300_000);
});
