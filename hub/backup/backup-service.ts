// Backups of a hub: taken on demand (POST /api/v1/backups, `sfleet backup create`) and on the
// schedule (the leader, fenced), written to every destination, verified, listed and pruned.
//
// A run seals the snapshot once and writes the same objects to each destination, the manifest
// last. A destination that fails (after the SDK's bounded retries) gets what was written of the
// run removed again, and the run is reported failed naming it; without its manifest a
// half-written backup is never listed or restored anyway. Retention prunes by age on each
// destination after a run, manifest first (so a backup being pruned stops existing at once),
// and always keeps the newest complete backup.
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cron } from 'croner';
import { isoNow, type Clock } from '../../shared/clock/index.js';
import { AtRest, type KeyProvider } from '../../shared/crypto/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { NodeAuditFiles, verifyChain, type AuditLog } from '../audit/index.js';
import { periodic, type LeaderContext, type Singleton } from '../leader/index.js';
import type { BackupConfig } from './config.js';
import { openDestination, type Destination } from './destinations.js';
import { BackupFailedError, BackupNotFoundError } from './errors.js';
import { manifestKey, ManifestWriter, newBackupId, objectKey, parseManifest, sealedSize, type Manifest } from './manifest.js';
import { checkAll, completeBackups, hubsOf, openAll, readManifest, writeRestore } from './restore.js';
import { checkPeer, fetchPeerAudits, localAuditPart, type AuditPart, type GroupPartsDeps } from './group-parts.js';
import { releaseSnapshot, takeSnapshot, type SnapshotObject, type SnapshotSources } from './snapshot.js';
import { readEpoch } from './pitr/epoch.js';
import type { ChangeShipper } from './pitr/shipper.js';

export interface BackupDeps extends Omit<SnapshotSources, 'exclude'> {
  hubId: string;
  region: string;
  /** Wraps each backup's data key (the hub's at-rest provider, or backup.encryption's own). */
  provider: KeyProvider;
  /** Paths never backed up (the keyring). */
  exclude?: string[];
  audit: Pick<AuditLog, 'record'>;
  logger: Logger;
  clock: Clock;
  env?: NodeJS.ProcessEnv;
  /** The HMAC key of a keyed audit chain, for verify --deep. */
  auditKey?: Buffer;
  /** A hub group: its members, asked for their audit chains (group-parts.ts). */
  group?: GroupPartsDeps;
}

export interface DestinationOutcome {
  destination: string;
  ok: boolean;
  error?: string;
}

export interface BackupRun {
  id: string;
  created_at: string;
  objects: number;
  bytes: number;
  destinations: DestinationOutcome[];
}

export interface BackupListing {
  destination: string;
  id: string;
  created_at: string;
  hub_id: string;
  objects: number;
  bytes: number;
}

export interface VerifyOutcome {
  destination: string;
  id: string;
  ok: boolean;
  objects: number;
  error?: string;
  /** verify --deep: the audit chain of the restored copy. */
  audit_chain?: { ok: boolean; records: number; reason?: string };
}

export class BackupService {
  readonly destinations: Destination[];
  /** Ships the change log between backups (hub/backup/pitr); a completed backup lets the log be cut. */
  shipper?: ChangeShipper;

  constructor(
    private readonly deps: BackupDeps,
    private readonly config: BackupConfig,
  ) {
    this.destinations = config.destinations.map((d) => openDestination(d, deps.env, deps.logger));
  }

