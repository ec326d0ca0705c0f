// Issue 16's export target (1M jobs to Parquet at >= 100k rows/s, peak RSS growth <= 256 MiB)
// for the exports of what the hub holds: jobs (the target as written), nodes and this hub's audit
// chain (the same figures: the issue names none of their own). Each is measured in a fresh child
// (children/fleet-export.ts) that first builds its source (a fleet state, or an audit chain a
// seeding child wrote), then exports it: RSS growth is VmHWM after the file minus VmRSS before.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../../test/harness/index.js';
import { fullSizeTarget, measured, round, type BenchContext, type Measured } from '../lib/context.js';

const run = promisify(execFile);
const CHILD = join(ROOT, 'dist/scripts/bench/children/fleet-export.js');

interface ChildResult {
  rows: number;
  seconds: number;
  baseMiB: number;
  peakMiB: number;
}

async function child(ctx: BenchContext, args: string[]): Promise<ChildResult> {
  const prof = ctx.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(ctx.workDir, 'profiles')}`, `--cpu-prof-name=fleet-export-${args[0]}.cpuprofile`] : [];
  const { stdout } = await run(process.execPath, ['--expose-gc', ...prof, CHILD, ...args], { timeout: 1_800_000, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim() || '{}') as ChildResult;
}

function figures(ctx: BenchContext, kind: string, r: ChildResult, expected: number): Measured[] {
  if (r.rows !== expected) throw new Error(`${kind} export: exported ${r.rows} rows of ${expected}`);
  const perSecond = r.rows / r.seconds;
  const growth = r.peakMiB - r.baseMiB;
  ctx.log(`${kind} export: ${r.rows} rows in ${r.seconds.toFixed(1)} s, RSS ${r.baseMiB.toFixed(0)} -> peak ${r.peakMiB.toFixed(0)} MiB`);
  return [
    measured(ctx, `export_${kind}_parquet_rows_per_s`, Math.round(perSecond), 'rows/s', { ...fullSizeTarget(ctx, '>= 100000', perSecond >= 100_000), note: `${r.rows} rows in ${r.seconds.toFixed(1)} s` }),
    measured(ctx, `export_${kind}_parquet_rss_growth_mib`, round(growth, 1), 'MiB', { ...fullSizeTarget(ctx, '<= 256', growth <= 256), note: `VmRSS ${r.baseMiB.toFixed(0)} MiB with the source held, VmHWM ${r.peakMiB.toFixed(0)} MiB after` }),
  ];
}

export async function fleetExportBench(ctx: BenchContext): Promise<Measured[]> {
  const jobs = ctx.quick ? 200_000 : 1_000_000;
  const nodes = ctx.quick ? 20_000 : 100_000;
  const records = ctx.quick ? 50_000 : 1_000_000;
  const dir = (name: string): string => {
    const d = join(ctx.workDir, `fleet-export-${name}`);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const out: Measured[] = [];
  ctx.log(`fleet export: ${jobs} jobs`);
  out.push(...figures(ctx, 'jobs', await child(ctx, ['jobs', dir('jobs'), String(jobs)]), jobs));
  ctx.log(`fleet export: ${nodes} nodes`);
  out.push(...figures(ctx, 'nodes', await child(ctx, ['nodes', dir('nodes'), String(nodes)]), nodes));
  ctx.log(`fleet export: seeding ${records} audit records`);
  const audit = dir('audit');
  await run(process.execPath, [CHILD, 'audit-seed', audit, String(records)], { timeout: 3_600_000, maxBuffer: 1 << 20 });
  // The chain holds the seeded records and the audit log's own opening record(s).
  const r = await child(ctx, ['audit', audit]);
  out.push(...figures(ctx, 'audit', r, r.rows >= records ? r.rows : records));
  return out;
}
