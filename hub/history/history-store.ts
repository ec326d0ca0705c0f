// The job history: Parquet files under `<dir>/jobs/cluster=<name>/day=<UTC end day>/`, one
// writer per cluster (the hub that owns it; `fence` says so before every write).
//
// Upsert by key (cluster, job_id, submit_time) is copy-on-write per day partition: the new rows
// and the partition's current files are merged (new wins) into one new file, renamed into place,
// then the old files are removed. So a partition is always one compacted file after a write, a
// backfill that overlaps the last one changes nothing, and a crash between rename and removal
// leaves duplicates that the next write of the partition (or a read, which deduplicates) absorbs.
import { appendFile, chmod, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { HistoryJob } from '../../shared/history/index.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { HistoryEngine } from './engine.js';
import { appendJobs, CONTENT_COLUMNS, createJobTable, JOB_SELECT, rowToJob, utcDay } from './job-table.js';
import { HistoryNotOwnerError } from './errors.js';
import { buildWhere, type HistoryFilter, type RowClauses } from './where.js';
import type { DayFiles, HistoryMirror, MirrorPlan } from './mirror.js';

const CLUSTER_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const DAY_MS = 86_400_000;

export interface HistoryFence {
  /** True while this hub owns the cluster (leader ownership, fenced); writes of others are refused. */
  owns(cluster: string): boolean;
}

export interface UpsertResult {
  rows: number;
  partitions: number;
}

/** A day partition removed by retention: incremental exports send it as a tombstone. */
export interface RemovedDay {
  cluster: string;
  day: string;
  /** Epoch ms, on the same clock as written_at. */
  removed_at: number;
}

/** The first and last UTC day a range of end times touches ('' and 9999-12-31: unbounded). */
const dayRange = (range: { since?: number; until?: number }): { first: string; last: string } => ({
  first: range.since === undefined ? '' : utcDay(range.since),
  last: range.until === undefined ? '9999-12-31' : utcDay(range.until - 1),
});

const EPOCH = `'1970-01-01 00:00:00+00'::TIMESTAMPTZ`;

const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** read_parquet over listed files of the layout (cluster and day from the path). */
const readFiles = (files: readonly string[]): string =>
  `read_parquet([${files.map(sqlString).join(',')}], hive_partitioning = true, union_by_name = true,
    filename = true, hive_types = {'cluster': VARCHAR, 'day': DATE})`;

export class HistoryStore {
  readonly jobsDir: string;
  private readonly removedFile: string;
  private readonly now: () => number;
  // Writes (and marks) run one at a time: a mark handed out is below every later write's
  // written_at, so an incremental export up to a mark never misses a write in progress.
  private queue: Promise<unknown> = Promise.resolve();
  private lastMark = 0;

  constructor(
    private readonly deps: {
      engine: HistoryEngine;
      fence: HistoryFence;
      now?: () => number;
      /** A run as it may be stored (GDPR: the names of pseudonymised users replaced); default as given. */
      mask?: (job: HistoryJob) => HistoryJob;
      /** The read-optimized copy of closed days (mirror.ts); none: every read is of Parquet. */
      mirror?: HistoryMirror;
    },
    private readonly opts: { dir: string },
  ) {
    this.jobsDir = path.join(opts.dir, 'jobs');
    this.removedFile = path.join(opts.dir, 'removed.ndjson');
    this.now = deps.now ?? Date.now;
  }

  private get mirror(): HistoryMirror | undefined {
    return this.deps.mirror;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Runs `fn` between two writes (a backup reads the partition files there, never half-replaced). */
  betweenWrites<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial(fn);
  }

  /** A written_at mark: every row written so far has written_at <= it, every later one > it. */
  mark(): Promise<number> {
    return this.serial(async () => (this.lastMark = Math.max(this.now(), this.lastMark)));
  }

  private writeTime(): number {
    return Math.max(this.now(), this.lastMark + 1);
  }

  private partitionDir(cluster: string, day: string): string {
    return path.join(this.jobsDir, `cluster=${cluster}`, `day=${day}`);
  }

  /** Inserts or replaces runs by key. Every cluster in `jobs` must be owned by this hub. */
  /** `fence`: who may write here for this upsert (default: the store's, the backfill's). */
  upsert(jobs: readonly HistoryJob[], fence: HistoryFence = this.deps.fence): Promise<UpsertResult> {
    return this.serial(() => this.write(jobs, fence));
  }

  private async write(jobs: readonly HistoryJob[], fence: HistoryFence): Promise<UpsertResult> {
    if (jobs.length === 0) return { rows: 0, partitions: 0 };
    const groups = new Map<string, { cluster: string; day: string }>();
    for (const j of jobs) {
      if (!CLUSTER_NAME.test(j.cluster)) throw new HistoryNotOwnerError(`cluster name "${j.cluster.slice(0, 64)}" cannot name a history partition`);
      if (!fence.owns(j.cluster)) throw new HistoryNotOwnerError(`this hub does not own cluster ${j.cluster}; its owner writes its history`);
      const day = utcDay(j.end_time);
      groups.set(`${j.cluster}/${day}`, { cluster: j.cluster, day });
    }
    const c = this.deps.engine.connection;
    await createJobTable(c, 'incoming');
    try {
      const mask = this.deps.mask;
      await appendJobs(c, 'incoming', mask ? jobs.map(mask) : jobs, this.writeTime());
      for (const { cluster, day } of groups.values()) await this.rewritePartition(cluster, day, fence);
    } finally {
      await c.run('DROP TABLE IF EXISTS temp.incoming');
    }
    return { rows: jobs.length, partitions: groups.size };
  }

  private async rewritePartition(cluster: string, day: string, fence: HistoryFence): Promise<void> {
    if (!fence.owns(cluster)) throw new HistoryNotOwnerError(`this hub lost cluster ${cluster} while writing its history`);
    const dir = this.partitionDir(cluster, day);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const old = (await readdir(dir)).filter((f) => f.endsWith('.parquet')).map((f) => path.join(dir, f));
    const c = this.deps.engine.connection;
    // COPY takes no parameters: the partition's rows go to a temp table first (bound values).
    await c.run(
      `CREATE OR REPLACE TEMP TABLE part AS SELECT * EXCLUDE (cluster, day), 0 AS src FROM incoming WHERE cluster = $cluster AND day = CAST($day AS DATE)`,
      { cluster, day },
    );
    const existing = old.length
      ? `UNION ALL BY NAME SELECT *, 1 AS src FROM read_parquet([${old.map(sqlString).join(',')}], hive_partitioning = false, union_by_name = true)`
      : '';
    const id = `${Date.now()}-${randomBytes(4).toString('hex')}`;
    const tmp = path.join(dir, `.part-${id}.tmp`);
    // A run written again with the same content keeps its written_at (an overlapping backfill is
    // no change for incremental exports); files from before written_at existed read as 1970.
    const same = CONTENT_COLUMNS.map((col) => `n.${col} IS NOT DISTINCT FROM p.${col}`).join(' AND ');
    await c.run(
      `COPY (WITH merged AS (SELECT * FROM part ${existing}),
         newest AS (SELECT * FROM merged QUALIFY row_number() OVER (PARTITION BY job_id, submit_time ORDER BY src) = 1),
         prev AS (SELECT * FROM merged WHERE src = 1 QUALIFY row_number() OVER (PARTITION BY job_id, submit_time ORDER BY written_at DESC) = 1)
       SELECT n.* EXCLUDE (src, written_at),
         CASE WHEN p.job_id IS NOT NULL AND ${same} THEN coalesce(p.written_at, ${EPOCH}) ELSE coalesce(n.written_at, ${EPOCH}) END AS written_at
       FROM newest n LEFT JOIN prev p ON n.job_id = p.job_id AND n.submit_time = p.submit_time
       ORDER BY n.end_time, n.job_id)
       TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    // DuckDB creates the file with the process's umask (0644 outside the systemd unit): job
    // history is no more public than the rest of the data directory.
    await chmod(tmp, 0o600);
    await rename(tmp, path.join(dir, `part-${id}.parquet`));
    for (const f of old) await rm(f, { force: true });
  }

  /**
   * Replaces `user` by `pseudonym` in every stored run of the clusters this hub writes (the user
   * column, and the name as a word in the job name), one partition at a time like any write; the
   * rewritten runs get a new written_at, so the next incremental export sends them again. Clusters
   * with runs of the user that another hub of the group writes are listed, not changed.
   */
  pseudonymize(user: string, pseudonym: string, word: string, fence: HistoryFence = this.deps.fence): Promise<{ rows: number; partitions: number; not_owned: string[] }> {
    return this.serial(async () => {
      const c = this.deps.engine.connection;
      const [u, p] = [sqlString(user), sqlString(pseudonym)];
      let [rows, partitions] = [0, 0];
      const notOwned: string[] = [];
      for (const cdir of await readdir(this.jobsDir).catch(() => [] as string[])) {
        if (!cdir.startsWith('cluster=')) continue;
        const cluster = cdir.slice('cluster='.length);
        for (const ddir of await readdir(path.join(this.jobsDir, cdir)).catch(() => [] as string[])) {
          const dir = path.join(this.jobsDir, cdir, ddir);
          const old = (await readdir(dir)).filter((f) => f.endsWith('.parquet')).map((f) => path.join(dir, f));
          if (!ddir.startsWith('day=') || old.length === 0) continue;
          const files = `read_parquet([${old.map(sqlString).join(',')}], hive_partitioning = false, union_by_name = true)`;
          const found = Number((await c.runAndReadAll(`SELECT count(*) FROM ${files} WHERE "user" = $user`, { user })).getRows()[0]?.[0] ?? 0);
          if (found === 0) continue;
          if (!fence.owns(cluster)) {
            if (!notOwned.includes(cluster)) notOwned.push(cluster);
            continue;
          }
          const tmp = path.join(dir, `.part-${Date.now()}-${randomBytes(4).toString('hex')}.tmp`);
          const at = `to_timestamp(${this.writeTime()} / 1000.0)`;
          // Twice, as PseudonymizedUsers.mask: a match takes the character after the name.
          const once = (x: string): string => `regexp_replace(${x}, ${sqlString(word)}, '\\1' || ${p} || '\\2', 'g')`;
          // COPY takes no parameters: the values are quoted literals.
          await c.run(
            `COPY (SELECT * REPLACE (
                 CASE WHEN "user" = ${u} THEN ${p} ELSE "user" END AS "user",
                 CASE WHEN "user" = ${u} THEN ${once(once('name'))} ELSE name END AS name,
                 CASE WHEN "user" = ${u} THEN ${at} ELSE written_at END AS written_at)
               FROM ${files} ORDER BY end_time, job_id)
             TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
          );
          await chmod(tmp, 0o600);
          await rename(tmp, path.join(dir, `part-${path.basename(tmp).slice('.part-'.length, -'.tmp'.length)}.parquet`));
          for (const f of old) await rm(f, { force: true });
          rows += found;
          partitions++;
        }
      }
      return { rows, partitions, not_owned: notOwned.sort() };
    });
  }

  /**
   * The FROM clause over the days `range` touches (all by default), or undefined when the history
   * has none: days the mirror holds as they are now from the mirror (see mirror.ts), the others
   * from their Parquet files. A read deduplicates by key too (newest file wins), since a crash
   * between rename and removal leaves two files in a day; only such days pay for it. A window
   * over every row held all of them at once: at 10M runs it exceeded a 2 GB engine limit. A
   * run's day is that of its end, which is final once it ended, so a key lives in one day.
   */
  async source(range: { since?: number; until?: number } = {}, useMirror = true): Promise<string | undefined> {
    const { first, last } = dayRange(range);
    const listed = await this.dayFiles(first, last);
    const plan: MirrorPlan = useMirror && this.mirror ? this.mirror.plan(listed, first, last) : { parquet: listed };
    const days = plan.parquet.map((d) => d.files);
    const single = days.filter((d) => d.length === 1).flat();
    const several = days.filter((d) => d.length > 1).flat();
    const parts: string[] = [];
    if (plan.mirror) parts.push(plan.mirror);
    if (single.length) parts.push(`SELECT * FROM ${readFiles(single)}`);
    if (several.length) {
      parts.push(`SELECT * FROM (SELECT * FROM ${readFiles(several)}
        QUALIFY row_number() OVER (PARTITION BY cluster, job_id, submit_time ORDER BY filename DESC) = 1)`);
    }
    return parts.length ? `(${parts.join(' UNION ALL BY NAME ')})` : undefined;
  }

  /** Runs a read built on source(): through the mirror when there is one (see HistoryMirror.read). */
  read<T>(fn: (useMirror: boolean) => Promise<T>): Promise<T> {
    return this.mirror ? this.mirror.read(fn) : fn(false);
  }

  /** Brings the mirror up to the history as it is now (closed days only); none: nothing to do. */
  async syncMirror(now: number): Promise<{ loaded: number; dropped: number }> {
    if (!this.mirror) return { loaded: 0, dropped: 0 };
    return this.mirror.sync(await this.dayFiles('', '9999-12-31'), utcDay(now));
  }

  /** No new mirror batch from now on (closing); resolves once a sync in progress ended its batch. */
  async stopMirror(): Promise<void> {
    this.mirror?.stop();
    await this.mirror?.settled();
  }

  /**
   * The Parquet files of each day partition in [first, last] (UTC days of end time): listed
   * here, so the engine opens only those (its glob opened every file to read its schema,
   * whatever the WHERE clause said).
   */
  private async dayFiles(first: string, last: string): Promise<DayFiles[]> {
    const days: DayFiles[] = [];
    for (const cdir of await readdir(this.jobsDir).catch(() => [] as string[])) {
      if (!cdir.startsWith('cluster=')) continue;
      const cluster = cdir.slice('cluster='.length);
      const wanted = (await readdir(path.join(this.jobsDir, cdir)).catch(() => [] as string[])).filter((d) => {
        const day = d.slice('day='.length);
        return d.startsWith('day=') && day >= first && day <= last;
      });
      const listed = await Promise.all(wanted.map(async (d) => {
        const dir = path.join(this.jobsDir, cdir, d);
        const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.parquet')).map((f) => path.join(dir, f));
        return { cluster, day: d.slice('day='.length), files };
      }));
      for (const d of listed) if (d.files.length) days.push(d);
    }
    return days;
  }

  /**
   * The runs as source() has them, for a read of every row (an export) on `connection` (its
   * temp table). A window over every row holds them all until the last file is read (400 MiB for 1M
   * runs); here the keys seen twice are found first from a hash of the key alone (usually none),
   * so the rows stream through and only those keys are checked for their newest file.
   */
  async streamingSource(connection: DuckDBConnection): Promise<string | undefined> {
    const scan = await this.scan();
    if (!scan) return undefined;
    const key = 'hash(cluster, job_id, submit_time)';
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE history_dup_keys AS SELECT cluster, job_id, submit_time, max(filename) AS keep FROM ${scan}
        WHERE ${key} IN (SELECT ${key} AS h FROM ${scan} GROUP BY h HAVING count(*) > 1)
        GROUP BY cluster, job_id, submit_time HAVING count(*) > 1`,
    );
    return `(SELECT r.* FROM ${scan} r LEFT JOIN history_dup_keys d USING (cluster, job_id, submit_time) WHERE d.keep IS NULL OR r.filename = d.keep)`;
  }

  private async scan(): Promise<string | undefined> {
    const clusters = await readdir(this.jobsDir).catch(() => [] as string[]);
    if (!clusters.some((d) => d.startsWith('cluster='))) return undefined;
    const glob = path.join(this.jobsDir, 'cluster=*', 'day=*', '*.parquet');
    return `read_parquet(${sqlString(glob)}, hive_partitioning = true, union_by_name = true,
        filename = true, hive_types = {'cluster': VARCHAR, 'day': DATE})`;
  }

  /** Runs that match the filter and the caller's row clauses, newest end first. */
  async jobs(filter: HistoryFilter, rows: RowClauses, limit = 1000): Promise<HistoryJob[]> {
    return this.read(async (useMirror) => {
      const from = await this.source(filter, useMirror);
      if (!from) return [];
      const where = buildWhere(filter, rows);
      const result = await this.deps.engine.connection.runAndReadAll(
        `SELECT ${JOB_SELECT} FROM ${from} WHERE ${where.sql} ORDER BY end_time DESC, cluster, job_id LIMIT $limit`,
        { ...where.values, limit },
        where.types,
      );
      return result.getRowObjectsJS().map((r) => rowToJob(r as Record<string, unknown>));
    });
  }

  /** Drops day partitions older than `days` (UTC days of end time) before `now`. */
  expire(days: number, now: number): Promise<number> {
    return this.serial(async () => {
      const oldest = utcDay(now - days * DAY_MS);
      let removed = 0;
      for (const cdir of await readdir(this.jobsDir).catch(() => [] as string[])) {
        if (!cdir.startsWith('cluster=')) continue;
        for (const ddir of await readdir(path.join(this.jobsDir, cdir))) {
          const day = ddir.slice('day='.length);
          if (ddir.startsWith('day=') && day < oldest) {
            // The tombstone first: a crash after it re-removes a day, never forgets one.
            const gone: RemovedDay = { cluster: cdir.slice('cluster='.length), day, removed_at: this.writeTime() };
            await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
            await appendFile(this.removedFile, `${JSON.stringify(gone)}\n`, { flush: true, mode: 0o600 });
            await rm(path.join(this.jobsDir, cdir, ddir), { recursive: true, force: true });
            removed++;
          }
        }
      }
      return removed;
    });
  }

  /** Day partitions removed by retention with removed_at in (after, through]. */
  async removed(after: number, through: number): Promise<RemovedDay[]> {
    const text = await readFile(this.removedFile, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as RemovedDay)
      .filter((r) => r.removed_at > after && r.removed_at <= through);
  }
}
