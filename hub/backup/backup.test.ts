// Backups end to end below the hub: a data directory with sealed and plain stores and a real
// audit chain, backed up to a local directory, a real S3-compatible server (s3rver) and a
// gcs-typed destination pointed at it; restored after the data directory and its keyring are
// gone; and the refusals a user meets: a corrupted object, a truncated one, a changed manifest,
// a wrong key, an unreachable bucket. Retention and the leader's schedule with a manual clock.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { AtRest, createProvider, type KeyProvider } from '../../shared/crypto/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { frame } from '../../shared/record-log/index.js';
import { TestS3Server, S3_KEY } from '../../test/harness/s3-server.js';
import { AuditLog, auditConfigSchema, NodeAuditFiles, verifyChain } from '../audit/index.js';
import type { LeaderContext } from '../leader/index.js';
import { backupConfigSchema, BackupService, openAll, parseRestoreTime, readManifest, readManifestAt, writeRestore, type BackupConfig } from './index.js';

const KEY_A = Buffer.alloc(32, 7).toString('base64');
const KEY_B = Buffer.alloc(32, 9).toString('base64');
const ENV = { BACKUP_KEY: KEY_A, OTHER_KEY: KEY_B, S3_ID: S3_KEY.accessKeyId, S3_SECRET: S3_KEY.secretAccessKey };
const backupKey = (v = 'BACKUP_KEY'): KeyProvider => createProvider({ enabled: true, provider: 'env', env: { var: v } }, ENV);

let s3: TestS3Server;
let root: string;

beforeAll(async () => {
  s3 = await TestS3Server.start(['sfleet-backups', 'sfleet-gcs']);
  root = mkdtempSync(join(tmpdir(), 'backup-test-'));
});
afterAll(async () => {
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A hub's data directory: users sealed at rest, a sealed append log, a plain file and an audit chain. */
async function makeDataDir(name: string): Promise<{ dataDir: string; keyring: string; atRest: AtRest }> {
  const dataDir = join(root, name, 'data');
  const keyring = join(root, name, 'keyring.json');
  mkdirSync(dataDir, { recursive: true });
  const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: keyring } });
  atRest.writeFile(join(dataDir, 'users.json'), 'hub/users', Buffer.from(JSON.stringify({ users: [{ name: 'alice' }, { name: 'bob' }] })));
  const log = atRest.sealing('hub/events')!.create(join(dataDir, 'events', 'events.log'));
  mkdirSync(join(dataDir, 'events'));
  writeFileSync(join(dataDir, 'events', 'events.log'), Buffer.concat([log.prefix, frame([log.seal(Buffer.from('e1'), 0), log.seal(Buffer.from('e2'), 1)])]));
  mkdirSync(join(dataDir, 'history', 'jobs'), { recursive: true });
  writeFileSync(join(dataDir, 'history', 'jobs', 'part.parquet'), Buffer.from('PAR1 rows PAR1'));
  const audit = new AuditLog(auditConfigSchema.parse({}), { hubId: 'hub-1', dataDir, logger: silentLogger() });
  await audit.open();
  for (const u of ['alice', 'bob']) await audit.record({ action: 'tokens:create', resource: `token:${u}`, outcome: 'success', transport: 'internal', user: null, required: true });
  await audit.close();
  return { dataDir, keyring, atRest };
}

function config(extra: Partial<Record<string, unknown>> = {}, destinations?: unknown[]): BackupConfig {
  return backupConfigSchema.parse({
    encryption: { enabled: true, provider: 'env', env: { var: 'BACKUP_KEY' } },
    destinations: destinations ?? [
      { type: 'local', name: 'disk', path: join(root, 'dest-local') },
      { type: 's3', bucket: 'sfleet-backups', endpoint: s3.endpoint, force_path_style: true, access_key_id_env: 'S3_ID', secret_access_key_env: 'S3_SECRET', retries: 1 },
      { type: 'gcs', bucket: 'sfleet-gcs', endpoint: s3.endpoint, force_path_style: true, access_key_id_env: 'S3_ID', secret_access_key_env: 'S3_SECRET', retries: 1 },
    ],
    ...extra,
  });
}

