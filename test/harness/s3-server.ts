// A real S3-compatible server for tests: s3rver (npm, pure JavaScript, runs offline). It speaks
// the S3 REST API over HTTP (path-style buckets, ListObjectsV2, multi-object delete, S3's error
// codes such as NoSuchBucket); it accepts any signature (its key pair is S3RVER/S3RVER).
// Chosen because Debian 12 packages no S3 server that runs alone (radosgw needs a Ceph
// cluster; python3-moto is not in bookworm) and the harness needs no download beyond npm.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export const S3_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

type S3rverInstance = InstanceType<typeof import('s3rver').default>;

export class TestS3Server {
  private constructor(
    readonly endpoint: string,
    private readonly server: S3rverInstance,
    private readonly dir: string,
  ) {}

  static async start(buckets: string[]): Promise<TestS3Server> {
    const { default: S3rver } = await import('s3rver');
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 's3rver-'));
    const server = new S3rver({ port, address: '127.0.0.1', directory: dir, silent: true, configureBuckets: buckets.map((name) => ({ name })) });
    await server.run();
    return new TestS3Server(`http://127.0.0.1:${port}`, server, dir);
  }

  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
