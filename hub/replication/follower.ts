// The other side: every hub reads the region's stream and applies, in stream order, what
// other hubs ingested (its own entries it applied already). A restarted hub resumes after
// the last entry it applied (kept in <data_dir>/replication.json); a new one, or one whose
// place was trimmed away, bootstraps from the snapshots plus the stream's tail. A gap in a
// cluster's seq asks the ingesting hub for a snapshot and marks the cluster stale until then.
// Who streams each cluster and how far behind this hub is: presence.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { decodeDelta, type Delta } from '../../shared/delta/index.js';
import type { Clock } from '../../shared/clock/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { writeAtomically } from '../../shared/record-log/index.js';
import type { FleetState } from '../fleet/index.js';
import { sleep } from '../leader/index.js';
import type { FleetStore } from '../store/index.js';
import { snapshotBind, streamBind, type ReplicationSealer } from './entry-sealer.js';
import { compareIds, type ReplicationKeys } from './keys.js';
import type { StreamProgress } from './presence.js';

export interface FollowerDeps {
  /** A connection of its own: XREAD BLOCK holds it. */
  reader: Redis;
  /** For everything else. */
  redis: Redis;
  keys: ReplicationKeys;
  hubId: string;
  state: FleetState;
  store?: FleetStore;
  logger: Logger;
  dataDir: string;
  ingesting: () => ReadonlySet<string>;
  /** Called after each delta applied from the stream. */
  onApplied?: (delta: Delta) => void;
  clock: Clock;
  /** Opens sealed entries (field k); entries without k are read as is. */
  sealer?: ReplicationSealer;
}

interface SavedPosition {
  stream: string;
  position: string;
  cuts: Record<string, string>;
}

const BATCH = 500;
const BLOCK_MS = 1_000;

export class ReplicationFollower implements StreamProgress {
  readonly stats = { applied: 0, duplicates: 0, gaps: 0, bootstraps: 0, snapshots: 0, ownEntries: 0 };
  /** Last stream entry applied (or skipped). */
  position = '0-0';
  /** Per cluster: entries up to this id are inside the snapshot it was bootstrapped from. */
  private cuts = new Map<string, string>();
  /** Clusters with a hole, since when. */
  readonly gaps = new Map<string, number>();
  lastReadAt = 0;
  lastError: string | null = 'not connected yet';
  /** Until the stream's end as of (re)connecting has been applied. */
  catchingUpTo: string | null = null;
  private needBootstrap: boolean;
  private savedPosition = '';
  private closed = false;
  private loopDone?: Promise<void>;
  private readonly positionFile: string;
  private readonly resyncAsked = new Map<string, number>();
  private readonly firstRead: Promise<void>;
  private resolveFirstRead!: () => void;
  private everCaughtUp = false;

  constructor(private readonly deps: FollowerDeps) {
    this.positionFile = join(deps.dataDir, 'replication.json');
    this.needBootstrap = !this.loadPosition();
    this.firstRead = new Promise((resolve) => (this.resolveFirstRead = resolve));
    void this.firstRead.then(() => (this.everCaughtUp = true));
  }

  private now(): number {
    return this.deps.clock.now();
  }

  private get log(): Logger {
    return this.deps.logger;
  }

  start(): void {
    this.loopDone ??= this.loop();
  }

  /** Resolves once caught up with the stream (or at the timeout, whichever is first). */
  async caughtUp(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const done = this.firstRead.then(() => true as const);
    const result = await Promise.race([done, timeout]);
    clearTimeout(timer);
    return result;
  }

  /** True once this hub has read the stream up to where it stood when the hub (re)connected. */
  get caughtUpOnce(): boolean {
    return this.everCaughtUp;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deps.reader.disconnect();
    await this.loopDone;
    this.savePosition(true);
  }

  private loadPosition(): boolean {
    if (!existsSync(this.positionFile)) return false;
    try {
      const saved = JSON.parse(readFileSync(this.positionFile, 'utf8')) as SavedPosition;
      if (saved.stream !== this.deps.keys.stream || !/^\d+-\d+$/.test(saved.position)) return false;
      this.position = saved.position;
      this.savedPosition = saved.position;
      this.cuts = new Map(Object.entries(saved.cuts ?? {}));
      return true;
    } catch {
      return false;
    }
  }

