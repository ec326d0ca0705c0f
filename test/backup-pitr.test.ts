// Point-in-time recovery of a real hub process, as an operator meets it: a backup, then token A
// created over the API and shipped (backup.ship_interval: 2s here; 5m by default), then token B
// shipped too. `sfleet backup restore --at` a time between A and B, from a real S3-compatible
// server, into a fresh data directory: the chain's audit log ends before B's creation and
// `sfleet audit verify` passes; a hub started on it accepts token A and answers 401 to token B.
// The restored hub ships a chain of its own (a restore epoch): a second `restore --at` after the
// first restore gives the restored hub's new writes, one before it the old hub's chain.
// A corrupted shipped object is refused, naming it, and nothing is written.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtRest } from '../shared/crypto/index.js';
import { destinationSchema, openDestination, type Destination } from '../hub/backup/index.js';
import { listChanges, listEpochs, stamp } from '../hub/backup/pitr/index.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { registerAuditDir, registerKeyring, registerSecret } from './harness/run-logs.js';
import { S3_KEY, TestS3Server } from './harness/s3-server.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

const BACKUP_KEY = Buffer.alloc(32, 6).toString('base64');
registerSecret(BACKUP_KEY, 'backup key (pitr test)');
const HUB_ID = 'pitr-hub';

let work: string;
let pki: TestPki;
let s3: TestS3Server;
let hub: SfleetProcess | undefined;
let httpUrl: string;
let hubEnv: NodeJS.ProcessEnv;
let cliEnv: NodeJS.ProcessEnv;
let opsToken: string;
let local: Destination;
let bucket: Destination;
const config = (): string => join(work, 'hub.yaml');

async function startHub(dataDir: string): Promise<void> {
  hub = new SfleetProcess(['hub', '--config', config(), '--set', `data_dir=${dataDir}`], join(work, `hub-${Date.now()}.log`), hubEnv).start();
  await waitFor('the hub answers', async () => (await httpsCall(`${httpUrl}/readyz`, { ca: pki.ca, timeoutMs: 2_000 }).catch(() => ({ status: 0 }))).status === 200, 60_000, 200);
}

