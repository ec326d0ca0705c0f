// Issue 16: exporting 1M history rows to Parquet at >= 100k rows/s with peak RSS growth <= 256
// MiB. The rows are seeded by one child process; a fresh one exports them (so its VmHWM is the
// export's), from VmRSS after the engine opened to VmHWM after the file is written.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../../test/harness/index.js';
import { fullSizeTarget, measured, round, type BenchContext, type Measured } from '../lib/context.js';

const run = promisify(execFile);
const CHILD = join(ROOT, 'dist/scripts/bench/children/history-export.js');

export async function historyExportBench(ctx: BenchContext): Promise<Measured[]> {
  const rows = ctx.quick ? 200_000 : 1_000_000;
  const dir = join(ctx.workDir, 'history-export');
  ctx.log(`history export: seeding ${rows} runs`);
  await run(process.execPath, [CHILD, 'seed', dir, String(rows)], { timeout: 1_800_000, maxBuffer: 1 << 20 });
  const { stdout } = await run(process.execPath, [CHILD, 'export', dir], { timeout: 1_800_000, maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout.trim()) as { rows: number; seconds: number; baseMiB: number; peakMiB: number };
  if (r.rows !== rows) throw new Error(`history export: exported ${r.rows} rows of ${rows}`);
  const perSecond = r.rows / r.seconds;
  const growth = r.peakMiB - r.baseMiB;
  ctx.log(`history export: ${r.rows} rows in ${r.seconds.toFixed(1)} s, RSS ${r.baseMiB.toFixed(0)} -> peak ${r.peakMiB.toFixed(0)} MiB`);
  return [
    measured(ctx, 'export_parquet_rows_per_s', Math.round(perSecond), 'rows/s', { ...fullSizeTarget(ctx, '>= 100000', perSecond >= 100_000), note: `${r.rows} rows in ${r.seconds.toFixed(1)} s` }),
    measured(ctx, 'export_parquet_rss_growth_mib', round(growth, 1), 'MiB', { ...fullSizeTarget(ctx, '<= 256', growth <= 256), note: `VmRSS ${r.baseMiB.toFixed(0)} MiB before, VmHWM ${r.peakMiB.toFixed(0)} MiB after` }),
  ];
}
