// The export benchmark's child (scripts/bench/suites/history-export.ts), two modes so the
// measured process holds nothing but the export:
//   seed DIR ROWS   writes ROWS finished runs over 30 UTC days into DIR (the history store)
//   export DIR      exports all of DIR as Parquet to DIR/out.parquet; prints one JSON line
//                   {rows, seconds, baseMiB, peakMiB}: VmRSS before, VmHWM after
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { HistoryJob } from '../../../shared/history/index.js';
import { exportHistory, filterFingerprint } from '../../../hub/export/index.js';
import { HistoryEngine, HistoryStore } from '../../../hub/history/index.js';
import { memory } from '../lib/proc.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);

function job(i: number, rows: number): HistoryJob {
  const end = T0 + Math.floor((i / rows) * 30 * DAY);
  return {
    cluster: `c${i % 4}`, job_id: i + 1, submit_time: end - 7_200_000, start_time: end - 3_600_000, end_time: end, name: `bench-${i % 1000}`,
    user: `user${i % 500}`, account: `acct${i % 40}`, partition: i % 3 ? 'batch' : 'gpu', qos: 'normal', state: i % 17 ? 'COMPLETED' : 'FAILED',
    exit_code: i % 17 ? 0 : 1, exit_signal: 0, alloc_tres: 'billing=8,cpu=8,mem=16G,node=1', cpus: 8, gpus: i % 3 ? 0 : 1, memory_mb: 16_384,
    node_count: 1, node_list: `n${i % 2000}`, nodes: [`n${i % 2000}`],
  };
}

async function main(): Promise<void> {
  const [mode, dir, rowsText] = process.argv.slice(2);
  if (!dir) throw new Error('usage: history-export.js seed|export DIR [ROWS]');
  const engine = await HistoryEngine.open({ threads: 2, memoryLimit: '512MB' });
  const store = new HistoryStore({ engine, fence: { owns: () => true } }, { dir });
  try {
    if (mode === 'seed') {
      const rows = Number(rowsText);
      // One day at a time: each upsert writes one partition once.
      const perDay = Math.ceil(rows / 30);
      for (let start = 0; start < rows; start += perDay) {
        await store.upsert(Array.from({ length: Math.min(perDay, rows - start) }, (_, k) => job(start + k, rows)));
      }
      return;
    }
    const base = memory(process.pid).rssMiB;
    const t = process.hrtime.bigint();
    const result = await exportHistory({ engine, store, scratchDir: join(dir, 'scratch') }, { format: 'parquet', filter: {}, fingerprint: filterFingerprint({}), rows: null });
    await pipeline(result.body, createWriteStream(join(dir, 'out.parquet')));
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    process.stdout.write(`${JSON.stringify({ rows: result.rows, seconds, baseMiB: base, peakMiB: memory(process.pid).hwmMiB })}\n`);
  } finally {
    engine.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