function service(src: { dataDir: string; atRest: AtRest; keyring?: string }, cfg: BackupConfig, clock = new ManualClock(Date.parse('2026-12-06T10:00:00Z'))): BackupService {
  const audits: unknown[] = [];
  return new BackupService(
    { hubId: 'hub-1', region: 'eu', dataDir: src.dataDir, atRest: src.atRest, provider: backupKey(), exclude: src.keyring ? [src.keyring] : [], configText: () => 'region: eu\nsso: { oidc: { client_secret: <redacted> } }\n', audit: { record: async (e) => void audits.push(e) as never }, logger: silentLogger(), clock, env: ENV },
    cfg,
  );
}

describe('backups', () => {
  it('the brief\'s block loads: retention 90 is 90 days, s3 and gcs destinations (gcs on Google\'s endpoint), encryption true', () => {
    const c = backupConfigSchema.parse({ schedule: '0 2 * * *', retention: 90, encryption: true, destinations: [{ type: 's3', bucket: 's9s-backups-us-east' }, { type: 'gcs', bucket: 's9s-backups-europe' }] });
    expect(c.retention).toBe(90); // days
    expect(c.destinations[1]).toMatchObject({ type: 'gcs', endpoint: 'https://storage.googleapis.com', access_key_id_env: 'GCS_HMAC_ACCESS_KEY_ID' });
    expect(() => backupConfigSchema.parse({ schedule: 'at two', destinations: [{ type: 'local', path: '/b' }] })).toThrow(/not a cron expression/);
    expect(() => backupConfigSchema.parse({ encryption: { enabled: false }, destinations: [{ type: 'local', path: '/b' }] })).toThrow(/always encrypted/);
  });

  it('backs up to a directory, S3 and a gcs-typed bucket; restored after the data dir and keyring are deleted: same users, events, history, a valid audit chain', async () => {
    const src = await makeDataDir('a');
    const users = src.atRest.readFile(join(src.dataDir, 'users.json'), 'hub/users')!.toString();
    const backups = service(src, config());
    const run = await backups.create();
    expect(run.destinations).toEqual([
      { destination: 'disk', ok: true },
      { destination: 's3:sfleet-backups', ok: true },
      { destination: 'gcs:sfleet-gcs', ok: true },
    ]);
    const listed = await backups.list();
    expect(listed.errors).toEqual([]);
    expect(listed.items.map((i) => `${i.destination} ${i.id}`)).toEqual(['disk', 's3:sfleet-backups', 'gcs:sfleet-gcs'].map((d) => `${d} ${run.id}`));
    // No key material and nothing in clear: the keyring is not in it, and no object shows the users.
    const stored = readdirSync(join(root, 'dest-local', run.id, 'objects')).map((f) => readFileSync(join(root, 'dest-local', run.id, 'objects', f)).toString('latin1'));
    expect(stored.some((s) => s.includes('alice'))).toBe(false);
    const manifest = await readManifest(backups.destinations[1], run.id);
    const auditFiles = readdirSync(join(src.dataDir, 'audit')).sort((a, b) => a.localeCompare(b)).map((f) => `data/audit/${f}`);
    expect(auditFiles.length).toBeGreaterThanOrEqual(2); // a segment and HEAD
    expect(manifest.objects.map((o) => o.name)).toEqual(['config/hub.yaml', ...auditFiles, 'data/events/events.log', 'data/history/jobs/part.parquet', 'data/users.json']);
    expect(manifest.objects.find((o) => o.name === 'data/users.json')).toMatchObject({ kind: 'records', purpose: 'hub/users' });

    const deep = await backups.verify(run.id, { deep: true });
    expect(deep.map((d) => [d.destination, d.ok, d.audit_chain?.ok, d.audit_chain?.records])).toEqual([
      ['disk', true, true, 2],
      ['s3:sfleet-backups', true, true, 2],
      ['gcs:sfleet-gcs', true, true, 2],
    ]);

    // The hub is lost with its keyring; a fresh one (a new keyring) restores from the gcs bucket.
    rmSync(join(root, 'a'), { recursive: true, force: true });
    const fresh = join(root, 'fresh', 'data');
    const freshAtRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(root, 'fresh', 'keyring.json') } });
    const objects = await openAll(backups.destinations[2], manifest, backupKey());
    writeRestore(objects, manifest, { dataDir: fresh, atRest: freshAtRest });
    expect(freshAtRest.readFile(join(fresh, 'users.json'), 'hub/users')!.toString()).toBe(users);
    expect(readFileSync(join(fresh, 'history', 'jobs', 'part.parquet'), 'utf8')).toBe('PAR1 rows PAR1');
    expect(verifyChain(new NodeAuditFiles(join(fresh, 'audit')))).toMatchObject({ ok: true, records: 2 });
    expect(readFileSync(join(fresh, 'restored', 'hub.yaml'), 'utf8')).toContain('client_secret: <redacted>');
    // The restored sealed log opens under the new key, record by record.
    const reopened = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(root, 'fresh', 'keyring.json') } }, { createKeyring: false });
    expect(reopened.readFile(join(fresh, 'users.json'), 'hub/users')!.toString()).toBe(users);
    // A second restore into the now used directory is refused without --force.
    expect(() => writeRestore(objects, manifest, { dataDir: fresh, atRest: freshAtRest })).toThrow(/holds a hub's data: restore into an empty directory, or pass --force/);
  });

  it('refuses a corrupted object, a truncated one, a changed manifest and a wrong key with a clear error, and changes nothing', async () => {
    const src = await makeDataDir('b');
    const dest = join(root, 'dest-b');
    const backups = service(src, config({}, [{ type: 'local', name: 'disk', path: dest }]));
    const run = await backups.create();
    const objectsDir = join(dest, run.id, 'objects');
    const target = join(root, 'target-b');
    mkdirSync(target);
    const tryRestore = async (provider = backupKey()): Promise<void> => {
      const m = await readManifest(backups.destinations[0], run.id);
      writeRestore(await openAll(backups.destinations[0], m, provider), m, { dataDir: target, atRest: src.atRest });
    };

    // Wrong key.
    await expect(tryRestore(backupKey('OTHER_KEY'))).rejects.toThrow(/was encrypted with env key BACKUP_KEY v1, which the configured env key OTHER_KEY cannot open/);
    // One byte flipped.
    const victim = join(objectsDir, readdirSync(objectsDir).at(-1)!);
    const original = readFileSync(victim);
    const flipped = Buffer.from(original);
    flipped[flipped.length - 20] ^= 1;
    writeFileSync(victim, flipped);
    expect((await backups.verify(run.id))[0]).toMatchObject({ ok: false, error: expect.stringMatching(/object data\/users\.json does not match its checksum/) });
    await expect(tryRestore()).rejects.toThrow(/does not match its checksum/);
    // Truncated.
    writeFileSync(victim, original);
    truncateSync(victim, 10);
    expect((await backups.verify(run.id))[0].error).toMatch(/object data\/users\.json is truncated \(10 of \d+ bytes\)/);
    writeFileSync(victim, original);
    // A manifest edited to match a swapped object.
    const manifestPath = join(dest, run.id, 'manifest.json');
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    m.objects[1].size += 1;
    writeFileSync(manifestPath, JSON.stringify(m));
    expect((await backups.verify(run.id))[0].error).toMatch(/the manifest was changed after it was written/);
    // Nothing reached the target.
    expect(readdirSync(target)).toEqual([]);
  });

  it('an unreachable bucket: bounded retries, the run reported failed naming it, and nothing of it left there; the other destination keeps a complete backup', async () => {
    const src = await makeDataDir('c');
    const cfg = config({}, [
      { type: 'local', name: 'disk', path: join(root, 'dest-c') },
      { type: 's3', name: 'gone', bucket: 'sfleet-backups', endpoint: 'http://127.0.0.1:9', force_path_style: true, access_key_id_env: 'S3_ID', secret_access_key_env: 'S3_SECRET', retries: 1, timeout: '2s' },
      { type: 's3', name: 'nobucket', bucket: 'no-such-bucket', endpoint: s3.endpoint, force_path_style: true, access_key_id_env: 'S3_ID', secret_access_key_env: 'S3_SECRET', retries: 0 },
    ]);
    const backups = service(src, cfg);
    const err = await backups.create().then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/failed on 2 of 3 destination\(s\): gone: put .*ECONNREFUSED.*after 2 attempt\(s\).*nobucket: put .*NoSuchBucket/);
    const listed = await backups.list();
    expect(listed.items.map((i) => i.destination)).toEqual(['disk']);
    expect(listed.errors.map((e) => e.destination)).toEqual(['gone', 'nobucket']);
  });

  it('retention removes backups older than it, manifest first, and always keeps the newest', async () => {
    const src = await makeDataDir('d');
    const clock = new ManualClock(Date.parse('2026-12-01T02:00:00Z'));
    const dest = join(root, 'dest-d');
    const backups = service(src, config({ retention: 2 }, [{ type: 'local', name: 'disk', path: dest }]), clock);
    const first = await backups.create();
    clock.advance(86_400_000);
    const second = await backups.create();
    clock.advance(10 * 86_400_000);
    // Both are past retention now: the newest stays.
    const third = await backups.create();
    expect(readdirSync(dest).sort()).toEqual([third.id]);
    expect([first.id, second.id].some((id) => existsSync(join(dest, id)))).toBe(false);
  });

  it('a point in time picks the newest backup taken at or before it, to the millisecond, and says when there is none', async () => {
    const src = await makeDataDir('p');
    const t0 = Date.parse('2026-12-02T09:00:00.100Z');
    const clock = new ManualClock(t0);
    const backups = service(src, config({}, [{ type: 'local', name: 'disk', path: join(root, 'dest-p') }]), clock);
    const first = await backups.create();
    clock.advance(500); // the same second: only the manifest tells them apart
    const second = await backups.create();
    clock.advance(2000);
    const third = await backups.create();
    const [dest] = backups.destinations;
    expect((await readManifestAt(dest, t0 + 499)).id).toBe(first.id);
    expect((await readManifestAt(dest, t0 + 500)).id).toBe(second.id);
    expect((await readManifestAt(dest, t0 + 60_000)).id).toBe(third.id);
    await expect(readManifestAt(dest, t0 - 1)).rejects.toThrow('disk: no complete backup at or before 2026-12-02T09:00:00.099Z (the oldest is from 2026-12-02T09:00:00.000Z)');
    expect(parseRestoreTime('2026-12-02T10:00:00+01:00')).toBe(Date.parse('2026-12-02T09:00:00Z'));
    for (const bad of ['yesterday', '2026-12-02', '2026-12-02T10:00:00', '2026-13-02T10:00:00Z']) expect(() => parseRestoreTime(bad)).toThrow(/is not an ISO-8601 time with a zone/);
  });

  it('the leader runs each firing once, in the time zone, and records a firing missed beyond catch_up', async () => {
    const src = await makeDataDir('e');
    const clock = new ManualClock(Date.parse('2026-12-06T00:30:00Z'));
    const backups = service(src, config({ schedule: '0 2 * * *', timezone: 'Europe/Berlin', catch_up: '1h' }, [{ type: 'local', name: 'disk', path: join(root, 'dest-e') }]), clock);
    const kv = new Map<string, string>();
    const ctx = { region: 'eu', hubId: 'hub-1', token: 1, signal: new AbortController().signal, assertLeading: () => {}, put: async (k: string, v: string) => void kv.set(k, v), get: async (k: string) => kv.get(k) } as LeaderContext;
    expect(await backups.tick(ctx)).toBe('started');
    clock.advance(15 * 60_000); // 00:45Z = 01:45 Berlin
    expect(await backups.tick(ctx)).toBe('not-due');
    clock.advance(20 * 60_000); // 01:05Z = 02:05 Berlin
    expect(await backups.tick(ctx)).toBe('ran');
    expect(await backups.tick(ctx)).toBe('not-due');
    expect((await backups.list()).items).toHaveLength(1);
    // Leaderless for two days: the newest firing (02:00 Berlin) is 3 hours late, beyond catch_up: missed, not run.
    clock.advance(2 * 86_400_000 + 3 * 3_600_000);
    expect(await backups.tick(ctx)).toBe('missed');
    expect(await backups.tick(ctx)).toBe('not-due');
  });
});
