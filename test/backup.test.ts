// Backups of a real hub process, as an operator meets them: `sfleet backup create | list |
// verify --deep` over HTTPS with an API token, to a local directory, a real S3-compatible server
// (s3rver) and a `type: gcs` destination pointed at it; a role without backup:create refused and
// audited; then the hub lost with its data directory and keyring, `sfleet backup restore` into a
// fresh directory, and the restarted hub has the same users, tokens, audit chain and history. A
// restore --at a time between two changes shows the first and not the second. A large file
// truncated at one destination is refused by the restore, leaving nothing; from an intact
// bucket it streams back byte-identical. A hub group
// (private etcd) refuses a restore while its hubs are registered, unless --force.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtRest } from '../shared/crypto/index.js';
import type { HistoryJob } from '../shared/history/index.js';
import { HaServices } from './harness/ha-services.js';
import { finishedRun, writeHistoryRuns } from './harness/history-runs.js';
import { GroupHub } from './harness/hub-group.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { registerAuditDir, registerKeyring, registerSecret } from './harness/run-logs.js';
import { S3_KEY, TestS3Server } from './harness/s3-server.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

const BACKUP_KEY = Buffer.alloc(32, 5).toString('base64');
const PASSWORD = 'alice-backup-pw-41f2';
registerSecret(BACKUP_KEY, 'backup key (backup test)');
registerSecret(PASSWORD, 'password of alice (backup test)');

const T0 = Date.UTC(2026, 10, 20, 8);
const run = (job_id: number): HistoryJob => finishedRun(T0, job_id);

let work: string;
let pki: TestPki;
let s3: TestS3Server;
let hub: SfleetProcess | undefined;
let httpUrl: string;
let hubEnv: NodeJS.ProcessEnv;
let cliEnv: NodeJS.ProcessEnv;
let opsToken: string;
let peekToken: string;
const dataDir = (): string => join(work, 'data');
const config = (): string => join(work, 'hub.yaml');

/** The hub.yaml of the standalone hub: encryption at rest (file keyring), RBAC for the two tokens, three destinations. */
function writeConfig(httpPort: number, grpcPort: number): void {
  writeFileSync(
    config(),
    [
      `listen: { http: "127.0.0.1:${httpPort}", grpc: "127.0.0.1:${grpcPort}" }`,
      `tls: { ca: ${pki.hub.ca}, cert: ${pki.hub.cert}, key: ${pki.hub.key} }`,
      `data_dir: ${dataDir()}`,
      'hub_id: backup-hub',
      `encryption: { enabled: true, provider: file, file: { path: ${join(work, 'keyring.json')} } }`,
      'history: { threads: 1, memory_limit: 256MB }',
      'rbac:',
      '  bindings: [{ service: ops, role: admin }, { service: peek, role: viewer }, { client: tester, role: admin }]',
      'backup:',
      '  encryption: { enabled: true, provider: env, env: { var: SFLEET_BACKUP_KEY } }',
      '  destinations:',
      `    - { type: local, path: ${join(work, 'backups')} }`,
      `    - { type: s3, bucket: sfleet-backups, endpoint: "${s3.endpoint}", force_path_style: true, access_key_id_env: S3_ID, secret_access_key_env: S3_SECRET, retries: 1 }`,
      `    - { type: gcs, bucket: sfleet-gcs, endpoint: "${s3.endpoint}", force_path_style: true }`,
      '',
    ].join('\n'),
  );
}

async function startHub(): Promise<void> {
  hub = new SfleetProcess(['hub', '--config', config()], join(work, `hub-${Date.now()}.log`), hubEnv).start();
  await waitFor('the hub answers', async () => (await httpsCall(`${httpUrl}/readyz`, { ca: pki.ca, timeoutMs: 2_000 }).catch(() => ({ status: 0 }))).status === 200, 60_000, 200);
}

async function stopHub(): Promise<void> {
  await hub?.kill('SIGTERM');
  hub = undefined;
}

const asToken = (token: string, args: string[]): Promise<string> => sfleet([...args, '--token', token], cliEnv);
const status = async (token: string, path: string): Promise<number> => (await httpsCall(`${httpUrl}${path}`, { ca: pki.ca, headers: { authorization: `Bearer ${token}` }, timeoutMs: 10_000 })).status;
const login = async (password: string): Promise<number> =>
  (await httpsCall(`${httpUrl}/api/v1/auth/login`, { method: 'POST', ca: pki.ca, headers: { 'content-type': 'application/json' }, body: { username: 'alice', password }, timeoutMs: 10_000 })).status;
