// Restore and verify stream each object: a large history file comes back byte-identical without
// being held in memory (it goes, checked, through a file beside the target), and what a user hits
// when a restore cannot finish is refused with a clear error, leaving nothing behind (no restored
// file, no staging or fetched file beside the target): an object truncated at the destination, a
// wrong key, a sealed object whose tag does not hold, and a bucket that dies mid-object.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { AtRest, createProvider } from '../../shared/crypto/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { S3_KEY, TestS3Server } from '../../test/harness/s3-server.js';
import { backupConfigSchema, BackupService, checkAll, LocalDestination, ManifestWriter, openAll, readManifest, writeRestore, type Destination, type Manifest } from './index.js';
import { manifestKey, objectKey } from './manifest.js';
import { SPILL_OVER } from './restore.js';

const ENV = { BACKUP_KEY: Buffer.alloc(32, 5).toString('base64'), OTHER_KEY: Buffer.alloc(32, 6).toString('base64'), S3_ID: S3_KEY.accessKeyId, S3_SECRET: S3_KEY.secretAccessKey };
const provider = createProvider({ enabled: true, provider: 'env', env: { var: 'BACKUP_KEY' } }, ENV);
const BIG = 'data/history/jobs/big.parquet';

let s3: TestS3Server;
let proxy: Server;
let proxyUrl: string;
let root: string;
/** Past this many bytes of one object's body, the proxy drops the connection (the bucket is gone). */
let cutGetAfter = Infinity;

