// Large objects go to a bucket in parts (multipart upload): a backup of
// several parts on a real S3-compatible server (s3rver) restores byte-identical, also a file over
// STREAM_OVER streamed from disk to a bucket and a directory at once; an upload cut
// mid-way (the server stops answering after two parts) fails the backup naming the destination,
// and no half backup is listed as complete, also once the server is back. The config refuses
// parts under 5 MiB (S3 and GCS do); s3rver takes smaller ones, so these tests, to stay small,
// set a 64 KiB part size after the config is loaded (the only way to get one).
// An object that would need more than the part limit goes in larger parts, said once.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { AtRest, createProvider } from '../../shared/crypto/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { S3_KEY, TestS3Server } from '../../test/harness/s3-server.js';
import { createLogger } from '../../shared/logging/index.js';
import { backupConfigSchema, BackupService, openAll, readManifest, S3Destination } from './index.js';
import { partSizeFor } from './destinations.js';
import { STREAM_OVER } from './snapshot.js';

const ENV = { BACKUP_KEY: Buffer.alloc(32, 3).toString('base64'), S3_ID: S3_KEY.accessKeyId, S3_SECRET: S3_KEY.secretAccessKey };
const provider = createProvider({ enabled: true, provider: 'env', env: { var: 'BACKUP_KEY' } }, ENV);
const PART = 64 * 1024;

let s3: TestS3Server;
let proxy: Server;
let proxyUrl: string;
let root: string;
/** Parts uploaded through the proxy; past `cutAfter` parts the proxy drops every request (the server is gone). */
let parts = 0;
let cutAfter = Infinity;