  /** Takes a backup now and writes it to every destination; throws BackupFailedError when one fails. */
  async create(): Promise<BackupRun> {
    const now = this.deps.clock.now();
    const id = newBackupId(now);
    const created_at = new Date(now).toISOString();
    const exclude = [...(this.deps.exclude ?? []), ...this.config.destinations.flatMap((d) => (d.type === 'local' ? [d.path] : []))];
    const group = this.deps.group;
    const objects = await takeSnapshot({ ...this.deps, exclude, ...(group ? { peerAudits: () => fetchPeerAudits(group) } : {}) });
    // One object sealed at a time, written to every destination still going, then let go: the
    // sealed copy of the whole backup is never held (the snapshot's plaintext still is).
    const errors = new Map<Destination, string>();
    let bytes = 0;
    let writer: ManifestWriter | undefined;
    try {
      writer = await ManifestWriter.start(id, this.deps.provider);
      for (const [i, o] of objects.entries()) {
        if (o.fd !== undefined) {
          bytes += await this.stream(writer, objectKey(id, i), o, errors);
          continue;
        }
        const sealed = writer.add(o.name, o.kind, o.data, o.purpose);
        o.data = Buffer.alloc(0);
        bytes += sealed.length;
        await Promise.all(this.destinations.filter((d) => !errors.has(d)).map((d) => d.put(objectKey(id, i), sealed).catch((err: Error) => void errors.set(d, err.message))));
      }
    } catch (err) {
      // Not a destination's fault (a file that cannot be read, the key provider): the run fails on
      // every destination still going, and what was written goes through outcome()'s cleanup.
      for (const d of this.destinations) if (!errors.has(d)) errors.set(d, `backup ${id}: ${(err as Error).message}`);
    } finally {
      releaseSnapshot(objects);
    }
    if (writer && errors.size < this.destinations.length) {
      // The restore epoch of this data directory: a point-in-time restore from this backup follows its chain.
      const epoch = readEpoch(this.deps.dataDir).id;
      const manifest = writer.finish({ created_at, hub_id: this.deps.hubId, region: this.deps.region, ...(epoch ? { epoch } : {}) });
      const body = Buffer.from(JSON.stringify(manifest, null, 1));
      // The manifest last, and only where every object arrived: it is what makes the backup exist.
      await Promise.all(this.destinations.filter((d) => !errors.has(d)).map((d) => d.put(manifestKey(id), body).catch((err: Error) => void errors.set(d, err.message))));
    }
    const destinations = await Promise.all(this.destinations.map((d) => this.outcome(d, id, errors.get(d))));
    const run: BackupRun = { id, created_at, objects: objects.length, bytes, destinations };
    const failed = destinations.filter((d) => !d.ok);
    this.deps.logger[failed.length ? 'error' : 'info']({ id, objects: run.objects, bytes: run.bytes, failed: failed.map((f) => f.error) }, failed.length ? 'backup failed' : 'backup written');
    if (failed.length) throw new BackupFailedError(`backup ${id} failed on ${failed.length} of ${destinations.length} destination(s): ${failed.map((f) => f.error).join('; ')}`);
    this.shipper?.backupCompleted(now);
    await this.prune();
    await this.shipper?.prune();
    return run;
  }

  /** A large file streamed from its descriptor: sealed chunk by chunk, each chunk to every destination still going. */
  private async stream(writer: ManifestWriter, key: string, o: SnapshotObject, errors: Map<Destination, string>): Promise<number> {
    const writers = new Map(this.destinations.filter((d) => !errors.has(d)).map((d) => [d, d.openWrite(key, sealedSize(o.size!))] as const));
    const fail = (d: Destination, err: Error): void => {
      errors.set(d, err.message);
      void writers.get(d)!.abort();
      writers.delete(d);
    };
    const chunks = createReadStream('', { fd: o.fd!, start: 0, end: Math.max(0, o.size! - 1), autoClose: false, highWaterMark: 1024 * 1024 });
    let stored: number;
    try {
      stored = await writer.addStream(o.name, o.kind, o.size ? chunks : emptyChunks(), async (chunk) => {
        await Promise.all([...writers].map(([d, w]) => w.write(chunk).catch((err: Error) => fail(d, err))));
      });
    } catch (err) {
      // The file could not be read to its end: no writer may stay open (a .partial file, a
      // multipart upload the bucket keeps and bills).
      await Promise.all([...writers.values()].map((w) => w.abort().catch(() => undefined)));
      throw err;
    }
    await Promise.all([...writers].map(([d, w]) => w.close().catch((err: Error) => fail(d, err))));
    return stored;
  }

  private async outcome(dest: Destination, id: string, error: string | undefined): Promise<DestinationOutcome> {
    if (error === undefined) return { destination: dest.name, ok: true };
    // Nothing half-written stays: without its manifest it would not count, but it takes space.
    try {
      await dest.remove(await dest.list(`${id}/`));
    } catch {
      // Unreachable: a later prune removes it (incomplete runs older than a day).
    }
    return { destination: dest.name, ok: false, error };
  }

