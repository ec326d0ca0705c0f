// The change journal across hub restarts: saved to `<data_dir>/export/change-journal.json`
// (sealed when encryption at rest is on: it holds user and account names of removed jobs) as the
// hub stops, loaded as it starts. A hub that has a saved journal starts hearing changes at once,
// before any agent connects, so a graceful restart keeps every incremental series going. The
// journal of a cluster is taken up again only where the state loaded at the very position it was
// saved at (change-journal.ts): after a crash the WAL brought changes the journal never heard, and
// that cluster's old cursors are refused as too old, as before.
// A hub where nobody ever exported incrementally has no file and keeps no journal (it costs
// every apply).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setAside, TamperedDataError, type AtRest } from '../../shared/crypto/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { FleetState } from '../fleet/index.js';
import { ChangeJournal, type JournalOptions, type SavedJournal } from './change-journal.js';

const PURPOSE = 'hub/export-journal';

export interface JournalFileDeps {
  state: FleetState;
  /** Absent: in memory only (unit tests). */
  dataDir?: string;
  atRest: AtRest;
  logger: Logger;
  options?: JournalOptions;
}

export class ExportJournal {
  private journal?: ChangeJournal;
  private readonly path?: string;
  private readonly started = new Set<() => void>();

  constructor(private readonly deps: JournalFileDeps) {
    this.path = deps.dataDir ? join(deps.dataDir, 'export', 'change-journal.json') : undefined;
    const saved = this.load();
    if (saved) this.journal = new ChangeJournal(deps.state, deps.options, saved);
  }

  /** The journal, if incremental exports were asked on this hub (now or before a restart). */
  get current(): ChangeJournal | undefined {
    return this.journal;
  }

  /** The first incremental export (a request with `cursor`): the journal starts hearing now. */
  start(): ChangeJournal {
    if (this.journal) return this.journal;
    this.journal = new ChangeJournal(this.deps.state, this.deps.options);
    for (const listener of this.started) listener();
    return this.journal;
  }

  /** Calls `listener` when this hub starts a journal (not one loaded at start): group-journal.ts tells the group. */
  onStart(listener: () => void): void {
    this.started.add(listener);
  }

  /** As the hub stops: stop hearing, and save what it knows for the next start. Never throws. */
  close(): void {
    const journal = this.journal;
    if (!journal) return;
    journal.close();
    if (!this.path) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      this.deps.atRest.writeFile(this.path, PURPOSE, Buffer.from(JSON.stringify(journal.save())));
    } catch (err) {
      // The next start then refuses older cursors as too old (a full export): nothing is lost.
      this.deps.logger.error({ err: (err as Error).message }, 'export: could not save the change journal; older incremental cursors will need a full export');
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
