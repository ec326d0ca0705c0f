// The history room at run time: the engine, the store and the backfill loop. The loop runs on
// every hub but writes only the clusters whose agent streams to this hub and whose owner (etcd
// ownership, clustered) is this hub: each run is written once, by its cluster's owner.
import path from 'node:path';
import type { HistoryJob } from '../../shared/history/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { HistoryRun } from '../../generated/fleet/v1/agent.js';
import { HistoryBackfill } from './backfill.js';
import type { HistoryConfig } from './config.js';
import { HistoryEngine } from './engine.js';
import { HistoryStore, type HistoryFence, type UpsertResult } from './history-store.js';
import { HistoryMirror } from './mirror.js';

export interface HistoryServiceDeps {
  logger: Logger;
  /** Clock in epoch ms. */
  now: () => number;
  /** The runs of a cluster that ended in a window, from its agent (CommandRouter.history). */
  fetch: (cluster: string, window: { since: number; until: number }) => Promise<HistoryRun[]>;
  /** The clusters whose active agent streams to this hub. */
  ingesting: () => ReadonlySet<string>;
  /** Clustered: the hub that owns the cluster (etcd); standalone: undefined. */
  owner?: (cluster: string) => string | null;
  hubId: string;
  /** A run as it may be stored (GDPR: pseudonymised users' names replaced). */
  mask?: (job: HistoryJob) => HistoryJob;
}

export const toHistoryJob = (r: HistoryRun): HistoryJob => ({ ...r, start_time: r.start_time ?? null });

export class HistoryService {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private closed = false;

  private constructor(
    readonly engine: HistoryEngine,
    readonly store: HistoryStore,
    private readonly backfill: HistoryBackfill,
    private readonly deps: HistoryServiceDeps,
    private readonly config: HistoryConfig,
    /** <data_dir>/history: the store, the backfill state and the export scratch directory. */
    readonly dir: string,
  ) {}

  static async open(deps: HistoryServiceDeps, config: HistoryConfig, dataDir: string): Promise<HistoryService> {
    const engine = await HistoryEngine.open({ threads: config.threads, memoryLimit: config.memory_limit });
    const fence: HistoryFence = {
      owns: (cluster) => deps.ingesting().has(cluster) && (deps.owner ? deps.owner(cluster) === deps.hubId : true),
    };
    const dir = path.join(dataDir, 'history');
    // Derived data, rebuilt from the Parquet days when missing: backups leave its folder out.
    const mirror = await HistoryMirror.open({ engine, logger: deps.logger }, { file: path.join(dir, 'mirror', 'jobs.duckdb') });
    const store = new HistoryStore({ engine, fence, mirror, ...(deps.mask ? { mask: deps.mask } : {}) }, { dir });
    const backfill = new HistoryBackfill(
      { store },
      { stateFile: path.join(dir, 'backfill.json'), marginMs: config.backfill_margin, initialLookbackMs: config.initial_lookback, maxWindowMs: config.max_window },
    );
    return new HistoryService(engine, store, backfill, deps, config, dir);
  }

  /**
   * Runs from an export (sfleet import history), upserted by the history key. A standalone hub is
   * the only writer of its history, whether or not the cluster's agent streams to it; in a group
   * the hub that owns the cluster writes (one writer per cluster), as for the backfill.
   */
  import(jobs: readonly HistoryJob[]): Promise<UpsertResult> {
    return this.store.upsert(jobs, this.writerFence());
  }

  /** GDPR: `user` replaced by `pseudonym` in the runs this hub writes (see HistoryStore.pseudonymize). */
  async pseudonymize(user: string, pseudonym: string, word: string): Promise<{ rows: number; partitions: number; not_owned: string[] }> {
    const done = await this.store.pseudonymize(user, pseudonym, word, this.writerFence());
    // The mirror's copies of the rewritten days (no longer read) are deleted now, not at the next pass.
    if (done.partitions) await this.syncMirror();
    return done;
  }

  /** Who writes a cluster's history outside the backfill: a standalone hub all of it, in a group the cluster's owner. */
  private writerFence(): HistoryFence {
    const owner = this.deps.owner;
    return owner ? { owns: (cluster) => owner(cluster) === this.deps.hubId } : { owns: () => true };
  }

  start(): void {
    const tick = (): void => {
      this.running = this.runOnce().then(() => undefined).finally(() => {
        if (!this.closed) this.timer = setTimeout(tick, this.config.backfill_interval);
      });
    };
    this.timer = setTimeout(tick, 1_000);
  }

  /** One backfill of every cluster this hub writes, then the retention. Errors are logged, not thrown. */
  async runOnce(): Promise<{ rows: number }> {
    let rows = 0;
    for (const cluster of this.deps.ingesting()) {
      if (this.deps.owner && this.deps.owner(cluster) !== this.deps.hubId) continue;
      try {
        const done = await this.backfill.run(cluster, { read: async (w) => (await this.deps.fetch(cluster, w)).map(toHistoryJob) }, this.deps.now());
        rows += done.rows;
        if (done.rows) this.deps.logger.info({ cluster, ...done }, 'job history backfilled');
      } catch (err) {
        this.deps.logger.warn({ cluster, err: (err as Error).message }, 'job history backfill failed; retrying at the next interval');
      }
    }
    try {
      await this.store.expire(this.config.retention, this.deps.now());
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'job history retention failed');
    }
    await this.syncMirror();
    return { rows };
  }

  /**
   * The mirror brought up to the closed days written so far, after the backfill and retention
   * (writes have settled then); a failure (a full disk) is logged, reads use Parquet meanwhile.
   */
  private async syncMirror(): Promise<void> {
    if (this.closed) return;
    try {
      const t0 = Date.now();
      const done = await this.store.syncMirror(this.deps.now());
      if (done.loaded || done.dropped) this.deps.logger.info({ ...done, ms: Date.now() - t0 }, 'job history mirror up to date');
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'job history mirror load failed; those days are read from Parquet, retrying at the next interval');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    // A sync another path started (an erasure) may still hold a transaction: the engine closes after it.
    await this.store.stopMirror();
    await this.running;
    this.engine.close();
  }
}