const tokenNames = async (dir = dataDir()): Promise<string[]> =>
  (JSON.parse(await sfleet(['token', 'list', '--config', config(), '--set', `data_dir=${dir}`, '-o', 'json'], hubEnv)) as { name: string }[]).map((t) => t.name).sort();
const restore = (args: string[]): Promise<string> => sfleet(['backup', 'restore', '--config', config(), ...args], hubEnv);

/** Makes a token offline (the hub stopped) and returns its secret. */
async function offlineToken(name: string): Promise<string> {
  const token = (await sfleet(['token', 'create', '--name', name, '--config', config()], hubEnv)).trim().split('\n').pop()!;
  registerSecret(token, `API token ${name} (backup test)`);
  return token;
}

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), `backup-it-${process.pid}-`));
  registerAuditDir(join(work, 'data', 'audit'));
  [pki, s3] = await Promise.all([makePki(), TestS3Server.start(['sfleet-backups', 'sfleet-gcs'])]);
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  httpUrl = `https://127.0.0.1:${httpPort}`;
  hubEnv = { ...process.env, SFLEET_BACKUP_KEY: BACKUP_KEY, S3_ID: S3_KEY.accessKeyId, S3_SECRET: S3_KEY.secretAccessKey, GCS_HMAC_ACCESS_KEY_ID: S3_KEY.accessKeyId, GCS_HMAC_SECRET: S3_KEY.secretAccessKey };
  const home = mkdtempSync(join(tmpdir(), 'home-'));
  cliEnv = { PATH: process.env.PATH, HOME: home, SFLEET_CONFIG: join(home, 'contexts.yaml'), SFLEET_HUB: httpUrl, SFLEET_CA: pki.ca };
  writeConfig(httpPort, grpcPort);
  // What an operator sets up before the first start: the keyring, a local user, two tokens, a history.
  await AtRest.create({ enabled: true, provider: 'file', file: { path: join(work, 'keyring.json') } }, { createKeyring: true });
  registerKeyring(join(work, 'keyring.json'), 'hub keyring (backup test)');
  await sfleet(['user', 'add', 'alice', '--config', config(), '--group', 'hpc'], { ...hubEnv, SFLEET_USER_PASSWORD: PASSWORD });
  opsToken = await offlineToken('ops');
  peekToken = await offlineToken('peek');
  await writeHistoryRuns(dataDir(), [1, 2, 3].map(run));
  await startHub();
}, 120_000);

