// Backfill from slurmdbd: the runs that ended since the last backfill, read over time windows
// that overlap the previous one by `marginMs` and upserted by key, so runs that started and
// ended between two polls, or while the agent or slurmdbd was down, still reach the history
// (slurmdbd records them when it comes back; the overlap picks up late records).
// `through` is saved only after a window is written: a crash re-reads, never skips.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HistoryJob } from '../../shared/history/index.js';
import type { HistoryStore } from './history-store.js';

export interface BackfillReader {
  /** Runs of the cluster that ended in [since, until) (epoch ms). */
  read(window: { since: number; until: number }): Promise<HistoryJob[]>;
}

export interface BackfillState {
  /** Per cluster: epoch ms up to which the history has been backfilled. */
  through: Record<string, number>;
}

export interface BackfillOptions {
  /** Where the backfill state is kept (a JSON file). */
  stateFile: string;
  /** How far each window reaches back before the last one's end. */
  marginMs: number;
  /** The first backfill of a cluster starts this far back. */
  initialLookbackMs: number;
  /** Longest window read at once (bounds sacct's output). */
  maxWindowMs: number;
}

export class HistoryBackfill {
  constructor(
    private readonly deps: { store: HistoryStore },
    private readonly opts: BackfillOptions,
  ) {}

  async state(): Promise<BackfillState> {
    try {
      const parsed = JSON.parse(await readFile(this.opts.stateFile, 'utf8')) as BackfillState;
      return { through: { ...parsed.through } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { through: {} };
      throw err;
    }
  }

  private async save(state: BackfillState): Promise<void> {
    await mkdir(path.dirname(this.opts.stateFile), { recursive: true, mode: 0o700 });
    const tmp = `${this.opts.stateFile}.tmp`;
    await writeFile(tmp, JSON.stringify(state), { mode: 0o600 });
    await rename(tmp, this.opts.stateFile);
  }

  /** Reads and writes every window from the last backfill (less the margin) up to `now`. */
  async run(cluster: string, reader: BackfillReader, now: number): Promise<{ windows: number; rows: number }> {
    const state = await this.state();
    const last = state.through[cluster];
    let since = last === undefined ? now - this.opts.initialLookbackMs : last - this.opts.marginMs;
    let windows = 0;
    let rows = 0;
    while (since < now) {
      const until = Math.min(now, since + this.opts.maxWindowMs);
      const runs = (await reader.read({ since, until })).filter((j) => j.cluster === cluster);
      await this.deps.store.upsert(runs);
      state.through[cluster] = until;
      await this.save(state);
      windows++;
      rows += runs.length;
      since = until;
    }
    return { windows, rows };
  }
}
