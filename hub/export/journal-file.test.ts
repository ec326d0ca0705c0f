// The change journal across a hub restart: saved as the hub stops, loaded as it starts, so an
// incremental jobs export goes on with the deletes from before and during the restart. Opened
// without the store's replay (the state loaded past what the saved journal heard) old cursors are
// refused. Opened before the store loads (as the hub does), it hears the WAL past its last
// periodic save: a crash keeps the series incremental, unless a checkpoint replaced the WAL since.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { AtRest } from '../../shared/crypto/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import type { Delta } from '../../generated/fleet/v1/agent.js';
import { FleetState } from '../fleet/index.js';
import { FleetStore } from '../store/index.js';
import { RowFilter } from '../policy/index.js';
import { ExportCursorTooOldError, ExportJournal, exportFleet } from './index.js';

const job = (id: number) => testJob(id, { state: 'RUNNING' });

/** A hub process: its state loaded from what the store kept (not heard), then its journal opened. */
function start(dataDir: string, kept: Delta[], atRest = AtRest.plaintext()): { state: FleetState; journals: ExportJournal } {
  const state = new FleetState();
  for (const d of kept) state.apply(d, { notify: false });
  return { state, journals: new ExportJournal({ state, dataDir, atRest, logger: silentLogger() }) };
}

async function exportJobs(h: { state: FleetState; journals: ExportJournal }, cursor?: string): Promise<{ ops: string[]; cursor: string }> {
  if (cursor !== undefined) h.journals.start();
  const journal = h.journals.current;
  const out = await exportFleet(
    { engine: () => Promise.reject(new Error('no parquet here')), scratchDir: tmpdir(), state: h.state, ...(journal ? { journal } : {}) },
    { kind: 'jobs', format: 'ndjson', filter: {}, fingerprint: 'f', rows: RowFilter.ALL, ...(cursor ? { cursor } : {}) },
  );
  const ops = (await buffer(out.body)).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string; id: number }).map((r) => `${r.op} ${r.id}`);
  return { ops: ops.sort(), cursor: out.cursor };
}

describe('the export change journal across restarts', () => {
  const deltas = [
    jobDelta([job(1), job(2), job(3)], { snapshot: true, epoch: 7, seq: 1 }),
    jobDelta([], { epoch: 7, seq: 2, removedJobs: [1] }),
    jobDelta([job(4)], { epoch: 7, seq: 3, removedJobs: [2] }),
    jobDelta([], { epoch: 7, seq: 4, removedJobs: [3] }),
  ];

  it('a graceful restart keeps the series incremental: deletes before and after the restart are delete rows', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'journal-file-'));
    const first = start(dataDir, [deltas[0]]);
    expect(first.journals.current).toBeUndefined(); // nobody exported incrementally yet: no journal, no cost
    const full = await exportJobs(first, '');
    expect(full.ops).toEqual(['upsert 1', 'upsert 2', 'upsert 3']);
    first.state.apply(deltas[1]);
    await first.journals.close();
    const file = join(dataDir, 'export', 'change-journal.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // The restarted hub loads its state (through seq 2) and the journal, then hears seq 3.
    const second = start(dataDir, deltas.slice(0, 2));
    expect(second.journals.current).toBeDefined();
    second.state.apply(deltas[2]);
    const changes = await exportJobs(second, full.cursor);
    expect(changes.ops).toEqual(['delete 1', 'delete 2', 'upsert 4']);

    // A crash: the state loads past what the saved journal heard (seq 4 came from the WAL), so the
    // journal cannot say what changed between: the old cursor is refused, never answered with a gap.
    const third = start(dataDir, deltas);
    await expect(exportJobs(third, changes.cursor)).rejects.toThrow(ExportCursorTooOldError);
    const again = await exportJobs(third, '');
    expect(again.ops).toEqual(['upsert 4']);
    third.state.apply(jobDelta([job(5)], { epoch: 7, seq: 5 }));
    expect((await exportJobs(third, again.cursor)).ops).toEqual(['upsert 5']);
  });

  it('is sealed under the key at rest (it names the users of removed jobs), and an unreadable file means every old cursor is too old', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'journal-file-'));
    const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(dataDir, '..', `keyring-${process.pid}-${Date.now()}.json`) } });
    const first = start(dataDir, [deltas[0]], atRest);
    const full = await exportJobs(first, '');
    first.state.apply(deltas[1]);
    await first.journals.close();
    const file = join(dataDir, 'export', 'change-journal.json');
    expect(readFileSync(file).includes(Buffer.from(testJob(1).user))).toBe(false);
    expect((await exportJobs(start(dataDir, deltas.slice(0, 2), atRest), full.cursor)).ops).toEqual(['delete 1']);
    // Read without the key: set aside, a fresh journal (incremental exports stay on), old cursors too old.
    const blind = start(dataDir, deltas.slice(0, 2));
    expect(blind.journals.current).toBeDefined();
    await expect(exportJobs(blind, full.cursor)).rejects.toThrow(ExportCursorTooOldError);
  });
});