afterAll(async () => {
  await stopHub();
  await s3?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('backups of a running hub, restored after the hub is lost', () => {
  let historyBefore: unknown;
  let firstAt: string;

  it('sfleet backup create | list | verify --deep with a token write to and check all three destinations', async () => {
    historyBefore = JSON.parse(await asToken(opsToken, ['history', 'jobs', '-o', 'json']));
    expect((historyBefore as { job_id: number }[]).map((j) => j.job_id).sort()).toEqual([1, 2, 3]);
    const created = await asToken(opsToken, ['backup', 'create']);
    const id = /^backup (\S+): (\d+) objects, \d+ bytes, to (.*)$/m.exec(created);
    expect(id?.[3]).toBe(`local:${join(work, 'backups')}, s3:sfleet-backups, gcs:sfleet-gcs`);
    const listed = JSON.parse(await asToken(opsToken, ['backup', 'list', '-o', 'json'])) as { destination: string; id: string }[];
    expect(listed.map((b) => [b.destination, b.id])).toEqual([`local:${join(work, 'backups')}`, 's3:sfleet-backups', 'gcs:sfleet-gcs'].map((d) => [d, id![1]]));
    const verified = JSON.parse(await asToken(opsToken, ['backup', 'verify', '--deep', '-o', 'json'])) as { ok: boolean; objects: number; audit_chain: { ok: boolean; records: number } }[];
    expect(verified).toHaveLength(3);
    for (const v of verified) expect(v).toMatchObject({ ok: true, objects: Number(id![2]), audit_chain: { ok: true } });
    expect(verified[0].audit_chain.records).toBeGreaterThan(0);
  });

  it('a token whose role lacks backup:create is refused, and the refusal is audited', async () => {
    await expect(asToken(peekToken, ['backup', 'create'])).rejects.toThrow(/403|permission|not allowed|forbidden/i);
    expect(await status(peekToken, '/api/v1/backups')).toBe(403);
    const list = JSON.parse(await asToken(opsToken, ['audit', 'query', '--action', 'backup:create', '-o', 'json'])) as { user: string; outcome: string }[];
    expect(list.map((r) => [r.user, r.outcome])).toEqual(expect.arrayContaining([['ops', 'success'], ['peek', 'denied']]));
  });

  it('a restore --at a time between two changes shows the first and not the second', async () => {
    // Change 1 (token "first"), a backup; change 2 (token "second"), a backup.
    await asToken(opsToken, ['token', 'create', '--name', 'first', '--role', 'viewer']).then((o) => registerSecret(o.trim().split('\n').pop()!, 'API token first (backup test)'));
    await asToken(opsToken, ['backup', 'create']);
    firstAt = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1100)); // backup ids name the second they were taken
    await asToken(opsToken, ['token', 'create', '--name', 'second', '--role', 'viewer']).then((o) => registerSecret(o.trim().split('\n').pop()!, 'API token second (backup test)'));
    await asToken(opsToken, ['backup', 'create']);
    const pitr = join(work, 'pitr-data');
    const out = await restore(['--from', 'gcs:sfleet-gcs', '--at', firstAt, '--set', `data_dir=${pitr}`]);
    expect(out).toMatch(/^restored backup \S+ .* from gcs:sfleet-gcs/);
    expect(await tokenNames(pitr)).toEqual(['first', 'ops', 'peek']);
    await expect(restore(['--at', 'yesterday', '--set', `data_dir=${join(work, 'never')}`])).rejects.toThrow(/--at: "yesterday" is not an ISO-8601 time/);
    await expect(restore(['--at', '2020-01-01T00:00:00Z', '--set', `data_dir=${join(work, 'never')}`])).rejects.toThrow(/no complete backup at or before 2020-01-01T00:00:00.000Z/);
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('the data directory and keyring deleted, restore from S3 into a fresh directory: same users, tokens, audit chain and history', async () => {
    await stopHub();
    rmSync(dataDir(), { recursive: true, force: true });
    rmSync(join(work, 'keyring.json'), { force: true });
    const out = await restore(['--from', 's3:sfleet-backups']);
    expect(out).toMatch(new RegExp(`^restored backup \\S+ .* from s3:sfleet-backups: \\d+ files into ${dataDir()}`));
    expect(existsSync(join(work, 'keyring.json'))).toBe(true); // a new key seals the restored stores
    registerKeyring(join(work, 'keyring.json'), 'restored hub keyring (backup test)');
    await startHub();
    expect(await tokenNames()).toEqual(['first', 'ops', 'peek', 'second']);
    expect(await status(opsToken, '/api/v1/backups')).toBe(200);
    expect(await status(peekToken, '/api/v1/backups')).toBe(403);
    expect(await login(PASSWORD)).toBe(200);
    expect(await login('not the password')).toBe(401);
    expect(JSON.parse(await asToken(opsToken, ['history', 'jobs', '-o', 'json']))).toEqual(historyBefore);
    await stopHub(); // verify reads a quiet chain
    expect(await sfleet(['audit', 'verify', '--config', config()], hubEnv)).toMatch(/^OK: .* \d+ records/);
    await startHub();
  });

  it('a large file truncated at one destination: restore refuses it and leaves nothing; from an intact bucket it streams back byte-identical', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 777); // over 1 MiB: streamed to disk by the restore, not held
    writeFileSync(join(dataDir(), 'big-notes.bin'), big);
    const id = /^backup (\S+):/m.exec(await asToken(opsToken, ['backup', 'create']))![1];
    const manifest = JSON.parse(readFileSync(join(work, 'backups', id, 'manifest.json'), 'utf8')) as { objects: { name: string; stored_size: number }[] };
    const index = manifest.objects.findIndex((o) => o.name === 'data/big-notes.bin');
    truncateSync(join(work, 'backups', id, 'objects', String(index).padStart(5, '0')), manifest.objects[index].stored_size - 100);
    const target = join(work, 'cut-restore');
    const beside = readdirSync(work).sort();
    await expect(restore(['--from', `local:${join(work, 'backups')}`, '--backup', id, '--set', `data_dir=${target}`])).rejects.toThrow(
      new RegExp(`object data/big-notes.bin is truncated \\(${manifest.objects[index].stored_size - 100} of ${manifest.objects[index].stored_size} bytes\\)`),
    );
    expect(readdirSync(work).sort()).toEqual(beside); // no target, no staging or fetched files
    expect(await restore(['--from', 's3:sfleet-backups', '--backup', id, '--set', `data_dir=${target}`])).toMatch(new RegExp(`^restored backup ${id} `));
    expect(readFileSync(join(target, 'big-notes.bin')).equals(big)).toBe(true);
    expect(readdirSync(work).filter((f) => f.startsWith('cut-restore'))).toEqual(['cut-restore']);
  });
});