const status = async (token: string): Promise<number> => (await httpsCall(`${httpUrl}/api/v1/clusters`, { ca: pki.ca, headers: { authorization: `Bearer ${token}` }, timeoutMs: 10_000 })).status;
const restore = (args: string[]): Promise<string> => sfleet(['backup', 'restore', '--config', config(), ...args], hubEnv);
async function apiToken(name: string): Promise<string> {
  const token = (await sfleet(['token', 'create', '--name', name, '--role', 'viewer', '--token', opsToken], cliEnv)).trim().split('\n').pop()!;
  registerSecret(token, `API token ${name} (pitr test)`);
  return token;
}
/** Waits until every destination holds a shipped object covering `t` (the exact state the restore needs). */
async function shippedPast(t: number): Promise<void> {
  await waitFor(`changes up to ${new Date(t).toISOString()} shipped to both destinations`, async () => {
    for (const d of [local, bucket]) if (!(await listChanges(d, HUB_ID)).some((c) => c.to >= t)) return false;
    return true;
  }, 30_000, 200);
}

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), `pitr-it-${process.pid}-`));
  registerAuditDir(join(work, 'data', 'audit'));
  [pki, s3] = await Promise.all([makePki(), TestS3Server.start(['sfleet-pitr'])]);
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  httpUrl = `https://127.0.0.1:${httpPort}`;
  hubEnv = { ...process.env, SFLEET_BACKUP_KEY: BACKUP_KEY, S3_ID: S3_KEY.accessKeyId, S3_SECRET: S3_KEY.secretAccessKey };
  const home = mkdtempSync(join(tmpdir(), 'home-'));
  cliEnv = { PATH: process.env.PATH, HOME: home, SFLEET_CONFIG: join(home, 'contexts.yaml'), SFLEET_HUB: httpUrl, SFLEET_CA: pki.ca };
  const s3Dest = { type: 's3' as const, bucket: 'sfleet-pitr', endpoint: s3.endpoint, force_path_style: true, access_key_id_env: 'S3_ID', secret_access_key_env: 'S3_SECRET', retries: 1 };
  writeFileSync(
    config(),
    [
      `listen: { http: "127.0.0.1:${httpPort}", grpc: "127.0.0.1:${grpcPort}" }`,
      `tls: { ca: ${pki.hub.ca}, cert: ${pki.hub.cert}, key: ${pki.hub.key} }`,
      `data_dir: ${join(work, 'data')}`,
      `hub_id: ${HUB_ID}`,
      `encryption: { enabled: true, provider: file, file: { path: ${join(work, 'keyring.json')} } }`,
      'rbac:',
      '  bindings: [{ service: ops, role: admin }]',
      'backup:',
      '  ship_interval: 2s',
      '  encryption: { enabled: true, provider: env, env: { var: SFLEET_BACKUP_KEY } }',
      '  destinations:',
      `    - { type: local, path: ${join(work, 'backups')} }`,
      `    - ${JSON.stringify(s3Dest)}`,
      '',
    ].join('\n'),
  );
  local = openDestination(destinationSchema.parse({ type: 'local', path: join(work, 'backups') }));
  bucket = openDestination(destinationSchema.parse(s3Dest), hubEnv);
  await AtRest.create({ enabled: true, provider: 'file', file: { path: join(work, 'keyring.json') } }, { createKeyring: true });
  registerKeyring(join(work, 'keyring.json'), 'hub keyring (pitr test)');
  opsToken = (await sfleet(['token', 'create', '--name', 'ops', '--config', config()], hubEnv)).trim().split('\n').pop()!;
  registerSecret(opsToken, 'API token ops (pitr test)');
  await startHub(join(work, 'data'));
}, 120_000);

