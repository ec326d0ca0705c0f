// The history-report and restore-10m benchmarks' shared parts: the generated history (made once
// per size, generator version and week, then kept between runs), a hub whose data directory
// holds it, and the timed `sfleet` commands.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LoginHub, ROOT, SFLEET } from '../../../test/harness/index.js';
import type { BenchContext } from './context.js';

const run = promisify(execFile);
const CHILD = join(ROOT, 'dist/scripts/bench/children/history-dataset.js');
/** Bump with children/history-dataset.ts's GENERATOR_VERSION (read here without importing DuckDB). */
const GENERATOR_VERSION = 1;
const DAY_MS = 86_400_000;

export interface Dataset {
  /** The history directory (holds jobs/). */
  dir: string;
  rows: number;
  files: number;
  bytes: number;
  /** Seconds the generation took (when this run generated it), else undefined. */
  generated?: number;
}

export const historyRows = (ctx: BenchContext): number => (ctx.quick ? 200_000 : 10_000_000);

/**
 * The dataset ends at the Monday 00:00 UTC of this week, so `--since 365d` covers all but at most
 * a week of it and the cache (SFLEET_BENCH_CACHE, default ~/.cache/sfleet-bench) is reused all week.
 */
export async function historyDataset(ctx: BenchContext, rows: number): Promise<Dataset> {
  const today = Math.floor(Date.now() / DAY_MS);
  const end = (today - ((new Date(today * DAY_MS).getUTCDay() + 6) % 7)) * DAY_MS;
  const cache = process.env.SFLEET_BENCH_CACHE ?? join(homedir(), '.cache', 'sfleet-bench');
  const prefix = `history-g${GENERATOR_VERSION}-${rows}-`;
  const dir = join(cache, `${prefix}${new Date(end).toISOString().slice(0, 10)}`);
  const done = join(dir, 'complete.json');
  if (existsSync(done)) {
    ctx.log(`history dataset: ${rows} rows cached in ${dir}`);
    return { dir, ...(JSON.parse(readFileSync(done, 'utf8')) as { rows: number; files: number; bytes: number }) };
  }
  // Earlier weeks of the same size: a dataset is up to a few GiB.
  mkdirSync(cache, { recursive: true });
  for (const old of readdirSync(cache)) if (old.startsWith(prefix)) rmSync(join(cache, old), { recursive: true, force: true });
  ctx.log(`history dataset: generating ${rows} rows into ${dir}`);
  const { stdout } = await run(process.execPath, [CHILD, dir, String(rows), String(end)], { timeout: 3_600_000, maxBuffer: 1 << 20 });
  const made = JSON.parse(stdout.trim()) as { rows: number; files: number; bytes: number; seconds: number };
  writeFileSync(done, `${JSON.stringify({ rows: made.rows, files: made.files, bytes: made.bytes })}\n`);
  ctx.log(`history dataset: ${made.rows} rows, ${made.files} files, ${(made.bytes / 2 ** 20).toFixed(0)} MiB in ${made.seconds.toFixed(0)} s`);
  return { dir, rows: made.rows, files: made.files, bytes: made.bytes, generated: made.seconds };
}

/** Puts the dataset into a hub data directory as its history: hard links (the hub only reads them), a copy across file systems. */
export function installHistory(dataset: Dataset, dataDir: string): void {
  const to = join(dataDir, 'history');
  mkdirSync(to, { recursive: true, mode: 0o700 });
  try {
    execFileSync('cp', ['-al', join(dataset.dir, 'jobs'), to]);
  } catch {
    rmSync(join(to, 'jobs'), { recursive: true, force: true });
    execFileSync('cp', ['-a', join(dataset.dir, 'jobs'), to]);
  }
}

export const BACKUP_KEY_ENV = 'SFLEET_BENCH_BACKUP_KEY';

/** A standalone hub over `home`/data: the bench client is admin; the history kept 400 days (so no day of the dataset expires). */
export function historyHub(ctx: BenchContext, home: string, backupDir?: string, logLevel = 'warn'): LoginHub {
  const key = Buffer.alloc(32, 7).toString('base64');
  return new LoginHub(
    home,
    ctx.pki,
    {
      log_level: logLevel,
      rbac: { bindings: [{ client: 'bench', role: 'admin' }] },
      history: { retention: 400 },
      ...(backupDir
        ? { backup: { encryption: { enabled: true, provider: 'env', env: { var: BACKUP_KEY_ENV } }, destinations: [{ type: 'local', path: backupDir }] } }
        : {}),
    },
    { ...process.env, [BACKUP_KEY_ENV]: key },
    // A hub asked to stop mid-report waited for DuckDB for 10 minutes (2026-12-07): SIGKILL after 30 s.
    { runDir: false, readyTimeoutMs: 300_000, killAfterMs: 30_000 },
  );
}

export interface Timed {
  seconds: number;
  stdout: string;
  /** Peak RSS of the command's process (GNU time's %M), MiB. */
  peakMiB: number;
}

/** Runs `sfleet ARGS` under GNU time: wall seconds, stdout and peak RSS. */
export async function timedSfleet(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Timed> {
  const t0 = performance.now();
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'sfleet-peak-kib=%M', process.execPath, SFLEET, ...args], { env, timeout: timeoutMs, maxBuffer: 256 << 20 }).catch(
    (err: Error & { stderr?: string }) => {
      throw new Error(`sfleet ${args.slice(0, 3).join(' ')}: ${(err.stderr ?? '').trim().slice(-2000) || err.message}`);
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  const kib = /sfleet-peak-kib=(\d+)/.exec(stderr);
  return { seconds, stdout, peakMiB: kib ? Number(kib[1]) / 1024 : Number.NaN };
}

/** The CLI's connection to a hub with the bench client certificate. */
export function clientArgs(ctx: BenchContext, hub: LoginHub): string[] {
  return ['--hub', hub.httpUrl, '--ca', ctx.pki.ca, '--cert', ctx.pki.client.cert, '--key', ctx.pki.client.key];
}

/** Drops the page cache (root only) so the next read comes from disk; says whether it could. */
export function dropPageCache(): boolean {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}
