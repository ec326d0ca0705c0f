// Restoring a backup into a hub's data directory (offline: `sfleet backup restore`). Every object
// is streamed from the destination, decrypted and checked against the manifest first: a large
// plain file (history Parquet, logs) into a file of its own beside the target, renamed there only
// once its tag and checksums pass; the rest in memory. Only when all of them pass is anything
// written, into a staging directory beside the target that is renamed into place at the end. A
// corrupt, truncated or wrongly keyed backup, or a destination lost mid-way, changes nothing.
// Sealed stores are sealed again under the restoring hub's own key (a new keyring is created
// for a fresh hub), so the old keyring is not needed: the backup key is.
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { AtRest, KeyProvider } from '../../shared/crypto/index.js';
import { BadRequestError } from '../../shared/errors/index.js';
import { frame, readRecords, writeAtomically } from '../../shared/record-log/index.js';
import type { Destination } from './destinations.js';
import { BackupCorruptError, BackupNotFoundError, RestoreRefusedError } from './errors.js';
import { writeEpoch, type RestorePlan } from './pitr/epoch.js';
import { isBackupId, manifestKey, ManifestReader, objectKey, parseManifest, type Manifest, type StoredObject } from './manifest.js';

export interface OpenedObject {
  name: string;
  kind: Manifest['objects'][number]['kind'];
  purpose?: string;
  /** The content; empty when it is in `path`. */
  data: Buffer;
  /** A large plain file, checked, in a file of openAll's `spill` directory (writeRestore moves it). */
  path?: string;
}

/** Plain files larger than this are streamed to disk by a restore, never held in memory. */
export const SPILL_OVER = 1024 * 1024;

/** The ids of the complete backups (those with a manifest) in a destination, oldest first. */
export async function completeBackups(dest: Destination): Promise<string[]> {
  const keys = await dest.list('');
  return keys.filter((k) => /^[^/]+\/manifest\.json$/.test(k)).map((k) => k.split('/')[0]).filter(isBackupId).sort();
}

export async function readManifest(dest: Destination, id: string | undefined): Promise<Manifest> {
  const ids = await completeBackups(dest);
  const chosen = id === undefined || id === 'latest' ? ids.at(-1) : id;
  if (!chosen) throw new BackupNotFoundError(`${dest.name}: no complete backup`);
  if (!isBackupId(chosen)) throw new BackupNotFoundError(`"${chosen}" is not a backup id (e.g. 20261206T194200Z-3f9a1c)`);
  const text = await dest.get(manifestKey(chosen));
  if (!text) throw new BackupNotFoundError(`${dest.name}: no complete backup ${chosen}${ids.length ? ` (newest: ${ids.at(-1)})` : ''}`);
  return parseManifest(text.toString('utf8'), `${dest.name}: backup ${chosen}`);
}

/**
 * Point in time: the newest complete backup taken at or before `at` (ms). Its id names the
 * second it was taken, its manifest the millisecond; the manifest decides.
 */
export async function readManifestAt(dest: Destination, at: number, epoch?: { hubId: string; epoch: string }): Promise<Manifest> {
  const ids = await completeBackups(dest);
  let best: Manifest | undefined;
  for (const id of [...ids].reverse()) {
    const second = idTime(id);
    if (second > at) continue;
    // Ids sort by second only (then a random suffix): the rest of that second is still a candidate.
    if (best && second < idTime(best.id)) break;
    const m = await readManifest(dest, id);
    // Only the backups of one restore epoch of one hub (pitr/epoch.ts), when asked.
    if (epoch && (m.hub_id !== epoch.hubId || (m.epoch ?? '') !== epoch.epoch)) continue;
    const created = Date.parse(m.created_at);
    if (created <= at && (!best || created > Date.parse(best.created_at))) best = m;
  }
  if (best) return best;
  throw new BackupNotFoundError(`${dest.name}: no complete backup at or before ${new Date(at).toISOString()}${ids.length ? ` (the oldest is from ${new Date(idTime(ids[0])).toISOString()})` : ''}`);
}

/** A restore's --at: an ISO-8601 time with a zone (a point in time, not a duration). */
export function parseRestoreTime(text: string): number {
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(at)) throw new BadRequestError(`--at: "${text.slice(0, 64)}" is not an ISO-8601 time with a zone, e.g. 2026-11-20T14:00:00Z`);
  return at;
}

function idTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(id)!;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