  private savePosition(force = false): void {
    if (!force && this.position === this.savedPosition) return;
    const saved: SavedPosition = { stream: this.deps.keys.stream, position: this.position, cuts: Object.fromEntries(this.cuts) };
    try {
      writeAtomically(this.positionFile, Buffer.from(JSON.stringify(saved)));
      this.savedPosition = this.position;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'replication: could not save the stream position');
    }
  }

  private async loop(): Promise<void> {
    let lastSave = 0;
    let lastCheck = 0;
    while (!this.closed) {
      try {
        if (this.lastError !== null || this.now() - lastCheck > 5_000) {
          // After (re)connecting, and every few seconds: was our place trimmed away meanwhile?
          await this.checkPlace();
          lastCheck = this.now();
        }
        if (this.needBootstrap) await this.bootstrap();
        await this.readerReady();
        const res = (await this.deps.reader.xreadBuffer('COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.deps.keys.stream, this.position)) as
          | [Buffer, [Buffer, Buffer[]][]][]
          | null;
        if (this.lastError !== null) this.log.info({ position: this.position }, 'replication: reading the stream');
        this.lastError = null;
        this.lastReadAt = this.now();
        const entries = res?.[0]?.[1] ?? [];
        await this.loadKeys(entries);
        for (const [id, fields] of entries) this.handle(id.toString(), fields);
        if (this.catchingUpTo !== null && (entries.length < BATCH || compareIds(this.position, this.catchingUpTo) >= 0)) {
          this.catchingUpTo = null;
          this.resolveFirstRead();
        }
        if (this.now() - lastSave > 1_000) {
          this.savePosition();
          lastSave = this.now();
        }
      } catch (err) {
        if (this.closed) break;
        const message = (err as Error).message;
        if (this.lastError === null) this.log.warn({ err: message }, 'replication: the stream cannot be read; data of other hubs goes stale');
        this.lastError = message;
        await sleep(250);
      }
    }
  }

  /** The data keys the batch's sealed entries name, before the batch is applied in order. */
  private async loadKeys(entries: [Buffer, Buffer[]][]): Promise<void> {
    const ids: string[] = [];
    for (const [, fields] of entries) {
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i].length === 1 && fields[i].toString() === 'k') ids.push(fields[i + 1].toString());
    }
    if (ids.length > 0 && this.deps.sealer) await this.deps.sealer.load(ids);
  }

  /** An entry's or snapshot's protobuf: opened when sealed (k set), else as stored. */
  private payload(bind: string, data: Buffer, keyId: Buffer | null | undefined): Buffer {
    if (!keyId) return data;
    if (!this.deps.sealer) throw new Error('the entry is sealed and this hub cannot open it');
    return this.deps.sealer.open(bind, { k: keyId.toString(), d: data });
  }

  /** Waits (a little) for the reading connection rather than failing while it connects. */
  private async readerReady(): Promise<void> {
    const reader = this.deps.reader;
    if (reader.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 1_000);
      reader.once('ready', done);
      function done(): void {
        clearTimeout(timer);
        reader.off('ready', done);
        resolve();
      }
    });
    const status: string = reader.status;
    if (status !== 'ready') throw new Error(`Redis connection ${status}`);
  }

  private async checkPlace(): Promise<void> {
    const [trimmed, last] = await Promise.all([this.deps.redis.get(this.deps.keys.trimmed), this.lastEntryId()]);
    if (trimmed && this.position !== '0-0' && compareIds(trimmed, this.position) > 0) {
      this.log.warn({ position: this.position, trimmed }, 'replication: our place in the stream was trimmed away; bootstrapping from snapshots');
      this.needBootstrap = true;
    }
    if (last && compareIds(last, this.position) > 0) this.catchingUpTo ??= last;
    else if (this.catchingUpTo === null && !this.needBootstrap) this.resolveFirstRead();
  }

  private async lastEntryId(): Promise<string | null> {
    const last = await this.deps.redis.xrevrange(this.deps.keys.stream, '+', '-', 'COUNT', 1);
    return last[0]?.[0] ?? null;
  }

  /** The snapshots, then the whole stream from its start, skipping what each snapshot holds. */
  private async bootstrap(): Promise<void> {
    const { redis, keys, state, store } = this.deps;
    const clusters = await redis.smembers(keys.clusters);
    const cuts = new Map<string, string>();
    let applied = 0;
    for (const cluster of clusters) {
      const [data, id, k] = await redis.hmgetBuffer(keys.snapshot(cluster), 'd', 'id', 'k');
      if (!data || !id) continue;
      if (k) await this.deps.sealer?.load([k.toString()]);
      let snapshot: Delta;
      try {
        snapshot = decodeDelta(this.payload(snapshotBind(keys.snapshot(cluster)), data, k));
      } catch (err) {
        // The stream tail or a fresh snapshot from its ingesting hub fills it in.
        this.log.error({ cluster, err: (err as Error).message }, 'replication: cannot read the cluster snapshot; asking for a new one');
        this.gaps.set(cluster, this.now());
        this.askResync(cluster);
        continue;
      }
      cuts.set(cluster, id.toString());
      if (this.deps.ingesting().has(cluster)) continue; // ours is newer
      const record = state.clusters.get(cluster);
      if (record && (record.epoch > snapshot.epoch || (record.epoch === snapshot.epoch && record.seq >= snapshot.seq))) continue;
      store?.append(snapshot);
      state.apply(snapshot);
      this.deps.onApplied?.(snapshot);
      this.gaps.delete(cluster);
      applied++;
    }
    this.cuts = cuts;
    this.position = '0-0';
    this.needBootstrap = false;
    this.stats.bootstraps++;
    const last = await this.lastEntryId();
    this.catchingUpTo = last;
    if (!last) this.resolveFirstRead();
    this.log.info({ snapshots: clusters.length, applied, tail_to: last }, 'replication: bootstrapped from snapshots; reading the stream tail');
    this.savePosition(true);
  }

  private handle(id: string, fields: Buffer[]): void {
    this.position = id;
    const f: Record<string, Buffer> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i].toString()] = fields[i + 1];
    const hub = f.h?.toString();
    const cluster = f.c?.toString();
    if (!cluster || !f.d) return;
    if (hub === this.deps.hubId) {
      this.stats.ownEntries++;
      return;
    }
    const cut = this.cuts.get(cluster);
    if (cut !== undefined && compareIds(id, cut) <= 0) return;
    let delta: Delta;
    try {
      delta = decodeDelta(this.payload(streamBind(this.deps.keys.stream, f.t?.toString() ?? '', cluster), f.d, f.k));
    } catch (err) {
      this.log.error({ id, cluster, err: (err as Error).message }, 'replication: undecodable stream entry; asking for a snapshot');
      this.markGap(cluster);
      return;
    }
    // Agents make epochs from the clock: an older epoch is history this hub is past.
    const have = this.deps.state.clusters.get(cluster);
    const fit = have && delta.epoch < have.epoch ? 'duplicate' : this.deps.state.fit(delta);
    if (fit === 'duplicate') {
      this.stats.duplicates++;
      return;
    }
    if (fit === 'gap') {
      this.markGap(cluster);
      return;
    }
    this.deps.store?.append(delta);
    this.deps.state.apply(delta);
    const record = this.deps.state.cluster(cluster);
    this.deps.store?.maybeCheckpoint(record);
    this.stats.applied++;
    if (delta.snapshot) {
      this.stats.snapshots++;
      if (this.gaps.delete(cluster)) this.log.info({ cluster, epoch: delta.epoch, seq: delta.seq }, 'replication: gap closed by a snapshot');
    }
    this.deps.onApplied?.(delta);
  }

  private markGap(cluster: string): void {
    this.stats.gaps++;
    if (!this.gaps.has(cluster)) {
      const record = this.deps.state.clusters.get(cluster);
      this.log.warn({ cluster, have: record ? [record.epoch, record.seq] : null }, 'replication: gap in the stream; the cluster is stale until a snapshot arrives');
      this.gaps.set(cluster, this.now());
    }
    this.askResync(cluster);
  }

  /** Asks whichever hub ingests the cluster to publish a snapshot (at most once a second). */
  askResync(cluster: string): void {
    const last = this.resyncAsked.get(cluster) ?? 0;
    if (this.now() - last < 1_000) return;
    this.resyncAsked.set(cluster, this.now());
    this.deps.redis.publish(this.deps.keys.resync, cluster).catch(() => undefined);
  }
}