  /** This hub's audit chain, for the group backup another member takes (the caller checked: a member's hub certificate). */
  async auditPart(caller: { role: string; name: string } | undefined): Promise<AuditPart> {
    await checkPeer(caller, this.deps.group?.members);
    return localAuditPart(this.deps.hubId, this.deps.auditDir ?? join(this.deps.dataDir, 'audit'), this.deps.atRest);
  }

  /** The complete backups of every destination (manifests only: no key needed). */
  async list(): Promise<{ items: BackupListing[]; errors: { destination: string; error: string }[] }> {
    const items: BackupListing[] = [];
    const errors: { destination: string; error: string }[] = [];
    for (const dest of this.destinations) {
      try {
        for (const id of await completeBackups(dest)) {
          const text = await dest.get(manifestKey(id));
          if (!text) continue;
          try {
            const m = parseManifest(text.toString('utf8'), `${dest.name}: backup ${id}`);
            items.push({ destination: dest.name, id, created_at: m.created_at, hub_id: m.hub_id, objects: m.objects.length, bytes: m.objects.reduce((n, o) => n + o.stored_size, 0) });
          } catch (err) {
            errors.push({ destination: dest.name, error: (err as Error).message });
          }
        }
      } catch (err) {
        errors.push({ destination: dest.name, error: (err as Error).message });
      }
    }
    return { items, errors };
  }

  /** Decrypts every object and checks every checksum; deep: restores into a scratch directory and verifies the audit chain. */
  async verify(id: string | undefined, opts: { deep?: boolean; destination?: string } = {}): Promise<VerifyOutcome[]> {
    const dests = opts.destination ? this.destinations.filter((d) => d.name === opts.destination) : this.destinations;
    if (!dests.length) throw new BackupNotFoundError(`no destination "${opts.destination}" (configured: ${this.destinations.map((d) => d.name).join(', ')})`);
    const out: VerifyOutcome[] = [];
    for (const dest of dests) out.push(await verifyIn(dest, id, this.deps.provider, { deep: opts.deep, auditKey: this.deps.auditKey }));
    return out;
  }

  /** Removes backups older than the retention (never the newest complete one) and stale incomplete runs. */
  async prune(): Promise<number> {
    const now = this.deps.clock.now();
    let removed = 0;
    for (const dest of this.destinations) {
      try {
        const keys = await dest.list('');
        const complete = await completeBackups(dest);
        const byId = new Map<string, string[]>();
        for (const k of keys) byId.set(k.split('/')[0], [...(byId.get(k.split('/')[0]) ?? []), k]);
        for (const [id, idKeys] of byId) {
          const at = idTime(id);
          if (at === undefined || id === complete.at(-1)) continue;
          const isComplete = complete.includes(id);
          if ((isComplete && now - at > this.config.retention * 86_400_000) || (!isComplete && now - at > 86_400_000)) {
            await dest.remove([manifestKey(id)].filter((k) => idKeys.includes(k)));
            await dest.remove(idKeys.filter((k) => k !== manifestKey(id)));
            removed++;
          }
        }
      } catch (err) {
        this.deps.logger.warn({ destination: dest.name, err: (err as Error).message }, 'backup retention: could not prune');
      }
    }
    return removed;
  }

  /** The leader's schedule (backup.schedule); undefined when only on demand. */
  singleton(checkMs = 30_000): Singleton | undefined {
    if (!this.config.schedule) return undefined;
    return periodic('backup-schedule', checkMs, async (ctx) => void (await this.tick(ctx)));
  }