/**
 * Fetches, decrypts and checks every object, streaming each. Throws on the first that fails.
 * With `spill` (a directory of the caller's own, beside the target: created, and removed on a
 * failure), a plain file over SPILL_OVER is written there (to a temp name, renamed once checked)
 * instead of being held in memory.
 */
export async function openAll(dest: Destination, manifest: Manifest, provider: KeyProvider, opts: { spill?: string } = {}): Promise<OpenedObject[]> {
  const reader = await ManifestReader.open(manifest, provider);
  const out: OpenedObject[] = [];
  try {
    for (const [i, o] of manifest.objects.entries()) {
      const meta = { name: o.name, kind: o.kind, ...(o.purpose ? { purpose: o.purpose } : {}) };
      const stored = await dest.read(objectKey(manifest.id, i));
      if (opts.spill && o.kind === 'file' && o.size > SPILL_OVER) {
        out.push({ ...meta, data: EMPTY, path: await spillObject(reader, i, stored, opts.spill) });
        continue;
      }
      const chunks: Buffer[] = [];
      await reader.openStream(i, stored, (plain) => void chunks.push(plain));
      out.push({ ...meta, data: Buffer.concat(chunks) });
    }
  } catch (err) {
    if (opts.spill) rmSync(opts.spill, { recursive: true, force: true });
    throw err;
  }
  return out;
}

/** Checks every object (verify): each streamed through the checks, nothing kept. Answers how many. */
export async function checkAll(dest: Destination, manifest: Manifest, provider: KeyProvider): Promise<number> {
  const reader = await ManifestReader.open(manifest, provider);
  for (const i of manifest.objects.keys()) await reader.openStream(i, await dest.read(objectKey(manifest.id, i)), () => undefined);
  return manifest.objects.length;
}

const EMPTY = Buffer.alloc(0);

/** One object streamed into `<dir>/<index>.partial`, renamed to `<dir>/<index>` once its tag and checksums pass. */
async function spillObject(reader: ManifestReader, index: number, stored: StoredObject | undefined, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, String(index));
  const tmp = `${path}.partial`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    await reader.openStream(index, stored, (plain) => void writeSync(fd, plain));
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  return path;
}

/** Moves a spilled file into place (copies when the stage is on another filesystem: an external audit dir). */
function moveInto(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFileSync(from, to);
    rmSync(from, { force: true });
  }
}

export interface RestoreTarget {
  dataDir: string;
  /** The audit directory (default <data_dir>/audit). */
  auditDir?: string;
  /** Seals the sealed stores again (the restoring hub's encryption at rest). */
  atRest: AtRest;
  /** Paths kept as they are in the data directory (the keyring of a fresh hub). */
  keep?: string[];
  force?: boolean;
  /**
   * The restoring hub's hub_id (a group backup): the backing-up hub gets the data directory, its
   * chain and config; another hub of the group only its own chain (hubs/<hub_id>/audit/...).
   * Undefined: the backing-up hub.
   */
  hubId?: string;
  /** What the restore replayed on the backup (pitr/epoch.ts); default: the backup alone. */
  plan?: RestorePlan;
  /** The time of the restore (ms; default now): the restored directory's shipped chain starts here. */
  now?: number;
}

/** The hubs whose audit chains a backup holds: the one that took it, then the others of its group. */
export function hubsOf(manifest: Manifest): string[] {
  const others = new Set(manifest.objects.filter((o) => o.name.startsWith('hubs/')).map((o) => o.name.split('/')[1]));
  return [manifest.hub_id, ...[...others].filter((h) => h !== manifest.hub_id).sort()];
}

/** True when `dir` holds files (anything but `keep`). */
export function inUse(dir: string, keep: string[] = []): boolean {
  if (!existsSync(dir)) return false;
  const kept = new Set(keep.map((k) => resolve(k)));
  return readdirSync(dir).some((name) => !kept.has(resolve(dir, name)));
}

/**
 * Writes the opened objects into the target. Refuses a data directory that holds a hub's files
 * unless forced; forced, the previous content is moved aside (`<dir>.before-restore-<id>`), never deleted.
 */
