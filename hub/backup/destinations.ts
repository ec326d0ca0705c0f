// Where backups are stored: a local directory, or an S3-compatible bucket (S3 itself, a
// self-hosted server, or Google Cloud Storage's XML API with HMAC keys). A destination stores
// opaque objects by key; the manifest is written last and is what makes a backup exist.
import { closeSync, createReadStream, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { dirname, join, relative, sep } from 'node:path';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import type { Logger } from '../../shared/logging/index.js';
import { destinationName, MAX_PARTS, type DestinationConfig } from './config.js';
import type { StoredObject } from './manifest.js';

const MiB = 1024 * 1024;

export interface Destination {
  readonly name: string;
  put(key: string, body: Buffer): Promise<void>;
  /** undefined when the object does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  /** The object as a stream (never whole in memory); undefined when it does not exist. A failed read names the destination. */
  read(key: string): Promise<StoredObject | undefined>;
  /** Keys under `prefix` (every key when empty). */
  list(prefix: string): Promise<string[]>;
  remove(keys: string[]): Promise<void>;
  /**
   * Writes one object from chunks (a streamed object): it exists only once close() resolves.
   * `size`, when known, is the object's size in bytes (a bucket picks its part size from it).
   */
  openWrite(key: string, size?: number): ObjectWriter;
}

export interface ObjectWriter {
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
  /** Drops what was written (best effort). */
  abort(): Promise<void>;
}

export function openDestination(config: DestinationConfig, env: NodeJS.ProcessEnv = process.env, logger?: Logger): Destination {
  return config.type === 'local' ? new LocalDestination(destinationName(config), config.path) : new S3Destination(destinationName(config), config, env, { ...(logger ? { logger } : {}) });
}

/**
 * The part size for an object of `size` bytes: part_size, or, when that would take more than
 * `maxParts` parts (S3 and GCS take 10,000), ceil(size / maxParts) rounded up to a MiB.
 */
export function partSizeFor(size: number, partSize: number, maxParts = MAX_PARTS): number {
  if (Math.ceil(size / partSize) <= maxParts) return partSize;
  return Math.ceil(size / maxParts / MiB) * MiB;
}

/** A directory: each object a file, written to a temporary name, fsync'd, then renamed. */
export class LocalDestination implements Destination {
  constructor(
    readonly name: string,
    private readonly root: string,
  ) {}

  async put(key: string, body: Buffer): Promise<void> {
    const path = this.path(key);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.partial`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return readFileSync(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async read(key: string): Promise<StoredObject | undefined> {
    const path = this.path(key);
    let size: number;
    try {
      size = statSync(path).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const stream = createReadStream(path, { highWaterMark: MiB });
    return { size, chunks: named(`${this.name}: get ${key}`, stream), close: () => stream.destroy() };
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = (dir: string): void => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile() && !e.name.endsWith('.partial')) out.push(relative(this.root, p).split(sep).join('/'));
      }
    };
    walk(this.root);
    return out.filter((k) => k.startsWith(prefix)).sort();
  }

  async remove(keys: string[]): Promise<void> {
    for (const key of keys) rmSync(this.path(key), { force: true });
    // Empty backup directories go too.
    for (const id of new Set(keys.map((k) => k.split('/')[0]))) {
      const dir = join(this.root, id);
      try {
        if (readdirSync(join(dir, 'objects')).length === 0) rmSync(join(dir, 'objects'), { recursive: true, force: true });
      } catch {
        // Not there.
      }
      try {
        if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
      } catch {
        // Not there.
      }
    }
  }

  openWrite(key: string): ObjectWriter {
    const path = this.path(key);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.partial`;
    const fd = openSync(tmp, 'w', 0o600);
    let open = true;
    const shut = (): void => {
      if (open) closeSync(fd);
      open = false;
    };
    return {
      write: async (chunk) => void writeSync(fd, chunk),
      close: async () => {
        fsyncSync(fd);
        shut();
        renameSync(tmp, path);
      },
      abort: async () => {
        shut();
        rmSync(tmp, { force: true });
      },
    };
  }

  private path(key: string): string {
    if (key.split('/').some((part) => part === '' || part === '.' || part === '..')) throw new Error(`bad object key "${key}"`);
    return join(this.root, ...key.split('/'));
  }
}

type BucketConfig = Exclude<DestinationConfig, { type: 'local' }>;

/**
 * An S3-compatible bucket. Requests are retried by the SDK (standard mode, `retries` more
 * attempts) within `timeout` each; checksums are sent and checked only where the S3 API
 * requires them, because Google's XML API and most self-hosted servers do not speak the SDK's
 * newer default (CRC32 trailers).
 */
export class S3Destination implements Destination {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly maxParts: number;
  private readonly logger: Logger | undefined;

  constructor(
    readonly name: string,
    config: BucketConfig,
    env: NodeJS.ProcessEnv,
    /** maxParts: S3's 10,000 (lower only in tests, where objects of 10,000 parts would be too large). */
    opts: { logger?: Logger; maxParts?: number } = {},
  ) {
    const accessKeyId = env[config.access_key_id_env];
    const secretAccessKey = env[config.secret_access_key_env];
    this.bucket = config.bucket;
    this.prefix = config.prefix;
    // The config refuses parts under 5 MiB; tests against a server that takes small parts set it after loading.
    this.partSize = Math.max(1024, config.part_size);
    this.maxParts = opts.maxParts ?? MAX_PARTS;
    this.logger = opts.logger;
    this.client = new S3Client({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      forcePathStyle: config.force_path_style,
      maxAttempts: config.retries + 1,
      retryMode: 'standard',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: Math.min(config.timeout, 10_000), requestTimeout: config.timeout },
      // Keys named in the config; without them the SDK's own chain (instance roles, ~/.aws) applies.
      ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
    });
  }

  async put(key: string, body: Buffer): Promise<void> {
    if (body.length > this.partSize) return this.putInParts(key, body, this.partSizeOf(key, body.length));
    await this.call(`put ${key}`, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: body, ContentLength: body.length })));
  }

  /** A streamed object: chunks gathered up to part_size, each full part uploaded at once (multipart). */
  openWrite(key: string, size?: number): ObjectWriter {
    const Key = this.prefix + key;
    const partSize = size === undefined ? this.partSize : this.partSizeOf(key, size);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    const parts: { ETag: string; PartNumber: number }[] = [];
    const flush = async (): Promise<void> => {
      const body = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      if (uploadId === undefined) uploadId = (await this.call(`put ${key}: start a multipart upload`, () => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key })))).UploadId!;
      const n = parts.length + 1;
      const out = await this.call(`put ${key}: part ${n}`, () => this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key, UploadId: uploadId, PartNumber: n, Body: body, ContentLength: body.length })));
      parts.push({ ETag: out.ETag!, PartNumber: n });
    };
    return {
      write: async (chunk) => {
        for (let at = 0; at < chunk.length; ) {
          const take = Math.min(chunk.length - at, partSize - pendingBytes);
          pending.push(chunk.subarray(at, at + take));
          pendingBytes += take;
          at += take;
          if (pendingBytes >= partSize) await flush();
        }
      },
      close: async () => {
        if (uploadId === undefined) return this.put(key, Buffer.concat(pending));
        if (pendingBytes) await flush();
        await this.call(`put ${key}: complete the multipart upload`, () => this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } })));
      },
      abort: async () => {
        if (uploadId !== undefined) await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId })).catch(() => undefined);
      },
    };
  }

  /**
   * A large object in parts of part_size (multipart upload): a part that fails is retried by the
   * SDK, not the whole object. An upload that fails is aborted, so no half object stays behind
   * (the bucket would keep its parts, and bill them, until a lifecycle rule removed them).
   */
  private async putInParts(key: string, body: Buffer, partSize: number): Promise<void> {
    const Key = this.prefix + key;
    const { UploadId } = await this.call(`put ${key}: start a multipart upload`, () => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key })));
    try {
      const parts: { ETag: string; PartNumber: number }[] = [];
      for (let at = 0, n = 1; at < body.length; at += partSize, n++) {
        const part = body.subarray(at, Math.min(body.length, at + partSize));
        const out = await this.call(`put ${key}: part ${n} of ${Math.ceil(body.length / partSize)}`, () => this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key, UploadId, PartNumber: n, Body: part, ContentLength: part.length })));
        parts.push({ ETag: out.ETag!, PartNumber: n });
      }
      await this.call(`put ${key}: complete the multipart upload`, () => this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } })));
    } catch (err) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => undefined);
      throw err;
    }
  }

  /** part_size, raised (and said once, for this object) when the object would need more than maxParts parts. */
  private partSizeOf(key: string, size: number): number {
    const partSize = partSizeFor(size, this.partSize, this.maxParts);
    if (partSize !== this.partSize) {
      this.logger?.warn({ destination: this.name, object: key, bytes: size, part_size: this.partSize, raised_to: partSize, max_parts: this.maxParts }, `backup object too large for ${this.maxParts} parts of part_size: uploaded in larger parts`);
    }
    return partSize;
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw this.explain(`get ${key}`, err);
    }
  }

  async read(key: string): Promise<StoredObject | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      // The SDK's body in Node is the response stream: read as it arrives.
      const body = out.Body as Readable;
      return { size: out.ContentLength ?? -1, chunks: mapErrors(body, (err) => this.explain(`get ${key}`, err)), close: () => body.destroy() };
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw this.explain(`get ${key}`, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.call(`list ${prefix || '/'}`, () => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token })));
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key.slice(this.prefix.length));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async remove(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.call('delete', () => this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((k) => ({ Key: this.prefix + k })), Quiet: true } })));
    }
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.explain(what, err);
    }
  }

  /** The SDK's error, with the destination named and no request details (they may carry signatures). */
  private explain(what: string, err: unknown): Error {
    const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
    const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
    const attempts = e.$metadata?.attempts ? ` after ${e.$metadata.attempts} attempt(s)` : '';
    return new Error(`${this.name}: ${what}: ${e.code ?? e.name ?? 'Error'}: ${(e.message ?? '').split('\n')[0].slice(0, 200)}${status}${attempts}`);
  }
}

/** A stream's chunks, a failure mid-way rethrown through `explain` (naming the destination and object). */
async function* mapErrors(stream: Readable, explain: (err: unknown) => Error): AsyncIterable<Buffer> {
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    throw explain(err);
  } finally {
    stream.destroy();
  }
}

function named(what: string, stream: Readable): AsyncIterable<Buffer> {
  return mapErrors(stream, (err) => new Error(`${what}: ${(err as Error).message}`));
}
