// Runs the built `sfleet` binary as a child process, the way an operator would, so tests can
// SIGKILL it. Needs `npm run build` first (npm test does it).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processLogPath } from '../../scripts/test/run-dir.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SFLEET = path.join(ROOT, 'bin/sfleet.js');

export function assertBuilt(): void {
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run npm run build before the integration tests');
}

export class SfleetProcess {
  child?: ChildProcess;
  constructor(
    readonly args: string[],
    readonly logFile: string,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Output goes to logFile (the test reads it) and to a file of the run directory (the secrets scan reads it). */
  start(): this {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const kept = createWriteStream(processLogPath(`${this.logFile.replace(/\.log$/, '')}-${this.args[0]}`), { flags: 'a' });
    this.child = spawn(process.execPath, [SFLEET, ...this.args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const out of [this.child.stdout!, this.child.stderr!]) {
      out.pipe(log);
      out.pipe(kept);
    }
    return this;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
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

/** Keeps a CLI run's stderr in the run directory for the secrets scan (named by the command only: arguments may be secret). */
export function keepCliStderr(args: string[], stderr: string): void {
  if (stderr) writeFileSync(processLogPath(`cli-${args[0] ?? ''}`), stderr);
}
