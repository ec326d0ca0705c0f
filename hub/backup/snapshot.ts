// What a backup holds, read from the data directory while the hub runs. Each store's state is
// taken consistently without stopping it: stores that rewrite a whole file do so by an atomic
// rename, so one read of the file is one state of the store; logs (audit, events, WALs) only
// append, so a read is a prefix of the log, cut at its last whole record (a torn tail is left
// out). The job history is read between two of its writes (its write queue waits meanwhile),
// so a day partition being rewritten is never caught half-replaced.
//
// Sealed files (encryption at rest) are opened and kept as their records: a restore seals them
// again under the restoring hub's key, so a backup does not need the old keyring, only the
// backup key. In a hub group the region's durable etcd and Redis keys and the other hubs' audit
// chains come along (etcd-state.ts, redis-state.ts, group-parts.ts). Never in a backup: the keyring, temporary and set-aside files, export scratch
// files, and a local backup destination that lies inside the data directory.
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parsePrefix, PREFIX_BYTES, type AtRest } from '../../shared/crypto/index.js';
import { frame, isSealed, readRecords } from '../../shared/record-log/index.js';
import { ETCD_STATE_OBJECT } from './etcd-state.js';
import { REDIS_STATE_OBJECT } from './redis-state.js';
import type { ObjectKind } from './manifest.js';

export interface SnapshotObject {
  name: string;
  kind: ObjectKind;
  purpose?: string;
  data: Buffer;
  /** A large plain file, opened while the snapshot was taken and streamed from this descriptor later (data is empty). */
  fd?: number;
  /** The size of the fd's file when it was opened: what is streamed (a log appended since is cut there). */
  size?: number;
}

/** Plain files larger than this are streamed from disk (an open descriptor keeps the state read), not read whole. */
export const STREAM_OVER = 1024 * 1024;

export interface SnapshotSources {
  dataDir: string;
  /** The audit directory when it is outside the data directory. */
  auditDir?: string;
  /** Paths never taken (the keyring, local destinations). */
  exclude: string[];
  atRest: AtRest;
  /** The hub configuration as exported (secrets redacted). */
  configText: () => string;
  /** Runs `fn` between two writes of the job history. */
  betweenHistoryWrites?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** A hub group: the region's durable etcd keys (etcd-state.ts), taken with the files. */
  etcdState?: () => Promise<Buffer>;
  /** A hub group with Redis: the region's durable Redis keys (redis-state.ts). */
  redisState?: () => Promise<Buffer>;
  /** A hub group: the audit chains of the other hubs, named hubs/<hub_id>/audit/... (group-parts.ts). */
  peerAudits?: () => Promise<SnapshotObject[]>;
}

const SKIP = /(\.tmp-\d+|\.tmp|\.partial|\.tampered-\d+)$/;
// pitr/: the change log and its shipping state (a restored hub starts a shipped chain of its own).
const SKIP_DIRS = new Set(['export-scratch', 'restored', 'pitr']);
// history/mirror/: the job history's read copy (derived from its Parquet; a restored hub rebuilds it).
const isHistoryMirror = (dir: string): boolean => dir.endsWith(`${sep}history${sep}mirror`);

export async function takeSnapshot(src: SnapshotSources): Promise<SnapshotObject[]> {
  // Only the files are read between two history writes: the network parts (etcd, Redis, the other
  // hubs' chains, up to minutes when a member is slow) must not hold the history's writes back.
  const read = async (): Promise<SnapshotObject[]> => {
    const out: SnapshotObject[] = [{ name: 'config/hub.yaml', kind: 'config', data: Buffer.from(src.configText()) }];
    try {
      const excluded = src.exclude.map((p) => resolve(p));
      const audit = src.auditDir ? resolve(src.auditDir) : undefined;
      const dataDir = resolve(src.dataDir);
      const insideData = (p: string): boolean => p === dataDir || p.startsWith(dataDir + sep);
      for (const path of walk(dataDir, excluded)) out.push(...take(src.atRest, `data/${relative(dataDir, path).split(sep).join('/')}`, path));
      if (audit && !insideData(audit)) for (const path of walk(audit, excluded)) out.push(...take(src.atRest, `audit/${relative(audit, path).split(sep).join('/')}`, path));
      return out;
    } catch (err) {
      releaseSnapshot(out);
      throw err;
    }
  };
  const out = await (src.betweenHistoryWrites ? src.betweenHistoryWrites(read) : read());
  try {
    if (src.etcdState) out.push({ name: ETCD_STATE_OBJECT, kind: 'etcd', data: await src.etcdState() });
    if (src.redisState) out.push({ name: REDIS_STATE_OBJECT, kind: 'redis', data: await src.redisState() });
    if (src.peerAudits) out.push(...(await src.peerAudits()));
  } catch (err) {
    // A member that does not answer fails the backup: the large files opened for it are let go.
    releaseSnapshot(out);
    throw err;
  }
  return out;
}

/** Closes the descriptors of a snapshot's streamed files (each once; safe to call again). */
export function releaseSnapshot(objects: SnapshotObject[]): void {
  for (const o of objects) {
    if (o.fd === undefined) continue;
    try {
      closeSync(o.fd);
    } catch {
      // Already closed.
    }
    delete o.fd;
  }
}

export function walk(root: string, excluded: string[]): string[] {
  const out: string[] = [];
  const visit = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (excluded.some((x) => p === x || p.startsWith(x + sep))) continue;
      if (e.isDirectory() && !SKIP_DIRS.has(e.name) && !isHistoryMirror(p)) visit(p);
      else if (e.isFile() && !SKIP.test(e.name)) out.push(p);
    }
  };
  visit(root);
  return out;
}

export function take(atRest: AtRest, name: string, path: string): SnapshotObject[] {
  const streamed = openLarge(name, path);
  if (streamed) return [streamed];
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; // removed since listed (a rotated segment)
    throw err;
  }
  if (!isSealed(data)) {
    // Audit segments are JSON lines appended: cut at the last whole line (HEAD is rewritten whole).
    if (/(^|\/)audit\/[^/]+\.jsonl$/.test(name)) {
      const end = data.lastIndexOf(0x0a) + 1;
      data = data.subarray(0, end);
    }
    return [{ name, kind: 'file', data }];
  }
  const { purpose } = parsePrefix(path, data).header;
  const sealing = atRest.sealing(purpose);
  if (!sealing) throw new Error(`${path} is sealed but encryption is not enabled on this hub`);
  const file = sealing.open(path, data);
  const { records } = readRecords(data, PREFIX_BYTES);
  return [{ name, kind: 'records', purpose, data: frame(records.map((r, i) => file.open(r, i))) }];
}

/**
 * A large plain file (history Parquet, WAL) as an open descriptor: a store that replaces the file
 * by rename leaves this descriptor on the state read now, so streaming it later is consistent.
 */
function openLarge(name: string, path: string): SnapshotObject | undefined {
  if (/(^|\/)audit\//.test(name)) return undefined;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const head = Buffer.alloc(Math.min(PREFIX_BYTES, 64));
  const size = fstatSync(fd).size;
  if (size <= STREAM_OVER || (readSync(fd, head, 0, head.length, 0), isSealed(head))) {
    closeSync(fd);
    return undefined;
  }
  return { name, kind: 'file', data: Buffer.alloc(0), fd, size };
}
