// `npm run fuzz -- [--seconds N] [--target NAME]... [--regression]`: coverage-guided fuzzing
// with Jazzer.js (libFuzzer) of every target in targets/index.ts, N seconds each (default 60),
// starting from the committed corpus (scripts/fuzz/corpus/<target>/). New inputs go to a scratch
// corpus under the work directory, never into the committed one. Inputs that found a bug are
// kept in scripts/fuzz/regressions/<target>/ and replayed too. --regression runs the corpus and
// those once and stops (a quick check that old findings stay fixed). --seed N fixes libFuzzer's
// random seed (CI's run), so a run differs from the last only by how far it gets in N seconds;
// without it each run explores anew (by hand, longer). --jobs N runs N targets at once (default:
// one per CPU): libFuzzer runs on one core, so each target still gets its N seconds of a core.
// A finding (an exception other than our typed errors, a disagreement, a hang past --timeout
// seconds) stops its target; the input is kept under <work>/findings/ and the run exits 1.
// Progress goes to stderr; stdout is the JSON summary.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareAddon } from './addon-compat.js';
import { TARGETS, type FuzzTarget } from './targets/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Options {
  seconds: number;
  timeoutSeconds: number;
  targets: FuzzTarget[];
  regression: boolean;
  workDir: string;
  /** libFuzzer's -seed: the same mutations from the same corpus, so CI does not fail at random. */
  seed?: number;
  /** Targets fuzzed at the same time. */
  jobs: number;
}

interface TargetResult {
  target: string;
  ok: boolean;
  seconds: number;
  runs: number;
  corpus_in: number;
  /** Coverage edges libFuzzer saw at the end. */
  coverage?: number;
  finding?: string;
  detail?: string;
}