export function writeRestore(objects: OpenedObject[], manifest: Manifest, target: RestoreTarget): { files: number; aside?: string } {
  const dataDir = resolve(target.dataDir);
  const auditDir = resolve(target.auditDir ?? join(dataDir, 'audit'));
  const keep = (target.keep ?? []).map((k) => resolve(k));
  if (!target.force && inUse(dataDir, keep)) throw new RestoreRefusedError(`${dataDir} holds a hub's data: restore into an empty directory, or pass --force (the current content is moved aside, not deleted)`);
  const externalAudit = !auditDir.startsWith(dataDir + sep);
  if (!target.force && externalAudit && inUse(auditDir)) throw new RestoreRefusedError(`${auditDir} holds audit files: pass --force to move them aside`);
  if (!target.atRest.enabled && objects.some((o) => o.kind === 'records')) {
    throw new RestoreRefusedError('the backup holds stores that were encrypted at rest: enable encryption (any key provider) in the restoring hub\'s config, so they are sealed again');
  }

  const own = target.hubId === undefined || target.hubId === manifest.hub_id;
  if (!own && !hubsOf(manifest).includes(target.hubId!)) throw new RestoreRefusedError(`backup ${manifest.id} holds no audit chain of hub ${target.hubId}: it holds the chains of ${hubsOf(manifest).join(', ')}`);

  const stage = `${dataDir}.restore-${manifest.id}`;
  const auditStage = externalAudit ? `${auditDir}.restore-${manifest.id}` : undefined;
  rmSync(stage, { recursive: true, force: true });
  if (auditStage) rmSync(auditStage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true, mode: 0o700 });
  let files = 0;
  try {
    for (const o of objects) {
      const path = placeOf(o.name, stage, auditStage ?? join(stage, relativeAudit(dataDir, auditDir)), own, target.hubId ?? manifest.hub_id);
      if (!path) continue;
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      if (o.path) moveInto(o.path, path);
      else if (o.kind === 'config') writeFileSync(path, o.data, { mode: 0o600 });
      else if (o.kind === 'file') writeAtomically(path, o.data);
      else {
        const { records, end } = readRecords(o.data, 0);
        if (end !== o.data.length) throw new BackupCorruptError(`backup ${manifest.id}: object ${o.name} holds a torn record`);
        const file = target.atRest.sealing(o.purpose!)!.create(path);
        writeAtomically(path, Buffer.concat([file.prefix, frame(records.map((r, i) => file.seal(r, i)))]));
      }
      files++;
    }
    // A new restore epoch: the restored hub ships a chain of its own, which a later restore --at
    // follows from this plan (the hub that took the backup; another hub of the group has none).
    writeEpoch(stage, auditStage ?? join(stage, relativeAudit(dataDir, auditDir)), target.now ?? Date.now(), own ? (target.plan ?? { backup: manifest.id, steps: [] }) : undefined);
  } catch (err) {
    // Nothing half-restored stays behind: the target is untouched until the renames below.
    rmSync(stage, { recursive: true, force: true });
    if (auditStage) rmSync(auditStage, { recursive: true, force: true });
    throw err;
  }
  // The keyring (and anything else kept) of the target comes along into the restored directory.
  for (const k of keep) if (existsSync(k) && dirname(k) === dataDir) renameSync(k, join(stage, basename(k)));
  let aside: string | undefined;
  if (existsSync(dataDir)) {
    if (inUse(dataDir)) {
      aside = `${dataDir}.before-restore-${manifest.id}`;
      renameSync(dataDir, aside);
    } else rmSync(dataDir, { recursive: true, force: true });
  }
  renameSync(stage, dataDir);
  if (auditStage) {
    if (existsSync(auditDir)) renameSync(auditDir, `${auditDir}.before-restore-${manifest.id}`);
    renameSync(auditStage, auditDir);
  }
  return { files, ...(aside ? { aside } : {}) };
}

function relativeAudit(dataDir: string, auditDir: string): string {
  return auditDir.startsWith(dataDir + sep) ? auditDir.slice(dataDir.length + 1) : 'audit';
}

function placeOf(name: string, dataRoot: string, auditRoot: string, own: boolean, hubId: string): string | undefined {
  const [top, ...rest] = name.split('/');
  if (rest.length === 0 || rest.some((p) => p === '' || p === '.' || p === '..')) throw new BackupCorruptError(`object name "${name}" is not a path inside the data directory`);
  if (top === 'hubs') {
    // Another hub's chain: hubs/<hub_id>/audit/<path>, restored only into that hub.
    const [hub, part, ...path] = rest;
    if (part !== 'audit' || path.length === 0) throw new BackupCorruptError(`object name "${name}" is not hubs/<hub_id>/audit/<path>`);
    return hub === hubId && !own ? join(auditRoot, ...path) : undefined;
  }
  if (!own) return undefined;
  if (top === 'data') return join(dataRoot, ...rest);
  if (top === 'audit') return join(auditRoot, ...rest);
  if (top === 'config') return join(dataRoot, 'restored', ...rest);
  return undefined;
}
