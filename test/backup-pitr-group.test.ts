// Point-in-time recovery of a hub group (issue 16): two hubs on a private etcd and Redis, a
// backup by the leader, then token A created and shipped, then token B created and shipped. The
// group's tokens live in etcd: the leader records every change of the security store into the
// change log it ships. The group is destroyed (hubs, data directories, keyrings, etcd, Redis) and a
// fresh group is restored with `--at` a time between A and B: A works on both hubs, B gets 401,
// and both audit chains verify.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { destinationSchema, openDestination } from '../hub/backup/index.js';
import { listChanges } from '../hub/backup/pitr/index.js';
import { HaServices } from './harness/ha-services.js';
import { GroupHub } from './harness/hub-group.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { registerAuditDir, registerSecret } from './harness/run-logs.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

const BACKUP_KEY = Buffer.alloc(32, 8).toString('base64');
registerSecret(BACKUP_KEY, 'backup key (group pitr test)');

let work: string;
let pki: TestPki;
let env: NodeJS.ProcessEnv;
let cliEnv: NodeJS.ProcessEnv;
const services: HaServices[] = [];
const hubs: GroupHub[] = [];

function groupHub(id: string, dir: string, s: HaServices): GroupHub {
  const hub = new GroupHub(id, dir, {
    region: 'r-pitr',
    pki,
    etcdEndpoints: s.etcdEndpoints,
    redisUrl: s.redisUrl,
    env,
    config: {
      etcd: { lease_ttl: '3s' },
      backup: { ship_interval: '2s', encryption: { enabled: true, provider: 'env', env: { var: 'SFLEET_BACKUP_KEY' } }, destinations: [{ type: 'local', path: join(work, 'backups') }] },
    },
  });
  hubs.push(hub);
  return hub;
}

const as = (hub: GroupHub, args: string[]): Promise<string> => sfleet([...args, '--hub', hub.httpUrl, '--ca', pki.ca, '--cert', pki.client.cert, '--key', pki.client.key], cliEnv);
const withToken = async (hub: GroupHub, token: string): Promise<number> => (await httpsCall(`${hub.httpUrl}/api/v1/clusters`, { ca: pki.ca, headers: { authorization: `Bearer ${token}` }, timeoutMs: 5_000 })).status;

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), `backup-pitr-group-it-${process.pid}-`));
  pki = await makePki();
  env = { ...process.env, SFLEET_BACKUP_KEY: BACKUP_KEY };
  const home = mkdtempSync(join(tmpdir(), 'home-'));
  cliEnv = { PATH: process.env.PATH, HOME: home, SFLEET_CONFIG: join(home, 'contexts.yaml') };
}, 60_000);

afterAll(async () => {
  for (const hub of hubs) await hub.stop().catch(() => undefined);
  for (const s of services) await s.stop().catch(() => undefined);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('point-in-time recovery of a hub group', () => {
  it('a token made in etcd between backups is restored up to the chosen time: A works, B gets 401, both chains verify', async () => {
    const old = await HaServices.create('backup-pitr-group-old');
    services.push(old);
    const [a, b] = [groupHub('hub-a', join(work, 'old'), old), groupHub('hub-b', join(work, 'old'), old)];
    await a.start();
    await b.start();
    registerAuditDir(join(a.dataDir, 'audit'));
    registerAuditDir(join(b.dataDir, 'audit'));
    let leader: GroupHub | undefined;
    await waitFor('a leader', async () => (leader = (await a.leadingToken()) !== undefined ? a : (await b.leadingToken()) !== undefined ? b : undefined) !== undefined, 30_000, 200);
    const other = leader === a ? b : a;
    const dest = openDestination(destinationSchema.parse({ type: 'local', path: join(work, 'backups') }));
    const shippedPast = async (t: number): Promise<void> => void await waitFor(`changes up to ${new Date(t).toISOString()} shipped by ${leader!.id}`, async () => (await listChanges(dest, leader!.id)).some((c) => c.to >= t), 30_000, 200);

    // Something audited on each hub before the backup (a member with an empty chain has none in it).
    const tokenOld = (await as(other, ['token', 'create', '--name', 'token-old', '--role', 'viewer'])).trim().split('\n').pop()!;
    registerSecret(tokenOld, 'API token token-old (group pitr test)');
    // The backup by the leader (the hub that ships), then A (made through the other hub: the change is in etcd), shipped.
    expect(await as(leader!, ['backup', 'create'])).toMatch(/^backup \S+: \d+ objects/);
    const tokenA = (await as(other, ['token', 'create', '--name', 'token-a', '--role', 'viewer'])).trim().split('\n').pop()!;
    registerSecret(tokenA, 'API token token-a (group pitr test)');
    await shippedPast(Date.now() + 500);
    const between = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    const tokenB = (await as(other, ['token', 'create', '--name', 'token-b', '--role', 'viewer'])).trim().split('\n').pop()!;
    registerSecret(tokenB, 'API token token-b (group pitr test)');
    await shippedPast(Date.now() + 500);
    for (const hub of [a, b]) expect([await withToken(hub, tokenA), await withToken(hub, tokenB)]).toEqual([200, 200]);

    // The disaster: hubs, data directories and keyrings, etcd and Redis gone.
    for (const hub of [a, b]) await hub.stop();
    const kept = new Map([a, b].map((h) => [h.id, readFileSync(h.configFile, 'utf8')]));
    await old.stop();
    rmSync(join(work, 'old'), { recursive: true, force: true });

    const fresh = await HaServices.create('backup-pitr-group-new');
    services.push(fresh);
    const [a2, b2] = [groupHub('hub-a', join(work, 'new'), fresh), groupHub('hub-b', join(work, 'new'), fresh)];
    for (const hub of [a2, b2]) {
      const yaml = parse(kept.get(hub.id)!) as { data_dir: string; etcd: { endpoints: string[] }; redis: { url: string } };
      Object.assign(yaml, { data_dir: hub.dataDir, etcd: { ...yaml.etcd, endpoints: fresh.etcdEndpoints }, redis: { ...yaml.redis, url: fresh.redisUrl } });
      const file = join(work, `${hub.id}-restore.yaml`);
      writeFileSync(file, stringify(yaml));
      const out = await sfleet(['backup', 'restore', '--config', file, '--at', new Date(between).toISOString()], env);
      if (hub.id === leader!.id) expect(out).toMatch(/; point in time .*: replayed [1-9]\d* store writes .*; [1-9]\d* etcd keys into region r-pitr/);
      else expect(out).toMatch(/only the audit chain of hub /);
      expect(await sfleet(['audit', 'verify', '--config', file], env)).toMatch(/^OK: .* \d+ records/);
    }
    await a2.start();
    await b2.start();
    registerAuditDir(join(a2.dataDir, 'audit'));
    registerAuditDir(join(b2.dataDir, 'audit'));
    for (const hub of [a2, b2]) expect([await withToken(hub, tokenOld), await withToken(hub, tokenA), await withToken(hub, tokenB)]).toEqual([200, 200, 401]);
  }, 420_000);
});