describe('a hub group (private etcd)', () => {
  let services: HaServices | undefined;
  const hubs: GroupHub[] = [];
  let grafana: string;
  const groupHub = async (id: string, etcdPrefix: string): Promise<GroupHub> => {
    const hub = new GroupHub(id, work, {
      region: 'r-backup',
      pki,
      etcdEndpoints: services!.etcdEndpoints,
      env: hubEnv,
      config: { etcd: { lease_ttl: '3s', prefix: etcdPrefix }, backup: { encryption: { enabled: true, provider: 'env', env: { var: 'SFLEET_BACKUP_KEY' } }, destinations: [{ type: 'local', path: join(work, 'group-backups') }] } },
    });
    hubs.push(hub);
    return hub.start();
  };
  const asClient = (hub: GroupHub, args: string[]): Promise<string> => sfleet([...args, '--hub', hub.httpUrl, '--ca', pki.ca, '--cert', pki.client.cert, '--key', pki.client.key], cliEnv);
  const restoreInto = (hub: GroupHub, args: string[]): Promise<string> => sfleet(['backup', 'restore', '--config', hub.configFile, ...args], hubEnv);
  const withToken = async (hub: GroupHub, token: string): Promise<number> => (await httpsCall(`${hub.httpUrl}/api/v1/clusters`, { ca: pki.ca, headers: { authorization: `Bearer ${token}` }, timeoutMs: 5_000 })).status;

  afterAll(async () => {
    for (const hub of hubs) await hub.stop();
    await services?.stop();
  });

  it("backs up the group's tokens from etcd and refuses a restore while its hubs are registered", async () => {
    services = await HaServices.create('backup');
    const g1 = await groupHub('hub-g1', '/sfleet/');
    grafana = (await asClient(g1, ['token', 'create', '--name', 'grafana', '--role', 'viewer'])).trim().split('\n').pop()!;
    registerSecret(grafana, 'API token grafana (backup test, group)');
    expect(await asClient(g1, ['backup', 'create'])).toMatch(/^backup \S+: \d+ objects/);
    const target = join(work, 'group-restore');
    await expect(restoreInto(g1, ['--set', `data_dir=${target}`])).rejects.toThrow(/region r-backup has 1 running hub\(s\) registered in etcd: stop them first, or pass --force/);
    expect(existsSync(target)).toBe(false);
  }, 240_000);

  it("restored into a fresh group's etcd, a new hub with an empty data directory accepts the group's token", async () => {
    const g1 = hubs[0];
    await g1.stop();
    const out = await restoreInto(g1, ['--set', 'etcd.prefix=/fresh/', '--set', `data_dir=${join(work, 'fresh-restore')}`]);
    expect(out).toMatch(/^restored backup \S+ .*; [1-9]\d* etcd keys into region r-backup/);
    const g2 = await groupHub('hub-g2', '/fresh/');
    expect(await withToken(g2, grafana)).toBe(200);
    expect(await withToken(g2, `${grafana.slice(0, -4)}xxxx`)).toBe(401);
    // The fresh group holds state now: a second restore needs --force (and its hub is registered).
    await expect(restoreInto(g1, ['--set', 'etcd.prefix=/fresh/', '--set', `data_dir=${join(work, 'fresh-again')}`])).rejects.toThrow(/region r-backup has 1 running hub\(s\) registered/);
    expect(await restoreInto(g1, ['--force', '--set', 'etcd.prefix=/fresh/', '--set', `data_dir=${join(work, 'fresh-again')}`])).toMatch(/etcd keys into region r-backup/);
    await waitFor('the forced restore leaves the token working', async () => (await withToken(g2, grafana)) === 200, 10_000, 100);
  }, 120_000);
});
