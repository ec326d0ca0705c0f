// Shipping the change log and the audit chain between backups: every `backup.ship_interval`
// (at most 5 minutes: the RPO) the hub that takes backups (the leader, fenced) writes what was
// written since its last ship to each destination as one sealed object (shipped.ts). Each
// destination has its own cursor: one that fails is retried at the next interval with everything
// it missed, reported in the metrics and, after two missed intervals, on /healthz; it never holds
// the others back.
import { AUDIT_FILE_RE } from '../../audit/audit-files.js';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../../shared/clock/index.js';
import type { KeyProvider } from '../../../shared/crypto/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { writeAtomically } from '../../../shared/record-log/index.js';
import { periodic, type LeaderContext, type Singleton } from '../../leader/index.js';
import type { Destination } from '../destinations.js';
import { PITR_DIR, type ChangeLog } from './change-log.js';
import { completeBackups } from '../restore.js';
import { readEpoch, type Epoch } from './epoch.js';
import { CHANGES_PREFIX, parseStamp, putChanges, SHIPPED_KEY_RE, type AuditChunk } from './shipped.js';


interface Cursor {
  /** The end of the last interval shipped (ms). */
  to: number;
  /** The last change-log entry shipped. */
  seq: number;
  /** Where the audit chain was shipped up to. */
  audit: { file: string; offset: number } | null;
}

export interface ShipStatus {
  destination: string;
  /** Ships that failed in a row. */
  failures: number;
  last_ok?: string;
  error?: string;
}

export interface ShipperDeps {
  hubId: string;
  region: string;
  dataDir: string;
  auditDir: string;
  changes: ChangeLog;
  destinations: Destination[];
  provider: KeyProvider;
  clock: Clock;
  logger: Logger;
}

export class ChangeShipper {
  private readonly cursors = new Map<string, Cursor>();
  private readonly status = new Map<string, ShipStatus>();
  private readonly stateFile: string;
  /** The restore epoch of the data directory: its chain's path, and where a restored directory's chain starts. */
  private readonly epoch: Epoch;
  /** No ship state yet: a restored directory's chain starts at its restore (epoch.ts), not at the first ship. */
  private readonly fresh: boolean;
  /** Counted for the metrics: ships that failed, per destination. */
  readonly failedTotal = new Map<string, number>();

  constructor(
    private readonly deps: ShipperDeps,
    readonly intervalMs: number,
  ) {
    this.stateFile = join(deps.dataDir, PITR_DIR, 'ship-state.json');
    this.epoch = readEpoch(deps.dataDir);
    this.fresh = !existsSync(this.stateFile);
    if (!this.fresh) {
      const saved = JSON.parse(readFileSync(this.stateFile, 'utf8')) as Record<string, Cursor>;
      for (const [name, c] of Object.entries(saved)) this.cursors.set(name, c);
    }
    for (const d of deps.destinations) this.status.set(d.name, { destination: d.name, failures: 0 });
  }

  /** The highest change-log seq any destination holds (the log never reuses one below it). */
  static shippedSeq(dataDir: string): number {
    const file = join(dataDir, PITR_DIR, 'ship-state.json');
    if (!existsSync(file)) return 0;
    return Math.max(0, ...Object.values(JSON.parse(readFileSync(file, 'utf8')) as Record<string, Cursor>).map((c) => c.seq));
  }

  singleton(): Singleton {
    return periodic('backup-ship', this.intervalMs, async (ctx) => void (await this.ship(ctx)));
  }

  /** One ship to every destination; answers the outcome per destination. */
  async ship(ctx?: Pick<LeaderContext, 'assertLeading'>): Promise<ShipStatus[]> {
    const now = this.deps.clock.now();
    const audit = new AuditReader(this.deps.auditDir);
    await Promise.all(
      this.deps.destinations.map(async (dest) => {
        const st = this.status.get(dest.name)!;
        let cursor = this.cursors.get(dest.name);
        if (!cursor && this.fresh && this.epoch.start !== undefined && this.epoch.start < now) {
          // A restored data directory: its chain starts at the restore, with every write since.
          cursor = { to: this.epoch.start, seq: 0, audit: this.epoch.audit ?? null };
        } else if (!cursor) {
          // A destination seen for the first time: its chain starts now (the backups hold what came before).
          this.cursors.set(dest.name, { to: now, seq: this.deps.changes.last, audit: audit.end() });
          st.last_ok = new Date(now).toISOString();
          return;
        }
        if (now <= cursor.to) return;
        if (cursor.seq < this.deps.changes.first - 1) {
          // Entries it never got were dropped (the log outgrew its bound while nothing shipped): a new chain from now.
          this.deps.logger.warn({ destination: dest.name, since: new Date(cursor.to).toISOString() }, 'backup shipping: changes since the last ship were dropped unshipped; a new shipped chain starts now (a restore across the hole is refused)');
          this.cursors.set(dest.name, { to: now, seq: this.deps.changes.last, audit: audit.end() });
          return;
        }
        try {
          const entries = this.deps.changes.since(cursor.seq);
          const { chunks, end } = audit.since(cursor.audit);
          if (entries.length || chunks.length) {
            ctx?.assertLeading();
            const epoch = this.epoch.id ? { epoch: this.epoch.id, ...(this.epoch.plan ? { plan: this.epoch.plan } : {}) } : {};
            await putChanges(dest, this.deps.provider, this.deps.region, { hub_id: this.deps.hubId, ...epoch, from: cursor.to, to: now, entries, audit: chunks });
            this.cursors.set(dest.name, { to: now, seq: entries.at(-1)?.seq ?? cursor.seq, audit: end });
          }
          Object.assign(st, { failures: 0, last_ok: new Date(now).toISOString(), error: undefined });
        } catch (err) {
          st.failures++;
          st.error = (err as Error).message;
          this.failedTotal.set(dest.name, (this.failedTotal.get(dest.name) ?? 0) + 1);
          this.deps.logger.warn({ destination: dest.name, failures: st.failures, err: st.error }, 'backup shipping: could not ship the changes; retried at the next interval');
        }
      }),
    );
    writeAtomically(this.stateFile, Buffer.from(JSON.stringify(Object.fromEntries(this.cursors))));
    // What every destination now holds is not needed here (a restore reads the destinations), and
    // the log would otherwise hold every store write since the last backup, in memory too.
    this.cutShipped(Number.POSITIVE_INFINITY);
    return [...this.status.values()].map((s) => ({ ...s }));
  }

