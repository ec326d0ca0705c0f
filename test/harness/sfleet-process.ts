// Runs the built `sfleet` binary as a child process, the way an operator would, so tests can
// SIGKILL it. Needs `npm run build` first (npm test does it).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

  start(): this {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    this.child = spawn(process.execPath, [SFLEET, ...this.args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.pipe(log);
    this.child.stderr!.pipe(log);
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

/** Runs one sfleet CLI command; resolves with stdout, rejects with stderr. */
export function sfleet(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [SFLEET, ...args], { env, timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`sfleet ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}
