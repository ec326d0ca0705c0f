// Issue 16: restoring a hub with 10M history rows (target <= 15 min on this VM). The generated
// history (lib/history-data.ts) is the data directory of a real hub; POST /api/v1/backups (what
// `sfleet backup create` sends; the CLI gives up after 60 s, which a loaded machine exceeded at
// 10M runs) writes an encrypted backup to a local destination, the hub stops, and `sfleet backup restore
// --set data_dir=<fresh>` is timed with its peak RSS. The restored history must have every
// file and byte of the original.
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { httpsCall } from '../../../test/harness/index.js';
import { fullSizeTarget, measured, round, type BenchContext, type Measured } from '../lib/context.js';
import { historyDataset, historyHub, historyRows, installHistory, timedSfleet } from '../lib/history-data.js';

function parquetUnder(dir: string): { files: number; bytes: number } {
  let [files, bytes] = [0, 0];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.parquet')) {
      files++;
      bytes += statSync(join(e.parentPath, e.name)).size;
    }
  }
  return { files, bytes };
}

export async function restore10mBench(ctx: BenchContext): Promise<Measured[]> {
  const rows = historyRows(ctx);
  const dataset = await historyDataset(ctx, rows);
  const home = mkdtempSync(join(ctx.workDir, 'restore-10m-'));
  const hub = historyHub(ctx, home, join(home, 'backups'));
  installHistory(dataset, hub.dataDir);
  let created: { seconds: number; body: string };
  try {
    await hub.start();
    const t0 = performance.now();
    const answer = await httpsCall(`${hub.httpUrl}/api/v1/backups`, { method: 'POST', ca: ctx.pki.ca, cert: ctx.pki.client.cert, key: ctx.pki.client.key, timeoutMs: 3_600_000 });
    if (answer.status !== 200 && answer.status !== 201) throw new Error(`backup create: ${answer.status} ${answer.body.slice(0, 500)}`);
    created = { seconds: (performance.now() - t0) / 1000, body: answer.body };
  } finally {
    await hub.stop();
  }
  ctx.log(`restore: backup ${created.body.slice(0, 200)} in ${created.seconds.toFixed(1)} s`);
  const fresh = join(home, 'restored');
  const restored = await timedSfleet(['backup', 'restore', '--config', hub.configFile, '--set', `data_dir=${fresh}`], hub.env, 3_600_000);
  const got = parquetUnder(join(fresh, 'history'));
  if (got.files !== dataset.files || got.bytes !== dataset.bytes) throw new Error(`restore: ${got.files} files, ${got.bytes} bytes of history; the backup's hub had ${dataset.files}, ${dataset.bytes}`);
  ctx.log(`restore: ${restored.stdout.trim()} in ${restored.seconds.toFixed(1)} s, peak RSS ${restored.peakMiB.toFixed(0)} MiB`);
  const minutes = restored.seconds / 60;
  const what = `${rows} runs in ${dataset.files} files, ${(dataset.bytes / 2 ** 20).toFixed(0)} MiB`;
  return [
    measured(ctx, 'restore_10m_minutes', round(minutes, 2), 'min', { ...fullSizeTarget(ctx, '<= 15', minutes <= 15), note: `${what}; backup create ${created.seconds.toFixed(0)} s` }),
    measured(ctx, 'restore_10m_peak_rss_mib', round(restored.peakMiB, 0), 'MiB', { note: 'peak RSS of sfleet backup restore (GNU time)' }),
  ];
}