function usage(why: string): never {
  process.stderr.write(`${why}\nusage: npm run fuzz -- [--seconds N] [--timeout S] [--target NAME]... [--regression] [--seed N] [--jobs N] [--work DIR]\ntargets: ${TARGETS.map((t) => t.name).join(', ')}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 60, timeoutSeconds: 10, targets: [], regression: false, workDir: path.join(tmpdir(), 'sfleet-fuzz'), jobs: availableParallelism() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => argv[++i] ?? usage(`${arg} needs a value`);
    const positive = (v: string): number => (/^\d+$/.test(v) && Number(v) > 0 ? Number(v) : usage(`${arg}: not a positive whole number: ${v}`));
    if (arg === '--seconds') o.seconds = positive(value());
    else if (arg === '--timeout') o.timeoutSeconds = positive(value());
    else if (arg === '--regression') o.regression = true;
    else if (arg === '--seed') o.seed = positive(value());
    else if (arg === '--work') o.workDir = path.resolve(value());
    else if (arg === '--jobs') o.jobs = positive(value());
    else if (arg === '--target') {
      const name = value();
      o.targets.push(TARGETS.find((t) => t.name === name) ?? usage(`no fuzz target ${name}`));
    } else usage(`unknown argument ${arg}`);
  }
  if (o.targets.length === 0) o.targets = [...TARGETS];
  return o;
}

function runTarget(t: FuzzTarget, o: Options, preload: string | undefined): Promise<TargetResult> {
  const seeds = path.join(ROOT, 'scripts/fuzz/corpus', t.name);
  // Inputs that once found a bug (fixed, each with a regression test beside its code): replayed first.
  const regressions = path.join(ROOT, 'scripts/fuzz/regressions', t.name);
  const scratch = path.join(o.workDir, 'corpus', t.name);
  const findings = path.join(o.workDir, 'findings');
  mkdirSync(scratch, { recursive: true });
  mkdirSync(findings, { recursive: true });
  const args = [
    path.join(ROOT, 'node_modules/@jazzer.js/core/dist/cli.js'),
    path.join(ROOT, 'dist/scripts/fuzz/targets', `${t.name}.js`),
    ...(o.regression ? [] : [scratch]),
    seeds,
    ...(existsSync(regressions) ? [regressions] : []),
    ...(t.async ? [] : ['--sync']),
    // Only the project's own code is instrumented: coverage of zod, yaml and fastify internals
    // would drown ours, and instrumenting them makes every run slower.
    '--includes', path.join(ROOT, 'dist'),
    '--excludes', 'node_modules',
    '--timeout', String(o.timeoutSeconds * 1000),
    ...(o.regression ? ['--mode', 'regression'] : []),
    '--',
    ...(o.regression ? ['-runs=0'] : [`-max_total_time=${o.seconds}`, ...(o.seed ? [`-seed=${o.seed}`] : [])]),
    `-artifact_prefix=${findings}/${t.name}-`,
    '-rss_limit_mb=2048',
    '-print_final_stats=1',
  ];
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...(preload ? { LD_PRELOAD: preload } : {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    // The tail of the output for a finding's detail; the figures are read line by line as they
    // come, since the recommended dictionary libFuzzer prints at the end can be long.
    let log = '';
    let runs = 0;
    let coverage: number | undefined;
    let artifact: string | undefined;
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (b: Buffer) => {
        log = (log + b.toString('utf8')).slice(-64 * 1024);
      });
      createInterface({ input: stream }).on('line', (line) => {
        // The final figures, or else libFuzzer's status lines ("#12345\tpulse  cov: ..."), so a run
        // whose final stats are missing still says how far it got.
        const done = /^(?:Done (\d+) runs|stat::number_of_executed_units:\s+(\d+)|#(\d+)\s)/.exec(line);
        if (done) runs = Math.max(runs, Number(done[1] ?? done[2] ?? done[3]));
        const cov = / cov: (\d+)/.exec(line);
        if (cov) coverage = Number(cov[1]);
        artifact ??= /Test unit written to (\S+)/.exec(line)?.[1];
      });
    }
    child.on('close', (code, signal) => {
      // A fuzzing run that executed nothing proved nothing: it fails like a finding would (the
      // corpus-only replay runs the corpus, which libFuzzer does not count as runs).
      const idle = !o.regression && code === 0 && runs === 0;
      const ok = code === 0 && !artifact && !idle;
      resolve({
        target: t.name,
        ok,
        seconds: Math.round((Date.now() - started) / 1000),
        runs,
        corpus_in: readdirSync(seeds).length,
        ...(coverage ? { coverage: Number(coverage) } : {}),
        ...(ok ? {} : { finding: artifact ?? (idle ? 'no inputs were executed (libFuzzer reported 0 runs)' : `jazzer exited ${code ?? signal}`), detail: log.slice(-4000) }),
      });
    });
  });
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  let preload: string | undefined;
  try {
    const setup = prepareAddon(ROOT, o.workDir);
    preload = setup.preload;
    process.stderr.write(`fuzz: ${setup.note}\n`);
  } catch (err) {
    process.stderr.write(`fuzz: cannot run Jazzer.js here: ${(err as Error).message}\n`);
    return 1;
  }
  const results: TargetResult[] = new Array(o.targets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < o.targets.length; i = next++) {
      const t = o.targets[i];
      process.stderr.write(`fuzz: ${t.name} (${t.what}), ${o.regression ? 'corpus only' : `${o.seconds} s`}\n`);
      const r = await runTarget(t, o, preload);
      process.stderr.write(`fuzz: ${t.name}: ${r.ok ? 'ok' : `FINDING ${r.finding}`}, ${r.runs} runs in ${r.seconds} s\n`);
      if (!r.ok) process.stderr.write(`${r.detail}\n`);
      results[i] = r;
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.jobs, o.targets.length) }, worker));
  const failed = results.filter((r) => !r.ok);
  process.stdout.write(`${JSON.stringify({ ok: failed.length === 0, mode: o.regression ? 'regression' : 'fuzz', seconds_per_target: o.seconds, work_dir: o.workDir, targets: results.map(({ detail: _detail, ...r }) => r) }, null, 2)}\n`);
  return failed.length === 0 ? 0 : 1;
}

process.exitCode = await main();