  /** A backup taken at `at` completed: the change log drops what every destination has and the backup holds. */
  backupCompleted(at: number): number {
    return this.cutShipped(at);
  }

  private cutShipped(at: number): number {
    const names = this.deps.destinations.map((d) => d.name);
    if (!names.every((n) => this.cursors.has(n))) return 0;
    return this.deps.changes.cut(at, Math.min(...names.map((n) => this.cursors.get(n)!.seq)));
  }

  /**
   * Removes the shipped objects no restore can use: those that end before the oldest complete
   * backup of their destination (every hub's chain). Manifest first, as for a backup.
   */
  async prune(): Promise<number> {
    let removed = 0;
    for (const dest of this.deps.destinations) {
      try {
        const ids = await completeBackups(dest);
        if (!ids.length) continue;
        // The second the oldest backup's id names (ids sort by second, then a random suffix): a
        // bound at or before every backup's created_at, without reading their manifests.
        const oldest = parseStamp(`${ids[0].slice(0, 15)}000Z`)!;
        const byDir = new Map<string, string[]>();
        for (const key of await dest.list(CHANGES_PREFIX)) {
          const m = SHIPPED_KEY_RE.exec(key);
          const to = m ? parseStamp(m[4]) : undefined;
          const dir = key.slice(0, key.lastIndexOf(m?.[5] ?? '') - 1);
          if (m && to !== undefined && to <= oldest) byDir.set(dir, [...(byDir.get(dir) ?? []), key]);
        }
        for (const [dir, keys] of byDir) {
          await dest.remove(keys.filter((k) => k === `${dir}/manifest.json`));
          await dest.remove(keys.filter((k) => k !== `${dir}/manifest.json`));
          removed++;
        }
      } catch (err) {
        this.deps.logger.warn({ destination: dest.name, err: (err as Error).message }, 'backup shipping: could not prune shipped changes');
      }
    }
    return removed;
  }

  /** Why shipping is not keeping the RPO, or undefined (/healthz). */
  problem(): string | undefined {
    const late = [...this.status.values()].filter((s) => s.failures >= 2);
    const reasons = late.map((s) => `${s.destination}: ${s.failures} ships failed in a row${s.last_ok ? ` (last shipped ${s.last_ok})` : ''}: ${s.error}`);
    if (this.deps.changes.failure) reasons.push(`change log: ${this.deps.changes.failure}`);
    return reasons.length ? `backup shipping: ${reasons.join('; ')}` : undefined;
  }

  statuses(): ShipStatus[] {
    return [...this.status.values()].map((s) => ({ ...s }));
  }
}

/** Reads the audit segments appended since a cursor, whole lines only. */
class AuditReader {
  private readonly files: string[];

  constructor(private readonly dir: string) {
    this.files = existsSync(dir) ? readdirSync(dir).filter((f) => AUDIT_FILE_RE.test(f)).sort() : [];
  }

  /** The current end of the chain. */
  end(): { file: string; offset: number } | null {
    const last = this.files.at(-1);
    return last ? { file: last, offset: this.wholeLines(last, statSync(join(this.dir, last)).size) } : null;
  }

  since(cursor: { file: string; offset: number } | null): { chunks: AuditChunk[]; end: { file: string; offset: number } | null } {
    const chunks: AuditChunk[] = [];
    let end = cursor;
    for (const file of this.files) {
      if (cursor && file < cursor.file) continue;
      const start = cursor && file === cursor.file ? cursor.offset : 0;
      // Only what was appended since the cursor is read: a day's segment can be hundreds of MB.
      const data = this.readFrom(file, start);
      const stop = start + data.lastIndexOf(0x0a) + 1;
      if (stop > start) chunks.push({ file, offset: start, text: data.subarray(0, stop - start).toString('utf8') });
      end = { file, offset: Math.max(stop, start) };
    }
    return { chunks, end };
  }

  private readFrom(file: string, start: number): Buffer {
    const fd = openSync(join(this.dir, file), 'r');
    try {
      const size = fstatSync(fd).size;
      if (size <= start) return Buffer.alloc(0);
      const data = Buffer.alloc(size - start);
      let got = 0;
      while (got < data.length) {
        const n = readSync(fd, data, got, data.length - got, start + got);
        if (n === 0) break;
        got += n;
      }
      return data.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  }

  private wholeLines(file: string, size: number): number {
    // The last newline at or before `size` (a record being appended is not whole yet).
    const fd = openSync(join(this.dir, file), 'r');
    try {
      const tail = Buffer.alloc(Math.min(size, 64 * 1024));
      readSync(fd, tail, 0, tail.length, size - tail.length);
      const nl = tail.lastIndexOf(0x0a);
      return nl < 0 ? 0 : size - tail.length + nl + 1;
    } finally {
      closeSync(fd);
    }
  }
}
