// Issue 16: a usage report over 10M history rows in <= 5 s warm and <= 15 s cold. The generated
// history (lib/history-data.ts: 20 clusters x 365 days) is the data directory of a real hub;
// `sfleet report usage --by account|user --since 365d` is timed as a user runs it (the CLI's
// start included). Cold: the first query after the hub starts, the page cache dropped first
// when the bench runs as root (the table's note says whether it was); warm: the median of the
// next five.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fullSizeTarget, measured, round, type BenchContext, type Measured } from '../lib/context.js';
import { clientArgs, dropPageCache, historyDataset, historyHub, historyRows, installHistory, timedSfleet } from '../lib/history-data.js';

const WARM = 5;

export async function historyReportBench(ctx: BenchContext): Promise<Measured[]> {
  const rows = historyRows(ctx);
  const dataset = await historyDataset(ctx, rows);
  const home = mkdtempSync(join(ctx.workDir, 'history-report-'));
  const hub = historyHub(ctx, home);
  installHistory(dataset, hub.dataDir);
  const out: Measured[] = [];
  try {
    for (const by of ['account', 'user'] as const) {
      await hub.stop();
      const dropped = dropPageCache();
      await hub.start();
      const args = ['report', 'usage', '--by', by, '--since', '365d', '-o', 'json', ...clientArgs(ctx, hub)];
      const ask = async (): Promise<{ seconds: number; jobs: number; groups: number }> => {
        const t = await timedSfleet(args, process.env, 600_000);
        const items = JSON.parse(t.stdout) as { jobs: number }[];
        return { seconds: t.seconds, jobs: items.reduce((s, r) => s + r.jobs, 0), groups: items.length };
      };
      const cold = await ask();
      // Every run of the last 365 days: the dataset spans 365 days ending at most a week ago.
      if (cold.jobs < rows * 0.97 || cold.jobs > rows) throw Object.assign(new Error(`report usage --by ${by}: ${cold.jobs} runs of ${rows}`), { partial: out });
      const warm: number[] = [];
      for (let i = 0; i < WARM; i++) warm.push((await ask()).seconds);
      warm.sort((a, b) => a - b);
      const median = warm[Math.floor(WARM / 2)];
      ctx.log(`history report --by ${by}: ${cold.jobs} runs in ${cold.groups} groups; cold ${cold.seconds.toFixed(2)} s${dropped ? ' (page cache dropped)' : ''}, warm ${warm.map((s) => s.toFixed(2)).join(' ')} s`);
      const note = `${cold.jobs} runs, ${dataset.files} files, ${(dataset.bytes / 2 ** 20).toFixed(0)} MiB`;
      out.push(
        measured(ctx, `history_report_${by}_cold_s`, round(cold.seconds, 2), 's', { ...fullSizeTarget(ctx, '<= 15', cold.seconds <= 15), note: `${note}; page cache ${dropped ? 'dropped' : 'NOT dropped (not root)'}` }),
        measured(ctx, `history_report_${by}_warm_s`, round(median, 2), 's', { ...fullSizeTarget(ctx, '<= 5', median <= 5), note: `median of ${WARM}: ${warm.map((s) => s.toFixed(1)).join(', ')}` }),
      );
    }
  } finally {
    await hub.stop();
  }
  return out;
}
