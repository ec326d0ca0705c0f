// Issue 16: restore and verify stream each backup object. Peak RSS of `sfleet backup restore`
// (the CLI, under /usr/bin/time) and of a backup verify (the hub's verifyIn, in a child) on a
// backup holding one large history file (300 MiB; 64 MiB quick), for this build and, when
// SFLEET_BENCH_BEFORE names another built checkout (e.g. /work/main), for that one
// too in the same run: the ratio is this build's peak over the other's.
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../../test/harness/index.js';
import { measured, round, type BenchContext, type Measured } from '../lib/context.js';

const run = promisify(execFile);
const CHILD = join(ROOT, 'dist/scripts/bench/children/backup-restore.js');

async function restorePeak(checkout: string, dir: string, env: NodeJS.ProcessEnv): Promise<{ peakMiB: number; seconds: number }> {
  rmSync(join(dir, 'restored'), { recursive: true, force: true });
  const t = Date.now();
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'maxrss_kib=%M', process.execPath, join(checkout, 'bin/sfleet.js'), 'backup', 'restore', '--config', join(dir, 'hub.yaml')], { env, timeout: 1_800_000, maxBuffer: 1 << 20 });
  if (!/^restored backup /.test(stdout)) throw new Error(`backup restore (${checkout}): ${stdout}${stderr}`);
  const kib = Number(/maxrss_kib=(\d+)/.exec(stderr)?.[1]);
  return { peakMiB: kib / 1024, seconds: (Date.now() - t) / 1000 };
}

async function verifyPeak(checkout: string, dir: string, env: NodeJS.ProcessEnv): Promise<{ peakMiB: number; growthMiB: number; seconds: number }> {
  const { stdout } = await run(process.execPath, [CHILD, 'verify', join(checkout, 'dist'), dir], { env, timeout: 1_800_000, maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout.trim()) as { ok: boolean; error?: string; seconds: number; baseMiB: number; peakMiB: number };
  if (!r.ok) throw new Error(`backup verify (${checkout}): ${r.error}`);
  return { peakMiB: r.peakMiB, growthMiB: r.peakMiB - r.baseMiB, seconds: r.seconds };
}

export async function backupRestoreBench(ctx: BenchContext): Promise<Measured[]> {
  const mib = ctx.quick ? 64 : 300;
  const dir = join(ctx.workDir, 'backup-restore');
  const env = { ...process.env, SFLEET_BACKUP_KEY: Buffer.alloc(32, 11).toString('base64') };
  ctx.log(`backup restore: a backup with a ${mib} MiB history file`);
  await run(process.execPath, [CHILD, 'make', dir, String(mib)], { env, timeout: 1_800_000, maxBuffer: 1 << 20 });
  const builds: [string, string][] = [['this', ROOT]];
  const before = process.env.SFLEET_BENCH_BEFORE;
  if (before && existsSync(join(before, 'dist/cli/main.js'))) builds.push(['before', before]);
  const out: Measured[] = [];
  const peaks = new Map<string, { restore: number; verify: number }>();
  for (const [label, checkout] of builds) {
    const r = await restorePeak(checkout, dir, env);
    const v = await verifyPeak(checkout, dir, env);
    peaks.set(label, { restore: r.peakMiB, verify: v.peakMiB });
    ctx.log(`backup restore (${label} build, ${checkout}): restore peak RSS ${r.peakMiB.toFixed(0)} MiB in ${r.seconds.toFixed(1)} s; verify peak ${v.peakMiB.toFixed(0)} MiB (growth ${v.growthMiB.toFixed(0)}) in ${v.seconds.toFixed(1)} s`);
    if (label === 'this') {
      out.push(measured(ctx, 'backup_restore_peak_rss_mib', round(r.peakMiB, 1), 'MiB', { note: `sfleet backup restore of a backup with a ${mib} MiB file, ${r.seconds.toFixed(1)} s` }));
      out.push(measured(ctx, 'backup_verify_peak_rss_mib', round(v.peakMiB, 1), 'MiB', { note: `verify of the same backup, growth ${v.growthMiB.toFixed(0)} MiB, ${v.seconds.toFixed(1)} s` }));
    }
  }
  const b = peaks.get('before');
  if (b) {
    const t = peaks.get('this')!;
    out.push(measured(ctx, 'backup_restore_peak_rss_vs_before', round(t.restore / b.restore, 3), 'ratio', { note: `${t.restore.toFixed(0)} / ${b.restore.toFixed(0)} MiB (${before})` }));
    out.push(measured(ctx, 'backup_verify_peak_rss_vs_before', round(t.verify / b.verify, 3), 'ratio', { note: `${t.verify.toFixed(0)} / ${b.verify.toFixed(0)} MiB (${before})` }));
  }
  return out;
}
