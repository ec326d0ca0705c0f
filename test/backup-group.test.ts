// A hub group's backup and restore (issue 16): two hubs on a private etcd and Redis, audited
// changes on both (a token made through each, a silence held by the leader in Redis, a history
// on the first), `sfleet backup create` on one of them. Then the group is destroyed (hubs
// stopped, data directories, keyrings, etcd and Redis gone) and a fresh group (new etcd, new
// Redis, empty directories) is restored from the backup, each hub from its own hub.yaml: both
// hubs' audit chains verify with `sfleet audit verify` and hold their own changes, the tokens
// and the silence are there, the history is the same.
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { HistoryJob } from '../shared/history/index.js';
import { HaServices } from './harness/ha-services.js';
import { finishedRun, writeHistoryRuns } from './harness/history-runs.js';
import { GroupHub } from './harness/hub-group.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { registerAuditDir, registerSecret } from './harness/run-logs.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

const BACKUP_KEY = Buffer.alloc(32, 7).toString('base64');
registerSecret(BACKUP_KEY, 'backup key (group backup test)');

const T0 = Date.UTC(2026, 10, 21, 8);
const run = (job_id: number): HistoryJob => finishedRun(T0, job_id);

let work: string;
let pki: TestPki;
let env: NodeJS.ProcessEnv;
let cliEnv: NodeJS.ProcessEnv;
const services: HaServices[] = [];
const hubs: GroupHub[] = [];

function groupHub(id: string, dir: string, s: HaServices): GroupHub {
  const hub = new GroupHub(id, dir, {
    region: 'r-group',
    pki,
    etcdEndpoints: s.etcdEndpoints,
    redisUrl: s.redisUrl,
    env,
    config: {
      etcd: { lease_ttl: '3s' },
      backup: { encryption: { enabled: true, provider: 'env', env: { var: 'SFLEET_BACKUP_KEY' } }, destinations: [{ type: 'local', path: join(work, 'backups') }] },
      sections: { history: { threads: 1, memory_limit: '256MB' } },
    },
  });
  hubs.push(hub);
  return hub;
}

const as = (hub: GroupHub, args: string[]): Promise<string> => sfleet([...args, '--hub', hub.httpUrl, '--ca', pki.ca, '--cert', pki.client.cert, '--key', pki.client.key], cliEnv);
const withToken = async (hub: GroupHub, token: string): Promise<number> => (await httpsCall(`${hub.httpUrl}/api/v1/clusters`, { ca: pki.ca, headers: { authorization: `Bearer ${token}` }, timeoutMs: 5_000 })).status;
const silences = async (hub: GroupHub): Promise<string[]> => (JSON.parse(await as(hub, ['silence', 'list', '-o', 'json'])) as { comment: string }[]).map((s) => s.comment);
/** The hashes of the tokens:create records of a hub's audit chain, as written on its disk. */
const tokenCreates = (auditDir: string): string[] =>
  readdirSync(auditDir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(auditDir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as { action?: string; hash: string; hub_id: string })
    .filter((r) => r.action === 'tokens:create')
    .map((r) => `${r.hub_id} ${r.hash}`);

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), `backup-group-it-${process.pid}-`));
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

