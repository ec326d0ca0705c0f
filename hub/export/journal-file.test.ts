// The change journal across a hub restart: saved as the hub stops, loaded as it starts, so an
// incremental jobs export goes on with the deletes from before and during the restart. After a
// crash (the state loaded past what the saved journal heard) old cursors are refused as before.
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
    first.journals.close();
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
    first.journals.close();
    const file = join(dataDir, 'export', 'change-journal.json');
    expect(readFileSync(file).includes(Buffer.from(testJob(1).user))).toBe(false);
    expect((await exportJobs(start(dataDir, deltas.slice(0, 2), atRest), full.cursor)).ops).toEqual(['delete 1']);
    // Read without the key: set aside, a fresh journal (incremental exports stay on), old cursors too old.
    const blind = start(dataDir, deltas.slice(0, 2));
    expect(blind.journals.current).toBeDefined();
    await expect(exportJobs(blind, full.cursor)).rejects.toThrow(ExportCursorTooOldError);
  });
});
