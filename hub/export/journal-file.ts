// The change journal across hub restarts and crashes: saved to
// `<data_dir>/export/change-journal.json` (sealed when encryption at rest is on: it holds user and
// account names of removed jobs) while the hub runs and as it stops, loaded as it starts.
// - Saved every `saveEveryMs` (5 s) when it heard something, soon after a snapshot (the store
//   replaced that cluster's checkpoint and WAL: the WAL no longer holds what came before), and as
//   the hub stops. A save is one JSON of the journal, off the event loop for the disk: bounded.
// - Loaded before the store loads the state (`replaying`): the load hands every record it applies
//   to the journal, which picks each cluster up where its state passes the position it was saved
//   at and hears the rest of the WAL. So after a SIGKILL the changes between the last save and the
//   crash are heard too, and older cursors stay incremental. A cluster whose checkpoint is past
//   that position (a snapshot or a WAL fold between the save and the crash) starts fresh: its old
//   cursors are refused as too old, as before.
// A hub where nobody ever exported incrementally has no file and keeps no journal (it costs
// every apply).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setAside, TamperedDataError, type AtRest } from '../../shared/crypto/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { FleetChange, FleetState } from '../fleet/index.js';
import { ChangeJournal, type JournalOptions, type SavedJournal } from './change-journal.js';

const PURPOSE = 'hub/export-journal';
/** After a snapshot: soon, but batched with the other clusters' snapshots of a reconnect wave. */
const AFTER_SNAPSHOT_MS = 200;

export interface JournalFileDeps {
  state: FleetState;
  /** Absent: in memory only (unit tests). */
  dataDir?: string;
  atRest: AtRest;
  logger: Logger;
  options?: JournalOptions;
  /** Opened before the store loads the state: call `replayed` for each record it applies, then `loaded()`. */
  replaying?: boolean;
  /** How often a journal that heard changes is saved while the hub runs (default 5 s). */
  saveEveryMs?: number;
}

export class ExportJournal {
  private journal?: ChangeJournal;
  private readonly path?: string;
  private readonly started = new Set<() => void>();
  private timer?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private dirty = false;
  private writing?: Promise<void>;
  private closed = false;
  /** Heard the whole load: a journal closed before (a failed start) must not replace the saved one. */
  private whole = false;

  constructor(private readonly deps: JournalFileDeps) {
    this.path = deps.dataDir ? join(deps.dataDir, 'export', 'change-journal.json') : undefined;
    const saved = this.load();
    if (saved) this.journal = new ChangeJournal(deps.state, deps.options, saved, deps.replaying === true);
    if (!deps.replaying) this.whole = true;
    if (this.journal && !deps.replaying) this.keepSaved();
  }

  /** The journal, if incremental exports were asked on this hub (now or before a restart). */
  get current(): ChangeJournal | undefined {
    return this.journal;
  }

  /** `replaying`: the store's load applied a record of `cluster`. */
  readonly replayed = (cluster: string, changes: readonly FleetChange[]): void => this.journal?.replayed(cluster, changes);

  /** `replaying`: the store has loaded the state; changes are heard from now. */
  loaded(): void {
    this.whole = true;
    if (!this.journal) return;
    this.journal.loaded();
    this.keepSaved();
  }

  /** The first incremental export (a request with `cursor`): the journal starts hearing now. */
  start(): ChangeJournal {
    if (this.journal) return this.journal;
    this.journal = new ChangeJournal(this.deps.state, this.deps.options);
    this.keepSaved();
    for (const listener of this.started) listener();
    return this.journal;
  }

  /** Calls `listener` when this hub starts a journal (not one loaded at start): group-journal.ts tells the group. */
  onStart(listener: () => void): void {
    this.started.add(listener);
  }

  /** Saves what the journal heard now, if anything since the last save (the periodic save; tests). Never throws. */
  async save(): Promise<void> {
    if (this.writing) await this.writing;
    const journal = this.journal;
    if (!journal || !this.path || !this.dirty || this.closed) return;
    this.dirty = false;
    const data = Buffer.from(JSON.stringify(journal.save()));
    this.writing = this.write(data, (path) => this.deps.atRest.writeFileAsync(path, PURPOSE, data)).finally(() => (this.writing = undefined));
    await this.writing;
  }

  /** As the hub stops: stop hearing, and save what it knows for the next start. Never throws. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.unsubscribe?.();
    const journal = this.journal;
    if (!journal || this.closed) return;
    this.closed = true;
    journal.close();
    // A periodic save still running would otherwise land after this one.
    await this.writing;
    if (!this.whole) return;
    const data = Buffer.from(JSON.stringify(journal.save()));
    await this.write(data, (path) => this.deps.atRest.writeFile(path, PURPOSE, data));
  }

  /** Saves every saveEveryMs while it hears changes, and soon after a snapshot. */
  private keepSaved(): void {
    if (!this.path || this.timer) return;
    this.dirty = true;
    this.unsubscribe = this.deps.state.onChanges((_changes, applied) => {
      this.dirty = true;
      if (applied.snapshot && !this.soon) {
        this.soon = setTimeout(() => {
          this.soon = undefined;
          void this.save();
        }, AFTER_SNAPSHOT_MS);
        this.soon.unref();
      }
    });
    this.timer = setInterval(() => void this.save(), this.deps.saveEveryMs ?? 5_000);
    this.timer.unref();
  }

  private async write(data: Buffer, put: (path: string) => void | Promise<void>): Promise<void> {
    try {
      mkdirSync(dirname(this.path!), { recursive: true, mode: 0o700 });
      await put(this.path!);
    } catch (err) {
      // The next save tries again; a start after a crash before it refuses older cursors as too old (a full export): nothing is lost.
      this.dirty = true;
      this.deps.logger.error({ err: (err as Error).message, bytes: data.length }, 'export: could not save the change journal; older incremental cursors may need a full export after a crash');
    }
  }

  private load(): SavedJournal | undefined {
    if (!this.path) return undefined;
    try {
      const data = this.deps.atRest.readFile(this.path, PURPOSE);
      if (!data) return undefined;
      const saved = JSON.parse(data.toString('utf8')) as SavedJournal;
      if (saved?.v !== 1 || typeof saved.clusters !== 'object' || saved.clusters === null || !Number.isSafeInteger(saved.tick)) throw new Error('not a saved change journal');
      return saved;
    } catch (err) {
      // Unreadable: start afresh with a journal (incremental exports were in use), every old cursor too old.
      this.deps.logger.warn({ err: (err as Error).message }, 'export: the saved change journal is unreadable; older incremental cursors will need a full export');
      setAside(this.path, err instanceof TamperedDataError ? 'tampered' : 'malformed');
      return { v: 1, tick: 0, clusters: {} };
    }
  }
}