beforeAll(async () => {
  s3 = await TestS3Server.start(['sfleet-parts']);
  root = mkdtempSync(join(tmpdir(), 'backup-parts-'));
  const target = new URL(s3.endpoint);
  proxy = createServer((req, res) => {
    if (/[?&]partNumber=/.test(req.url ?? '') && ++parts > cutAfter) return void req.socket.destroy();
    if (parts > cutAfter) return void req.socket.destroy();
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
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

function service(dataDir: string, local?: string): BackupService {
  const config = backupConfigSchema.parse({
    encryption: { enabled: true, provider: 'env', env: { var: 'BACKUP_KEY' } },
    destinations: [...(local ? [{ type: 'local', path: local }] : []), { type: 's3', bucket: 'sfleet-parts', endpoint: proxyUrl, force_path_style: true, access_key_id_env: 'S3_ID', secret_access_key_env: 'S3_SECRET', retries: 0, timeout: '5s', part_size: '5MiB' }],
  });
  // Test only: small parts, past the config's 5 MiB minimum (see the top of the file).
  for (const d of config.destinations) if (d.type === 's3') d.part_size = PART;
  return new BackupService(
    { hubId: 'hub-1', region: 'eu', dataDir, atRest: AtRest.plaintext(), provider, configText: () => 'region: eu\n', audit: { record: async () => undefined as never }, logger: silentLogger(), clock: new ManualClock(Date.parse('2026-12-07T10:00:00Z')), env: ENV },
    config,
  );
}

describe('multipart uploads to a bucket', () => {
  it('a backup whose history file takes several parts restores byte-identical', async () => {
    const dataDir = join(root, 'ok');
    mkdirSync(join(dataDir, 'history'), { recursive: true });
    const big = randomBytes(5 * PART + 1234);
    writeFileSync(join(dataDir, 'history', 'part.parquet'), big);
    const backups = service(dataDir);
    parts = 0;
    const run = await backups.create();
    expect(parts).toBe(6); // 5 whole parts and the rest (plus the sealing's nonce and tag)
    const manifest = await readManifest(backups.destinations[0], run.id);
    const restored = (await openAll(backups.destinations[0], manifest, provider)).find((o) => o.name === 'data/history/part.parquet');
    expect(restored?.data.equals(big)).toBe(true);
  });

  it('a file over STREAM_OVER is streamed from disk in parts to a bucket and a directory, and restores byte-identical from both', async () => {
    const dataDir = join(root, 'streamed');
    mkdirSync(join(dataDir, 'history'), { recursive: true });
    const big = randomBytes(STREAM_OVER + 3 * PART + 77);
    writeFileSync(join(dataDir, 'history', 'big.parquet'), big);
    writeFileSync(join(dataDir, 'users.json'), '{"users":[]}');
    const backups = service(dataDir, join(root, 'streamed-local'));
    parts = 0;
    const run = await backups.create();
    expect(parts).toBe(Math.ceil((big.length + 28) / PART)); // the sealed object: nonce and tag added
    for (const dest of backups.destinations) {
      const objects = await openAll(dest, await readManifest(dest, run.id), provider);
      expect(objects.find((o) => o.name === 'data/history/big.parquet')?.data.equals(big), dest.name).toBe(true);
      expect(objects.find((o) => o.name === 'data/users.json')?.data.toString(), dest.name).toBe('{"users":[]}');
    }
    const verified = await backups.verify(run.id);
    expect(verified.map((v) => [v.destination, v.ok])).toEqual([[`local:${join(root, 'streamed-local')}`, true], ['s3:sfleet-parts', true]]);
  });

  it('an upload cut mid-way fails the backup clearly, and no half backup is listed as complete', async () => {
    const dataDir = join(root, 'cut');
    mkdirSync(join(dataDir, 'history'), { recursive: true });
    writeFileSync(join(dataDir, 'history', 'part.parquet'), randomBytes(STREAM_OVER + 8 * PART)); // streamed
    const backups = service(dataDir);
    const before = (await backups.list()).items.map((b) => b.id);
    parts = 0;
    cutAfter = 2;
    await expect(backups.create()).rejects.toThrow(/backup \S+ failed on 1 of 1 destination\(s\): s3:sfleet-parts: put \S+: part 3: /);
    cutAfter = Infinity;
    const after = await backups.list();
    expect(after.errors).toEqual([]);
    expect(after.items.map((b) => b.id)).toEqual(before);
  });
});

describe('part size limits', () => {
  it('the config refuses a part_size under 5MiB, naming the key and the minimum', () => {
    const parse = (part_size: string) => backupConfigSchema.safeParse({ destinations: [{ type: 'gcs', bucket: 'b-1', part_size }] });
    const refused = parse('4MiB');
    expect(refused.success).toBe(false);
    expect(refused.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['destinations.0.part_size', 'at least 5MiB: S3 and GCS refuse smaller parts (but the last) when the upload completes']]);
    expect(parse('5MiB').success).toBe(true);
  });

  it('past 10,000 parts the part size is ceil(size / 10,000) rounded up to a MiB', () => {
    const MiB = 1024 * 1024;
    expect(partSizeFor(10_000 * 16 * MiB, 16 * MiB)).toBe(16 * MiB);
    expect(partSizeFor(10_000 * 16 * MiB + 1, 16 * MiB)).toBe(17 * MiB);
    expect(partSizeFor(200 * 1024 * MiB, 16 * MiB)).toBe(21 * MiB); // 20.48 MiB
  });

  it('an object that would need more parts than allowed goes in larger parts, said once per object', async () => {
    const lines: string[] = [];
    const logger = createLogger({ name: 'test', level: 'warn', destination: { write: (l: string) => void lines.push(l) } as unknown as NodeJS.WritableStream });
    const config = backupConfigSchema.parse({ destinations: [{ type: 's3', bucket: 'sfleet-parts', endpoint: proxyUrl, force_path_style: true, access_key_id_env: 'S3_ID', secret_access_key_env: 'S3_SECRET', retries: 0, timeout: '5s' }] }).destinations[0];
    if (config.type !== 's3') throw new Error('an s3 destination');
    config.part_size = PART; // test only, as above
    // A limit of 4 parts stands in for S3's 10,000 (objects of 10,000 parts would be 50 GB here).
    const dest = new S3Destination('s3:sfleet-parts', config, ENV, { logger, maxParts: 4 });
    const body = randomBytes(5 * 1024 * 1024 + 1); // 81 parts of 64 KiB; 4 parts: 2 MiB each (1.25 rounded up)
    parts = 0;
    await dest.put('limits/whole', body);
    expect(parts).toBe(3);
    expect((await dest.get('limits/whole'))?.equals(body)).toBe(true);
    parts = 0;
    const w = dest.openWrite('limits/streamed', body.length);
    for (let at = 0; at < body.length; at += 100_000) await w.write(body.subarray(at, at + 100_000));
    await w.close();
    expect(parts).toBe(3);
    expect((await dest.get('limits/streamed'))?.equals(body)).toBe(true);
    const said = lines.map((l) => JSON.parse(l) as { msg: string; object: string; raised_to: number });
    expect(said.map((l) => [l.object, l.raised_to])).toEqual([['limits/whole', 2 * 1024 * 1024], ['limits/streamed', 2 * 1024 * 1024]]);
    expect(said[0].msg).toMatch(/too large for 4 parts of part_size: uploaded in larger parts/);
  });
});