describe('the export change journal across a crash (SIGKILL): the WAL replay', () => {
  /** A hub process as hub/start/fleet.ts opens it: the journal first, then the store's load with its replay. */
  function boot(dataDir: string): { state: FleetState; store: FleetStore; journals: ExportJournal } {
    const state = new FleetState();
    const store = new FleetStore({ dataDir }, { logger: silentLogger() });
    const journals = new ExportJournal({ state, dataDir, atRest: AtRest.plaintext(), logger: silentLogger(), replaying: true, saveEveryMs: 3_600_000 });
    store.load(state, journals.replayed);
    journals.loaded();
    return { state, store, journals };
  }
  /** What the hub does with an agent's delta: durable in the store, then applied. */
  const ingest = (h: { state: FleetState; store: FleetStore }, d: Delta): void => {
    h.store.append(d);
    h.state.apply(d);
  };

  it('hears what the WAL holds after its last save, so the cursor stays incremental with every delete', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'journal-crash-'));
    const first = boot(dataDir);
    ingest(first, jobDelta([job(1), job(2), job(3)], { snapshot: true, epoch: 7, seq: 1 }));
    const full = await exportJobs(first, '');
    expect(full.ops).toEqual(['upsert 1', 'upsert 2', 'upsert 3']);
    ingest(first, jobDelta([], { epoch: 7, seq: 2, removedJobs: [1] }));
    await first.journals.save(); // the periodic save
    ingest(first, jobDelta([job(4)], { epoch: 7, seq: 3, removedJobs: [2] }));
    ingest(first, jobDelta([], { epoch: 7, seq: 4, removedJobs: [3] }));
    // SIGKILL: nothing is closed; the journal on disk heard seq 2, the WAL holds seq 4.

    const second = boot(dataDir);
    expect(second.state.clusters.get('a')).toMatchObject({ epoch: 7, seq: 4 });
    const changes = await exportJobs(second, full.cursor);
    expect(changes.ops).toEqual(['delete 1', 'delete 2', 'delete 3', 'upsert 4']);
    ingest(second, jobDelta([job(5)], { epoch: 7, seq: 5, removedJobs: [4] }));
    expect((await exportJobs(second, changes.cursor)).ops).toEqual(['delete 4', 'upsert 5']);
    // A second crash before any save: the journal saved by the first boot's save plus two WALs' worth.
    const third = boot(dataDir);
    expect((await exportJobs(third, changes.cursor)).ops).toEqual(['delete 4', 'upsert 5']);
    await third.journals.close();
    third.store.close(third.state);
  });

  it('a snapshot after the last save replaced the WAL: that cluster is too old after a crash, never answered with a gap', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'journal-crash-'));
    const first = boot(dataDir);
    ingest(first, jobDelta([job(1), job(2)], { snapshot: true, epoch: 7, seq: 1 }));
    const full = await exportJobs(first, '');
    await first.journals.save();
    // The agent resynced (a new epoch): the checkpoint now starts after what the journal heard.
    ingest(first, jobDelta([job(2)], { snapshot: true, epoch: 8, seq: 1 }));
    const second = boot(dataDir);
    await expect(exportJobs(second, full.cursor)).rejects.toThrow(ExportCursorTooOldError);
    // Saved soon after a snapshot, the same crash is survived: job 1 went with the snapshot.
    const third = boot(dataDir);
    const again = await exportJobs(third, '');
    ingest(third, jobDelta([job(3)], { snapshot: true, epoch: 9, seq: 1 }));
    await new Promise((r) => setTimeout(r, 400));
    ingest(third, jobDelta([], { epoch: 9, seq: 2, removedJobs: [3] }));
    const fourth = boot(dataDir);
    expect((await exportJobs(fourth, again.cursor)).ops).toEqual(['delete 2', 'delete 3']);
  });
});