  /**
   * One look at the schedule: runs the firing due since the last run, once (croner finds the
   * firings in the time zone: a time skipped by DST fires at the next valid minute, a repeated
   * hour once). The last firing handled is kept through the leader context (etcd in a group), so
   * a new leader runs a firing the old one missed if it is within catch_up, and none twice.
   */
  async tick(ctx: LeaderContext): Promise<'started' | 'not-due' | 'ran' | 'failed' | 'missed'> {
    const cron = new Cron(this.config.schedule!, { timezone: this.config.timezone, paused: true });
    const now = this.deps.clock.now();
    const last = await ctx.get('backup-schedule');
    const lastAt = last ? Date.parse(last) : NaN;
    if (!Number.isFinite(lastAt)) {
      await ctx.put('backup-schedule', isoNow(this.deps.clock));
      return 'started';
    }
    let due = cron.nextRun(new Date(lastAt))?.getTime();
    if (due === undefined || due > now) return 'not-due';
    // Only the newest firing due runs (several missed ones are one backup).
    for (let n = cron.nextRun(new Date(due))?.getTime(); n !== undefined && n <= now; n = cron.nextRun(new Date(n))?.getTime()) due = n;
    ctx.assertLeading();
    await ctx.put('backup-schedule', new Date(due).toISOString());
    if (now - due > this.config.catch_up) {
      this.deps.logger.warn({ due: new Date(due).toISOString(), catch_up_ms: this.config.catch_up }, 'scheduled backup missed (no leader within catch_up); the next firing runs');
      await this.deps.audit.record({ action: 'backup:create', resource: 'backup schedule', outcome: 'failed', reason: `the run due at ${new Date(due).toISOString()} was missed (no leader within catch_up)`, transport: 'internal', user: null, required: true });
      return 'missed';
    }
    try {
      const run = await this.create();
      await this.deps.audit.record({ action: 'backup:create', resource: `backup ${run.id}`, outcome: 'success', transport: 'internal', user: null, required: true });
      return 'ran';
    } catch (err) {
      await this.deps.audit.record({ action: 'backup:create', resource: 'backup schedule', outcome: 'failed', reason: (err as Error).message, transport: 'internal', user: null, required: true });
      return 'failed';
    }
  }
}

function idTime(id: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(id);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : undefined;
}

/** The chunks of an empty file. */
async function* emptyChunks(): AsyncIterable<Buffer> {}

/** verify of one backup in one destination (also used by the offline CLI). */
export async function verifyIn(dest: Destination, id: string | undefined, provider: KeyProvider, opts: { deep?: boolean; auditKey?: Buffer } = {}): Promise<VerifyOutcome> {
  let manifest: Manifest;
  try {
    manifest = await readManifest(dest, id);
  } catch (err) {
    return { destination: dest.name, id: id ?? 'latest', ok: false, objects: 0, error: (err as Error).message };
  }
  try {
    // Each object streamed through the checks (decrypted into hashes), never whole in memory.
    if (!opts.deep) return { destination: dest.name, id: manifest.id, ok: true, objects: await checkAll(dest, manifest, provider) };
    const scratch = mkdtempSync(join(tmpdir(), 'sfleet-verify-'));
    try {
      const objects = await openAll(dest, manifest, provider, { spill: join(scratch, 'fetched') });
      // Sealed stores are opened by openAll already; the scratch copy needs no key of its own.
      // Every hub's chain of a group backup is restored and verified on its own.
      const plain = objects.filter((o) => o.kind !== 'records');
      let records = 0;
      for (const hub of hubsOf(manifest)) {
        const dataDir = join(scratch, hub, 'data');
        writeRestore(plain, manifest, { dataDir, atRest: AtRest.plaintext(), hubId: hub });
        const chain = verifyChain(new NodeAuditFiles(join(dataDir, 'audit')), opts.auditKey ? { key: opts.auditKey } : {});
        records += chain.records;
        if (!chain.ok) {
          const reason = `hub ${hub}: ${chain.file ?? ''}${chain.line ? ` line ${chain.line}` : ''}: ${chain.reason}`;
          return { destination: dest.name, id: manifest.id, ok: false, objects: objects.length, audit_chain: { ok: false, records, reason }, error: `the audit chain of the restored copy is broken: ${reason}` };
        }
      }
      return { destination: dest.name, id: manifest.id, ok: true, objects: objects.length, audit_chain: { ok: true, records } };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  } catch (err) {
    return { destination: dest.name, id: manifest.id, ok: false, objects: 0, error: (err as Error).message };
  }
}
