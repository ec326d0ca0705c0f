// `sfleet import history FILE... [--format F]`: runs from history exports into a hub (POST
// /api/v1/history/import, permission history:import), for a site moving to a new hub group or
// merging an old one. Every file is read and checked before anything is sent (a piece at a
// time: a file of any size is never held whole); rows go in batches that fit the hub's body
// limit, and the hub upserts them by (cluster, job_id, submit_time), so running the same import
// again changes nothing.
import type { Command } from 'commander';
import type { HistoryJobView } from '../../shared/history/index.js';
import { assertRereadable, historyRuns } from '../import/index.js';
import { clientFrom, withConnection } from './connection-options.js';

/** Below the hub's default http.max_body (64 KiB), with room for the envelope. */
const BATCH_BYTES = 48 * 1024;

/** Runs in batches of at most BATCH_BYTES of JSON, as they are read. */
async function* batches(runs: AsyncIterable<HistoryJobView>): AsyncGenerator<HistoryJobView[]> {
  let batch: HistoryJobView[] = [];
  let bytes = 0;
  for await (const job of runs) {
    const size = Buffer.byteLength(JSON.stringify(job)) + 1;
    if (batch.length && bytes + size > BATCH_BYTES) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(job);
    bytes += size;
  }
  if (batch.length) yield batch;
}

export function registerImportCommands(program: Command): void {
  const cmd = program.command('import').description('import data into a hub: job history from export files');
  withConnection(
    cmd
      .command('history <files...>')
      .description('job runs from history exports (parquet, csv, json, ndjson as sfleet export history writes them); idempotent by (cluster, job_id, submit_time)')
      .option('--format <format>', 'parquet|csv|json|ndjson (default: by the file name, else by its first bytes)'),
  ).action(async (files: string[], opts: Record<string, string | undefined>) => {
    // Two passes, each a piece at a time: every file is checked first, so a bad row in the last
    // file sends nothing at all; then the runs are read again and sent.
    for (const file of files) assertRereadable(file);
    for (const file of files) for await (const job of historyRuns(file, opts.format)) void job;
    const client = clientFrom(opts);
    for (const file of files) {
      let rows = 0;
      let tombstones = 0;
      for await (const batch of batches(historyRuns(file, opts.format, () => tombstones++))) rows += (await client.json<{ rows: number }>('POST', '/api/v1/history/import', { jobs: batch })).rows;
      process.stderr.write(`${file}: ${rows} runs imported${tombstones ? `, ${tombstones} retention tombstones skipped` : ''}\n`);
    }
  });
}
