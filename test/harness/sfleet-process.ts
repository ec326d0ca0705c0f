// Runs the built `sfleet` binary as a child process, the way an operator would, so tests, chaos
// and benchmarks can SIGKILL it. Needs `npm run build` first (npm test does it).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processLogPath } from '../../scripts/test/run-dir.js';

/** The checkout: above test/harness/ (vitest runs the source) or dist/test/harness/ (bench and chaos run the build). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
export const SFLEET = path.join(ROOT, 'bin/sfleet.js');

export function assertBuilt(): void {
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run npm run build before the integration tests');
}

export interface SfleetProcessOptions {
  /**
   * Also copy the output into the test run directory for the secrets scan (default). Chaos copies
   * its logs there itself when it ends (keepForScan), the benchmarks keep none.
   */
  runDir?: boolean;
  /** Follow a signal the process has not obeyed within this long with SIGKILL (default: wait). */
  killAfterMs?: number;
  /** The built checkout whose bin/sfleet.js runs (default: this one): an earlier release in the upgrade test. */
  release?: string;
  /** Node flags before the script (e.g. --cpu-prof, which NODE_OPTIONS does not take). */
  nodeArgs?: string[];
  /** Run inside this network namespace (`ip netns exec`, which execs: the child is node itself); chaos's netns mode. */
  netns?: string;
}

export class SfleetProcess {
  child?: ChildProcess;
  constructor(
    readonly args: string[],
    readonly logFile: string,
    readonly env: NodeJS.ProcessEnv = process.env,
    readonly options: SfleetProcessOptions = {},
  ) {}

  /** Output goes to logFile (the test reads it) and to a file of the run directory (the secrets scan reads it). */
  start(): this {
    const outs = [createWriteStream(this.logFile, { flags: 'a' })];
    if (this.options.runDir ?? true) outs.push(createWriteStream(processLogPath(`${this.logFile.replace(/\.log$/, '')}-${this.args[0]}`), { flags: 'a' }));
    const bin = this.options.release ? path.join(this.options.release, 'bin/sfleet.js') : SFLEET;
    const argv = [process.execPath, ...(this.options.nodeArgs ?? []), bin, ...this.args];
    if (this.options.netns) argv.unshift('ip', 'netns', 'exec', this.options.netns);
    this.child = spawn(argv[0], argv.slice(1), { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const out of [this.child.stdout!, this.child.stderr!]) for (const to of outs) out.pipe(to);
    return this;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = this.options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), this.options.killAfterMs);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Runs one sfleet CLI command; resolves with stdout, rejects with stderr. The stderr (the CLI's
 * log and errors) is kept in the run directory for the secrets scan; stdout is the answer.
 */
export function sfleet(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [SFLEET, ...args], { env, timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      keepCliStderr(args, stderr);
      if (err) reject(new Error(`sfleet ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Runs one sfleet CLI command for its exit code too (commands whose "no" is an exit code, such as a failing report). */
export function sfleetRun(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SFLEET, ...args], { env, timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      keepCliStderr(args, stderr);
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** Keeps a CLI run's stderr in the run directory for the secrets scan (named by the command only: arguments may be secret). */
export function keepCliStderr(args: string[], stderr: string): void {
  if (stderr) writeFileSync(processLogPath(`cli-${args[0] ?? ''}`), stderr);
}
