// Issue 16: a usage report over 10M history rows in <= 5 s warm and <= 15 s cold. The generated
// history (lib/history-data.ts: 20 clusters x 365 days) is the data directory of a real hub;
// `sfleet report usage --by account|user --since 365d` is timed as a user runs it (the CLI's
// start included). Cold: the first query after the hub starts, the page cache dropped first
// when the bench runs as root (the table's note says whether it was); warm: the median of the
// next five. The hub's CPU seconds per warm query are reported too: on a loaded shared machine
// they say more about the work than the wall time does. The hub's reads use its mirror of the
// closed days (hub/history/mirror.ts): it is built once first (its time and size are reported),
// as on a hub that has run a while; a restart keeps it.
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LoginHub } from '../../../test/harness/login-hub.js';
import { cpuSeconds } from '../lib/proc.js';
import { fullSizeTarget, measured, round, type BenchContext, type Measured } from '../lib/context.js';
import { clientArgs, dropPageCache, historyDataset, historyHub, historyRows, installHistory, timedSfleet } from '../lib/history-data.js';

const WARM = 5;

export async function historyReportBench(ctx: BenchContext): Promise<Measured[]> {
  const rows = historyRows(ctx);
  const dataset = await historyDataset(ctx, rows);
  const home = mkdtempSync(join(ctx.workDir, 'history-report-'));
  // info: the mirror's "up to date" line is how the bench knows its first build ended.
  const hub = historyHub(ctx, home, undefined, 'info');
  installHistory(dataset, hub.dataDir);
  const out: Measured[] = [];
  try {
    const t0 = performance.now();
    await hub.start();
    const built = await mirrorBuilt(hub, 3_600_000);
    const buildS = (performance.now() - t0) / 1000;
    const mib = dirBytes(join(hub.dataDir, 'history', 'mirror')) / 2 ** 20;
    ctx.log(`history mirror: ${built.loaded} days built in ${(built.ms / 1000).toFixed(1)} s (hub start to done ${buildS.toFixed(1)} s), ${mib.toFixed(0)} MiB (Parquet ${(dataset.bytes / 2 ** 20).toFixed(0)} MiB)`);
    out.push(
      measured(ctx, 'history_mirror_build_s', round(built.ms / 1000, 1), 's', { note: `${built.loaded} days, first build from the Parquet days (in the background)` }),
      measured(ctx, 'history_mirror_mib', round(mib, 0), 'MiB', { note: `on disk, beside ${(dataset.bytes / 2 ** 20).toFixed(0)} MiB of Parquet` }),
    );
    for (const by of ['account', 'user'] as const) {
      await hub.stop();
      const dropped = dropPageCache();
      await hub.start();
      const args = ['report', 'usage', '--by', by, '--since', '365d', '-o', 'json', ...clientArgs(ctx, hub)];
      const ask = async (): Promise<{ seconds: number; hubCpu: number; jobs: number; groups: number }> => {
        const cpu0 = cpuSeconds(hub.pid);
        const t = await timedSfleet(args, process.env, 600_000);
        const items = JSON.parse(t.stdout) as { jobs: number }[];
        return { seconds: t.seconds, hubCpu: cpuSeconds(hub.pid) - cpu0, jobs: items.reduce((s, r) => s + r.jobs, 0), groups: items.length };
      };
      const cold = await ask();
      // Every run of the last 365 days: the dataset spans 365 days ending at most a week ago.
      if (cold.jobs < rows * 0.97 || cold.jobs > rows) throw Object.assign(new Error(`report usage --by ${by}: ${cold.jobs} runs of ${rows}`), { partial: out });
      const warm: number[] = [];
      const cpu: number[] = [];
      for (let i = 0; i < WARM; i++) {
        const a = await ask();
        warm.push(a.seconds);
        cpu.push(a.hubCpu);
      }
      warm.sort((a, b) => a - b);
      cpu.sort((a, b) => a - b);
      const median = warm[Math.floor(WARM / 2)];
      const cpuMedian = cpu[Math.floor(WARM / 2)];
      ctx.log(`history report --by ${by}: ${cold.jobs} runs in ${cold.groups} groups; cold ${cold.seconds.toFixed(2)} s${dropped ? ' (page cache dropped)' : ''}, warm ${warm.map((s) => s.toFixed(2)).join(' ')} s, hub CPU ${cold.hubCpu.toFixed(1)} s cold, ${cpu.map((s) => s.toFixed(1)).join(' ')} s warm`);
      const note = `${cold.jobs} runs, ${dataset.files} files, ${(dataset.bytes / 2 ** 20).toFixed(0)} MiB`;
      out.push(
        measured(ctx, `history_report_${by}_cold_s`, round(cold.seconds, 2), 's', { ...fullSizeTarget(ctx, '<= 15', cold.seconds <= 15), note: `${note}; page cache ${dropped ? 'dropped' : 'NOT dropped (not root)'}` }),
        measured(ctx, `history_report_${by}_warm_s`, round(median, 2), 's', { ...fullSizeTarget(ctx, '<= 5', median <= 5), note: `median of ${WARM}: ${warm.map((s) => s.toFixed(1)).join(', ')}` }),
        measured(ctx, `history_report_${by}_warm_hub_cpu_s`, round(cpuMedian, 2), 's', { note: `hub CPU (user+system) a warm query, median; cold ${cold.hubCpu.toFixed(1)} s` }),
      );
    }
  } catch (err) {
    // The figures measured before the failure still go in the table (main.ts reads `partial`).
    throw Object.assign(err as Error, { partial: out });
  } finally {
    await hub.stop();
  }
  return out;
}

/** Waits for the hub's log line that its mirror's build ended (days loaded, milliseconds). */
async function mirrorBuilt(hub: LoginHub, timeoutMs: number): Promise<{ loaded: number; ms: number }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    for (const line of hub.log().split('\n')) {
      if (!line.includes('job history mirror')) continue;
      const rec = JSON.parse(line) as { msg: string; loaded?: number; ms?: number; err?: string };
      if (rec.msg.includes('failed')) throw new Error(`the hub's history mirror failed to build: ${rec.err}`);
      if (rec.loaded) return { loaded: rec.loaded, ms: rec.ms ?? Number.NaN };
    }
    if (Date.now() > until) throw new Error('the history mirror was not built in time');
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
}