describe('a hub group backed up and restored into a fresh group', () => {
  it("holds every hub's audit chain and the group's etcd and Redis state; restored, both chains verify and tokens, silences and history are back", async () => {
    const old = await HaServices.create('backup-group-old');
    services.push(old);
    const [a, b] = [groupHub('hub-a', join(work, 'old'), old), groupHub('hub-b', join(work, 'old'), old)];
    await writeHistoryRuns(a.dataDir, [1, 2, 3].map(run));
    await a.start();
    await b.start();
    registerAuditDir(join(a.dataDir, 'audit'));
    registerAuditDir(join(b.dataDir, 'audit'));

    // Audited changes on both hubs: a token made through each, a silence (leader state in Redis).
    const tokenA = (await as(a, ['token', 'create', '--name', 'made-on-a', '--role', 'viewer'])).trim().split('\n').pop()!;
    const tokenB = (await as(b, ['token', 'create', '--name', 'made-on-b', '--role', 'viewer'])).trim().split('\n').pop()!;
    registerSecret(tokenA, 'API token made-on-a (group backup test)');
    registerSecret(tokenB, 'API token made-on-b (group backup test)');
    // Silences change on the leader.
    let leader: GroupHub | undefined;
    await waitFor('a leader', async () => (leader = (await a.leadingToken()) !== undefined ? a : (await b.leadingToken()) !== undefined ? b : undefined) !== undefined, 30_000, 200);
    await as(leader!, ['silence', 'add', 'cluster="east"', '--duration', '24h', '--comment', 'rack swap before the disaster']);
    await waitFor('the silence is in the group state', async () => (await silences(leader === a ? b : a)).includes('rack swap before the disaster'), 20_000, 200);
    const madeOnA = tokenCreates(join(a.dataDir, 'audit'));
    const madeOnB = tokenCreates(join(b.dataDir, 'audit'));
    expect(madeOnA).toHaveLength(1);
    expect(madeOnB).toHaveLength(1);
    const historyBefore = JSON.parse(await as(a, ['history', 'jobs', '-o', 'json'])) as { job_id: number }[];
    expect(historyBefore.map((j) => j.job_id).sort()).toEqual([1, 2, 3]);

    // The backup, taken by hub-a: its own files, hub-b's chain, etcd and Redis.
    expect(await as(a, ['backup', 'create'])).toMatch(/^backup \S+: \d+ objects/);
    const verified = JSON.parse(await as(b, ['backup', 'verify', '--deep', '-o', 'json'])) as { ok: boolean; audit_chain: { ok: boolean; records: number } }[];
    expect(verified).toMatchObject([{ ok: true, audit_chain: { ok: true } }]);

    // The disaster: every hub, data directory, keyring, etcd and Redis of the group is gone.
    for (const hub of [a, b]) await hub.stop();
    // hub.yaml is kept in configuration management, off the machines.
    const kept = new Map([a, b].map((h) => [h.id, readFileSync(h.configFile, 'utf8')]));
    await old.stop();
    rmSync(join(work, 'old'), { recursive: true, force: true });

    // A fresh group: new etcd and Redis, empty directories; each hub restored from its hub.yaml.
    const fresh = await HaServices.create('backup-group-new');
    services.push(fresh);
    const [a2, b2] = [groupHub('hub-a', join(work, 'new'), fresh), groupHub('hub-b', join(work, 'new'), fresh)];
    for (const hub of [a2, b2]) {
      // The hub.yaml the new hub will run with, written before its first start (as configuration management would).
      const yaml = parse(kept.get(hub.id)!) as { data_dir: string; etcd: { endpoints: string[] }; redis: { url: string } };
      Object.assign(yaml, { data_dir: hub.dataDir, etcd: { ...yaml.etcd, endpoints: fresh.etcdEndpoints }, redis: { ...yaml.redis, url: fresh.redisUrl } });
      rmSync(hub.dataDir, { recursive: true, force: true });
      const file = join(work, `${hub.id}-restore.yaml`);
      writeFileSync(file, stringify(yaml));
      const out = await sfleet(['backup', 'restore', '--config', file], env);
      if (hub === a2) expect(out).toMatch(/^restored backup \S+ .*hub hub-a.*; [1-9]\d* etcd keys into region r-group; [1-9]\d* documents and \d+ events into Redis/);
      else expect(out).toMatch(/only the audit chain of hub hub-b/);
      // Offline, before the start: the restored chain is whole.
      expect(await sfleet(['audit', 'verify', '--config', file], env)).toMatch(/^OK: .* \d+ records/);
    }
    // Each hub's own record of its token, with the hash it had: the chains are the old ones.
    expect(tokenCreates(join(a2.dataDir, 'audit'))).toEqual(madeOnA);
    expect(tokenCreates(join(b2.dataDir, 'audit'))).toEqual(madeOnB);
    await a2.start();
    await b2.start();
    registerAuditDir(join(a2.dataDir, 'audit'));
    registerAuditDir(join(b2.dataDir, 'audit'));

    // Tokens made on either hub work on both; the silence and the history are back.
    for (const hub of [a2, b2]) {
      expect(await withToken(hub, tokenA)).toBe(200);
      expect(await withToken(hub, tokenB)).toBe(200);
      expect(await withToken(hub, `${tokenB.slice(0, -4)}xxxx`)).toBe(401);
    }
    await waitFor('a leader of the fresh group', async () => (await a2.leadingToken()) !== undefined || (await b2.leadingToken()) !== undefined, 30_000, 200);
    await waitFor('the silence is back', async () => (await silences(b2)).includes('rack swap before the disaster'), 20_000, 200);
    expect(JSON.parse(await as(a2, ['history', 'jobs', '-o', 'json']))).toEqual(historyBefore);
  }, 420_000);
});