beforeAll(async () => {
  s3 = await TestS3Server.start(['sfleet-stream']);
  root = mkdtempSync(join(tmpdir(), 'backup-stream-'));
  const target = new URL(s3.endpoint);
  proxy = createServer((req, res) => {
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      let sent = 0;
      const object = req.method === 'GET' && /\/objects\/\d+/.test(req.url ?? '');
      answer.on('data', (chunk: Buffer) => {
        sent += chunk.length;
        if (object && sent > cutGetAfter) {
          answer.destroy();
          return void req.socket.destroy();
        }
        res.write(chunk);
      });
      answer.on('end', () => res.end());
    });
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A backup of a data directory holding a large history file and a small one, to a directory and a bucket (through the proxy). */
async function backupOf(name: string): Promise<{ big: Buffer; id: string; local: Destination; bucket: Destination }> {
  const dataDir = join(root, name, 'data');
  mkdirSync(join(dataDir, 'history', 'jobs'), { recursive: true });
  const big = randomBytes(3 * SPILL_OVER + 12_345);
  writeFileSync(join(dataDir, 'history', 'jobs', 'big.parquet'), big);
  writeFileSync(join(dataDir, 'users.json'), '{"users":[]}');
  const config = backupConfigSchema.parse({
    encryption: { enabled: true, provider: 'env', env: { var: 'BACKUP_KEY' } },
    destinations: [
      { type: 'local', name: 'disk', path: join(root, name, 'backups') },
      { type: 's3', bucket: 'sfleet-stream', prefix: `${name}/`, endpoint: proxyUrl, force_path_style: true, access_key_id_env: 'S3_ID', secret_access_key_env: 'S3_SECRET', retries: 0, timeout: '5s' },
    ],
  });
  const backups = new BackupService(
    { hubId: 'hub-1', region: 'eu', dataDir, atRest: AtRest.plaintext(), provider, configText: () => 'region: eu\n', audit: { record: async () => undefined as never }, logger: silentLogger(), clock: new ManualClock(Date.parse('2026-12-07T10:00:00Z')), env: ENV },
    config,
  );
  const run = await backups.create();
  rmSync(dataDir, { recursive: true, force: true });
  return { big, id: run.id, local: backups.destinations[0], bucket: backups.destinations[1] };
}

/** What the CLI does: stream every object (large files beside the target), then write the restore. */
async function restore(dest: Destination, manifest: Manifest, dataDir: string, key = provider): Promise<void> {
  const spill = `${dataDir}.restore-${manifest.id}.fetched`;
  try {
    writeRestore(await openAll(dest, manifest, key, { spill }), manifest, { dataDir, atRest: AtRest.plaintext() });
  } finally {
    rmSync(spill, { recursive: true, force: true });
  }
}

describe('streamed restore and verify', () => {
  it('a large history file restores byte-identical from a directory and a bucket, through a checked file beside the target', async () => {
    const { big, id, local, bucket } = await backupOf('ok');
    for (const dest of [local, bucket]) {
      const manifest = await readManifest(dest, id);
      expect(await checkAll(dest, manifest, provider)).toBe(manifest.objects.length);
      const parent = join(root, 'ok', `into-${dest.name.replace(/\W/g, '-')}`);
      const spill = join(parent, 'fetched');
      const objects = await openAll(dest, manifest, provider, { spill });
      const large = objects.find((o) => o.name === BIG)!;
      // Not in memory: a checked file, under its final name (no .partial left).
      expect(large.data.length).toBe(0);
      expect(readdirSync(spill)).toEqual([large.path!.split('/').at(-1)]);
      writeRestore(objects, manifest, { dataDir: join(parent, 'data'), atRest: AtRest.plaintext() });
      rmSync(spill, { recursive: true, force: true });
      expect(readFileSync(join(parent, 'data', 'history', 'jobs', 'big.parquet')).equals(big), dest.name).toBe(true);
      expect(readFileSync(join(parent, 'data', 'users.json'), 'utf8')).toBe('{"users":[]}');
      expect(readdirSync(parent)).toEqual(['data']);
    }
  });

  it('an object truncated at the destination, or a wrong key: refused, and nothing restored or left beside the target', async () => {
    const { id, local } = await backupOf('cut');
    const manifest = await readManifest(local, id);
    const index = manifest.objects.findIndex((o) => o.name === BIG);
    const parent = join(root, 'cut', 'restore');
    mkdirSync(join(parent, 'data'), { recursive: true });

    await expect(restore(local, manifest, join(parent, 'data'), createProvider({ enabled: true, provider: 'env', env: { var: 'OTHER_KEY' } }, ENV))).rejects.toThrow(/was encrypted with env key BACKUP_KEY v1, which the configured env key OTHER_KEY cannot open/);
    expect(readdirSync(parent)).toEqual(['data']);

    truncateSync(join(root, 'cut', 'backups', objectKey(id, index)), manifest.objects[index].stored_size - 1000);
    const error = new RegExp(`object ${BIG} is truncated \\(${manifest.objects[index].stored_size - 1000} of ${manifest.objects[index].stored_size} bytes\\)`);
    await expect(checkAll(local, manifest, provider)).rejects.toThrow(error);
    await expect(restore(local, manifest, join(parent, 'data'))).rejects.toThrow(error);
    expect(readdirSync(parent)).toEqual(['data']);
    expect(readdirSync(join(parent, 'data'))).toEqual([]);
    // The refused object's stream was closed, not left open (a descriptor, or an S3 socket).
    const openOnBackup = (): string[] =>
      readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          return target.includes(join(root, 'cut', 'backups')) ? [target] : [];
        } catch {
          return [];
        }
      });
    for (const t0 = Date.now(); openOnBackup().length && Date.now() - t0 < 5_000; ) await new Promise((r) => setTimeout(r, 20));
    expect(openOnBackup()).toEqual([]);
  });

  it('a sealed object whose tag does not hold (its checksums listed to match) is refused after streaming, and its file never appears', async () => {
    // A manifest that vouches for a changed object: only the GCM tag can catch it.
    const dir = join(root, 'tag');
    const dest = new LocalDestination('disk', join(dir, 'backups'));
    const id = '20261207T100000Z-abcdef';
    const writer = await ManifestWriter.start(id, provider);
    const sealed = writer.add(BIG, 'file', randomBytes(2 * SPILL_OVER));
    sealed[sealed.length - 1] ^= 1; // the tag
    writer.objects[0].stored_sha256 = (await import('./manifest.js')).sha256(sealed);
    const manifest = writer.finish({ created_at: '2026-12-07T10:00:00.000Z', hub_id: 'hub-1', region: 'eu' });
    await dest.put(objectKey(id, 0), sealed);
    await dest.put(manifestKey(id), Buffer.from(JSON.stringify(manifest)));
    const parent = join(dir, 'restore');
    mkdirSync(join(parent, 'data'), { recursive: true });
    await expect(checkAll(dest, manifest, provider)).rejects.toThrow(`backup ${id}: object ${BIG} fails authentication (changed, truncated or moved)`);
    await expect(restore(dest, manifest, join(parent, 'data'))).rejects.toThrow(/fails authentication/);
    expect(readdirSync(parent)).toEqual(['data']);
    expect(readdirSync(join(parent, 'data'))).toEqual([]);
  });

  it('a bucket that dies mid-object: refused naming the bucket and the object, nothing restored or left beside the target', async () => {
    const { id, bucket } = await backupOf('dies');
    const manifest = await readManifest(bucket, id);
    const index = manifest.objects.findIndex((o) => o.name === BIG);
    const parent = join(root, 'dies', 'restore');
    mkdirSync(join(parent, 'data'), { recursive: true });
    writeFileSync(join(parent, 'data', 'keep.txt'), 'the hub that was here');
    cutGetAfter = SPILL_OVER;
    try {
      const error = new RegExp(`^s3:sfleet-stream: get ${objectKey(id, index)}: `);
      await expect(checkAll(bucket, manifest, provider)).rejects.toThrow(error);
      await expect(restore(bucket, manifest, join(parent, 'data'))).rejects.toThrow(error);
    } finally {
      cutGetAfter = Infinity;
    }
    expect(readdirSync(parent)).toEqual(['data']);
    expect(readdirSync(join(parent, 'data'))).toEqual(['keep.txt']);
  });
});
