// A read-optimized copy of the history's closed days for the hub's own reads: one DuckDB database
// file (<data_dir>/history/mirror/jobs.duckdb) ATTACHed to the engine. The Parquet days stay the
// source of truth (what Spark, Trino and backups read); a report over a year of 20 clusters spent
// most of its time opening 7,300 small files (footer, schema union), not scanning rows.
//
// Each day loaded is a "part" with a new, ever-growing id; the manifest says which Parquet file
// names it was loaded from. A read serves a day from the mirror only while the day's current
// files are those names; every other day of its range is read from Parquet. Rows of parts loaded
// after a read took its snapshot are cut by `part <= max` (no run is counted twice), and a part
// whose files changed is cut by id until it is reloaded.
import { chmod, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from '../../shared/logging/index.js';
import type { HistoryEngine } from './engine.js';
import { JOB_COLUMNS } from './job-table.js';

const DB = 'history_mirror';
const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** One day partition as listed now: its Parquet files (full paths). */
export interface DayFiles {
  cluster: string;
  day: string;
  files: string[];
}

interface Part {
  part: number;
  cluster: string;
  day: string;
  /** The file names (basenames, sorted, '\n'-joined) the part was loaded from. */
  files: string;
}

/** What a read takes from the mirror (SQL, or none) and the days it must read from Parquet. */
export interface MirrorPlan {
  mirror?: string;
  parquet: DayFiles[];
}

const key = (cluster: string, day: string): string => `${cluster}/${day}`;
const names = (files: readonly string[]): string => files.map((f) => path.basename(f)).sort().join('\n');

export class HistoryMirror {
  private parts = new Map<string, Part>();
  private maxPart = 0;
  private usable = false;
  /** Reads in progress: a reload waits for those that took their snapshot before it (see drop). */
  private readers = new Set<Promise<unknown>>();
  private syncing?: Promise<{ loaded: number; dropped: number }>;
  private warned = false;
  private stopped = false;

  private constructor(
    private readonly deps: { engine: HistoryEngine; logger?: Logger },
    readonly file: string,
    private readonly batchDays: number,
  ) {}

  /** Opens (or creates) the mirror; one that cannot be opened is moved aside and started anew. */
  static async open(deps: { engine: HistoryEngine; logger?: Logger }, opts: { file: string; batchDays?: number }): Promise<HistoryMirror> {
    const m = new HistoryMirror(deps, opts.file, opts.batchDays ?? 200);
    await m.attach();
    return m;
  }

  private async attach(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const c = this.deps.engine.connection;
    // With a database file attached, a large report spills to DuckDB's temp directory, by default
    // `.tmp` in the process's working directory: here instead (private, and out of backups).
    await c.run(`SET GLOBAL temp_directory = ${sqlString(path.join(path.dirname(this.file), 'spill'))}`);
    try {
      await this.attachOnce(c);
    } catch (err) {
      await c.run(`DETACH DATABASE IF EXISTS ${DB}`).catch(() => undefined);
      const aside = await this.moveAside();
      this.deps.logger?.warn({ err: (err as Error).message, moved_to: aside }, 'job history mirror could not be opened; moved aside, rebuilding it from Parquet (reads use Parquet meanwhile)');
      await this.attachOnce(c);
    }
    this.usable = true;
    await this.keepPrivate();
  }

  private async attachOnce(c: DuckDBConnection): Promise<void> {
    await c.run(`ATTACH ${sqlString(this.file)} AS ${DB}`);
    await c.run(`CREATE TABLE IF NOT EXISTS ${DB}.runs (part INTEGER NOT NULL, ${JOB_COLUMNS})`);
    await c.run(`CREATE TABLE IF NOT EXISTS ${DB}.manifest (part INTEGER PRIMARY KEY, cluster VARCHAR NOT NULL, day DATE NOT NULL, files VARCHAR NOT NULL)`);
    const rows = (await c.runAndReadAll(`SELECT part, cluster, strftime(day, '%Y-%m-%d') AS day, files FROM ${DB}.manifest`)).getRowObjectsJS();
    this.parts = new Map();
    this.maxPart = 0;
    for (const r of rows) {
      const p: Part = { part: Number(r.part), cluster: String(r.cluster), day: String(r.day), files: String(r.files) };
      this.parts.set(key(p.cluster, p.day), p);
      this.maxPart = Math.max(this.maxPart, p.part);
    }
    // A part id is never reused, even after its day was dropped: a read's `part <= max` relies on it.
    const top = (await c.runAndReadAll(`SELECT coalesce(max(part), 0) AS m FROM ${DB}.runs`)).getRowObjectsJS()[0];
    this.maxPart = Math.max(this.maxPart, Number(top?.m ?? 0));
  }

  /** Keeps the broken file for a look (the last one only: each is as large as the mirror). */
  private async moveAside(): Promise<string> {
    const dir = path.dirname(this.file);
    const prefix = `${path.basename(this.file)}.corrupt-`;
    for (const f of await readdir(dir).catch(() => [] as string[])) if (f.startsWith(prefix)) await rm(path.join(dir, f), { force: true });
    const aside = `${this.file}.corrupt-${Date.now()}`;
    await rename(this.file, aside).catch(() => undefined);
    await rename(`${this.file}.wal`, `${aside}.wal`).catch(() => undefined);
    return aside;
  }

  /** Days served from the mirror now (the manifest's size). */
  get days(): number {
    return this.usable ? this.parts.size : 0;
  }

  /**
   * Splits the days a read covers: those whose current files are the ones a part was loaded from
   * come from the mirror, the rest from Parquet. `first`/`last` bound the day range listed.
   */
  plan(days: readonly DayFiles[], first: string, last: string): MirrorPlan {
    if (!this.usable || this.parts.size === 0) return { parquet: [...days] };
    const served = new Set<number>();
    const parquet: DayFiles[] = [];
    for (const d of days) {
      const p = this.parts.get(key(d.cluster, d.day));
      if (p && p.files === names(d.files)) served.add(p.part);
      else parquet.push(d);
    }
    // Parts of the range that are not served (their files changed, or their day is gone) are cut;
    // parts outside the range hold no run the WHERE on end_time lets through.
    const cut = [...this.parts.values()].filter((p) => p.day >= first && p.day <= last && !served.has(p.part)).map((p) => p.part);
    if (served.size === 0) return { parquet };
    const where = [`part <= ${this.maxPart}`];
    if (cut.length) where.push(`part NOT IN (${cut.join(',')})`);
    return { mirror: `SELECT * EXCLUDE (part) FROM ${DB}.runs WHERE ${where.join(' AND ')}`, parquet };
  }

  /**
   * Runs a read that used plan(): while it runs, no part it may serve is deleted. If it fails
   * with the mirror in it, it is run once more with a fresh plan (a day file replaced under the
   * first one by a backfill is not the mirror's fault), then from Parquet alone; if only that
   * succeeds the mirror is taken out of service (rebuilt at the next sync): a broken mirror costs
   * time, never a wrong answer.
   */
  async read<T>(fn: (useMirror: boolean) => Promise<T>): Promise<T> {
    const run = (async () => {
      if (!this.usable) return fn(false);
      try {
        return await fn(true);
      } catch {
        // fall through to the second try
      }
      try {
        return await fn(this.usable);
      } catch (err) {
        if (!this.usable || this.parts.size === 0) throw err;
        // Parquet alone first: if that fails too (a broken Parquet day), the mirror was not the
        // cause and is kept; the read's own error is the answer.
        const answer = await fn(false);
        this.broken(err as Error);
        return answer;
      }
    })();
    this.readers.add(run);
    try {
      return await run;
    } finally {
      this.readers.delete(run);
    }
  }

  private broken(err: Error): void {
    this.usable = false;
    if (!this.warned) this.deps.logger?.warn({ err: err.message }, 'a read of the job history mirror failed; reading Parquet and rebuilding the mirror');
    this.warned = true;
  }

  /**
   * Brings the mirror up to `days` (the history's listing now): loads the closed days (before
   * `today`) that are held in one file and not mirrored as they are, drops parts whose day is
   * gone or changed. Batches of `batchDays` days, each one transaction on a connection of its own,
   * so ingest and reads go on meanwhile; a failure (a full disk) rolls its batch back.
   */
  sync(days: readonly DayFiles[], today: string): Promise<{ loaded: number; dropped: number }> {
    this.syncing ??= this.syncNow(days, today).finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async syncNow(days: readonly DayFiles[], today: string): Promise<{ loaded: number; dropped: number }> {
    if (!this.usable) await this.rebuild();
    const listed = new Map(days.map((d) => [key(d.cluster, d.day), d]));
    const stale = [...this.parts.values()].filter((p) => {
      const d = listed.get(key(p.cluster, p.day));
      return !d || names(d.files) !== p.files;
    });
    const wanted = days.filter((d) => d.day < today && d.files.length === 1 && this.parts.get(key(d.cluster, d.day))?.files !== names(d.files));
    let [loaded, dropped] = [0, 0];
    if (stale.length) {
      // A read that took its snapshot before the files changed may still serve these parts.
      await Promise.allSettled([...this.readers]);
      await this.transaction(async (c) => {
        const ids = stale.map((p) => p.part).join(',');
        await c.run(`DELETE FROM ${DB}.runs WHERE part IN (${ids})`);
        await c.run(`DELETE FROM ${DB}.manifest WHERE part IN (${ids})`);
      });
      for (const p of stale) this.parts.delete(key(p.cluster, p.day));
      dropped = stale.length;
    }
    for (let i = 0; i < wanted.length && !this.stopped; i += this.batchDays) {
      loaded += await this.load(wanted.slice(i, i + this.batchDays));
    }
    await this.keepPrivate();
    return { loaded, dropped };
  }

  /**
   * DuckDB creates its database and WAL files with the process's umask (0644 outside the systemd
   * unit): job history is no more public than the rest of the data directory.
   */
  private async keepPrivate(): Promise<void> {
    for (const f of [this.file, `${this.file}.wal`]) await chmod(f, 0o600).catch(() => undefined);
  }

  private async load(batch: DayFiles[]): Promise<number> {
    const added: Part[] = batch.map((d, i) => ({ part: this.maxPart + 1 + i, cluster: d.cluster, day: d.day, files: names(d.files) }));
    const files = batch.map((d) => d.files[0]);
    const ids = batch.map((d, i) => `(${sqlString(d.files[0])}, ${added[i].part})`).join(',');
    await this.transaction(async (c) => {
      // Files read by name (the hive columns from the path, as every read of the layout).
      await c.run(
        `INSERT INTO ${DB}.runs BY NAME SELECT m.part, r.* EXCLUDE (filename)
         FROM read_parquet([${files.map(sqlString).join(',')}], hive_partitioning = true, union_by_name = true, filename = true,
           hive_types = {'cluster': VARCHAR, 'day': DATE}) r
         JOIN (VALUES ${ids}) m(f, part) ON r.filename = m.f`,
      );
      await c.run(`INSERT INTO ${DB}.manifest VALUES ${added.map((p) => `(${p.part}, ${sqlString(p.cluster)}, DATE ${sqlString(p.day)}, ${sqlString(p.files)})`).join(',')}`);
    });
    // Only after the commit: a read planned before sees none of these parts.
    this.maxPart += batch.length;
    for (const p of added) this.parts.set(key(p.cluster, p.day), p);
    return batch.length;
  }

  private async transaction(fn: (c: DuckDBConnection) => Promise<void>): Promise<void> {
    const c = await this.deps.engine.connect();
    try {
      await c.run('BEGIN TRANSACTION');
      try {
        await fn(c);
        await c.run('COMMIT');
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      c.closeSync();
    }
  }

  /** Out of service: detach, move the file aside, start an empty mirror (sync fills it again). */
  private async rebuild(): Promise<void> {
    await Promise.allSettled([...this.readers]);
    await this.deps.engine.connection.run(`DETACH DATABASE IF EXISTS ${DB}`).catch(() => undefined);
    await this.moveAside();
    this.parts = new Map();
    await this.attach();
    this.warned = false;
  }

  /** No new batch from now on (the hub is closing). */
  stop(): void {
    this.stopped = true;
  }

  /** Waits for a sync in progress (close, tests). */
  async settled(): Promise<void> {
    await this.syncing?.catch(() => undefined);
  }
}