afterAll(async () => {
  await hub?.kill('SIGTERM');
  await s3?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('point-in-time recovery of a running hub', () => {
  let tokenA: string;
  let tokenB: string;
  let between: number;
  let beforeB: number;
  /** The shipped object that holds B's creation (in the old hub's chain). */
  let holdingB: { from: number; to: number };
  let afterB: number;
  let restoreStarted: number;

  it('a change shipped between backups is restored up to the chosen time: token A works, token B gets 401, the audit chain verifies and ends before B', async () => {
    expect(await sfleet(['backup', 'create', '--token', opsToken], cliEnv)).toMatch(/^backup \S+: \d+ objects/m);
    const beforeA = Date.now();
    tokenA = await apiToken('token-a');
    await shippedPast(Date.now());
    between = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    beforeB = Date.now();
    tokenB = await apiToken('token-b');
    afterB = Date.now();
    await shippedPast(afterB);
    holdingB = (await listChanges(local, HUB_ID)).find((c) => c.to >= afterB)!;
    expect([await status(tokenA), await status(tokenB)]).toEqual([200, 200]);

    const restored = join(work, 'restored');
    restoreStarted = Date.now();
    const out = await restore(['--from', 's3:sfleet-pitr', '--at', new Date(between).toISOString(), '--set', `data_dir=${restored}`]);
    expect(out).toMatch(/^restored backup \S+ .* from s3:sfleet-pitr: \d+ files into .*; point in time .*: replayed [1-9]\d* store writes from [1-9]\d* shipped change object\(s\)/);
    // The chain as restored, before any hub appends to it: its last record is before B was created.
    const audit = join(restored, 'audit');
    const lines = readdirSync(audit).filter((f) => f.endsWith('.jsonl')).sort().flatMap((f) => readFileSync(join(audit, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; action?: string; timestamp?: string }));
    const records = lines.filter((l) => l.type === 'record');
    expect(records.filter((r) => r.action === 'tokens:create' && Date.parse(r.timestamp!) >= beforeA)).toHaveLength(1); // A's
    expect(Date.parse(records.at(-1)!.timestamp!)).toBeLessThan(beforeB);
    expect(await sfleet(['audit', 'verify', '--config', config(), '--set', `data_dir=${restored}`], hubEnv)).toMatch(/^OK: .* \d+ records/);

    await hub?.kill('SIGTERM');
    await startHub(restored);
    expect(await status(tokenA)).toBe(200);
    expect(await status(tokenB)).toBe(401);
    expect(await status(opsToken)).toBe(200);
  }, 120_000);

  it('the restored hub ships a chain of its own: --at after that restore gives its new writes, --at before it the old chain', async () => {
    // The hub now runs on the restored directory (the test above). Token C is created there and shipped.
    const tokenC = await apiToken('token-c');
    const afterC = Date.now();
    await waitFor('token C shipped to both destinations in a chain of the restored hub', async () => {
      for (const d of [local, bucket]) {
        const epochs = [...(await listEpochs(d, HUB_ID)).keys()];
        if (!epochs.length || !(await listChanges(d, HUB_ID, epochs[0])).some((c) => c.to >= afterC)) return false;
      }
      return true;
    }, 30_000, 200);
    const epochs = [...(await listEpochs(local, HUB_ID)).keys()];
    expect(epochs).toHaveLength(1);
    // Nothing of the restored hub went into the old hub's chain: it ends before the restore.
    for (const d of [local, bucket]) expect((await listChanges(d, HUB_ID)).every((c) => c.from < restoreStarted)).toBe(true);
    expect((await listChanges(local, HUB_ID, epochs[0]))[0].from).toBeGreaterThan(restoreStarted);

    // After the second restore: the backup, the old chain up to the first restore's point, then the new chain.
    const later = join(work, 'restored-later');
    const out = await restore(['--from', 's3:sfleet-pitr', '--at', new Date(afterC).toISOString(), '--set', `data_dir=${later}`]);
    expect(out).toMatch(/; point in time .*: replayed [1-9]\d* store writes from [1-9]\d* shipped change object\(s\) across 1 later restore\(s\)/);
    expect(await sfleet(['audit', 'verify', '--config', config(), '--set', `data_dir=${later}`], hubEnv)).toMatch(/^OK: .* \d+ records/);
    // Before the second restore: the old hub's chain, B included.
    const earlier = join(work, 'restored-earlier');
    expect(await restore(['--from', `local:${join(work, 'backups')}`, '--at', new Date(afterB).toISOString(), '--set', `data_dir=${earlier}`])).not.toMatch(/later restore/);
    expect(await sfleet(['audit', 'verify', '--config', config(), '--set', `data_dir=${earlier}`], hubEnv)).toMatch(/^OK: .* \d+ records/);

    await hub?.kill('SIGTERM');
    await startHub(later);
    expect([await status(tokenA), await status(tokenB), await status(tokenC), await status(opsToken)]).toEqual([200, 401, 200, 200]);
    await hub?.kill('SIGTERM');
    await startHub(earlier);
    expect([await status(tokenA), await status(tokenB), await status(tokenC)]).toEqual([200, 200, 401]);
  }, 180_000);

  it('a corrupted shipped object is refused, naming it, and nothing is written', async () => {
    const last = holdingB;
    const object = join(work, 'backups', 'changes', HUB_ID, `${stamp(last.from)}-${stamp(last.to)}`, 'objects', '00000');
    const bytes = readFileSync(object);
    bytes[bytes.length - 20] ^= 1;
    writeFileSync(object, bytes);
    const target = join(work, 'never');
    await expect(restore(['--from', `local:${join(work, 'backups')}`, '--at', new Date(last.to).toISOString(), '--set', `data_dir=${target}`])).rejects.toThrow(
      new RegExp(`shipped changes ${stamp(last.from)}-${stamp(last.to)} of hub ${HUB_ID}: .*does not match its checksum.*cannot be replayed`),
    );
    expect(existsSync(target)).toBe(false);
  }, 60_000);
});
