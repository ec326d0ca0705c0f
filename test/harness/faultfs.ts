// scripts/faultfs (a FUSE passthrough filesystem in C on libfuse3) for storage-fault tests: built
// with gcc on first use into a cache directory keyed by the source's hash, mounted over a
// backing directory, faults set at run time through its rules file. Needs root, /dev/fuse and
// Debian's fuse3 + libfuse3-dev (scripts/test/run.sh installs them).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execText as exec } from './exec.js';
import { waitFor } from './wait.js';

const SOURCE = resolve(import.meta.dirname, '../../scripts/faultfs/faultfs.c');
const execText = (file: string, args: string[]): Promise<string> => exec(file, args, { env: process.env, timeoutMs: 120_000 });

/** The faultfs binary for this source, compiled once per source version. */
export async function faultfsBinary(): Promise<string> {
  const source = readFileSync(SOURCE);
  const dir = join(tmpdir(), 'sfleet-faultfs', createHash('sha256').update(source).digest('hex').slice(0, 16));
  const binary = join(dir, 'faultfs');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  const flags = (await execText('pkg-config', ['--cflags', '--libs', 'fuse3']).catch(() => {
    throw new Error('faultfs needs libfuse3: apt-get install fuse3 libfuse3-dev gcc pkg-config');
  })).trim().split(/\s+/);
  // Built beside, then renamed: two test files starting at once never run a half-written binary.
  await execText('gcc', ['-O2', '-Wall', '-o', `${binary}.${process.pid}`, SOURCE, ...flags]);
  renameSync(`${binary}.${process.pid}`, binary);
  return binary;
}

export type FaultOp = 'write' | 'fsync' | 'any';

export interface FaultRule {
  op: FaultOp;
  /** An errno name (EIO, ENOSPC...) to fail the call with, or a delay in ms (the call then goes through). */
  fail?: string;
  delayMs?: number;
  /** fnmatch(3) glob on the path inside the mount (`*` spans '/'); default every path. */
  path?: string;
}

export class FaultFs {
  private child?: ChildProcess;

  /** `dir`: where the processes under test see the files; `backing`: where they really are. */
  constructor(
    readonly dir: string,
    readonly backing: string,
    private readonly rulesFile: string,
    private readonly logFile: string,
  ) {}

  async mount(): Promise<this> {
    const binary = await faultfsBinary();
    mkdirSync(this.dir, { recursive: true });
    mkdirSync(this.backing, { recursive: true });
    this.set([]);
    const log = openSync(this.logFile, 'a');
    this.child = spawn(binary, [this.backing, this.dir, this.rulesFile, '-f', '-o', 'allow_other,fsname=faultfs'], { stdio: ['ignore', log, log] });
    closeSync(log);
    const exited = new Promise<never>((_, reject) => this.child!.once('exit', (code) => reject(new Error(`faultfs exited (${code}): ${this.log()}`))));
    exited.catch(() => {});
    await Promise.race([waitFor(`faultfs mounted at ${this.dir}`, () => this.mounted(), 20_000, 50), exited]);
    return this;
  }

  /** Replaces the rules (atomically: faultfs reads the file again when it changes). */
  set(rules: FaultRule[]): void {
    const text = rules.map((r) => `${r.op} ${r.fail ?? `delay=${r.delayMs ?? 0}`} ${r.path ?? '*'}\n`).join('');
    writeFileSync(`${this.rulesFile}.tmp`, text);
    renameSync(`${this.rulesFile}.tmp`, this.rulesFile);
  }

  /** No faults: every call goes through at once. */
  clear(): void {
    this.set([]);
  }

  /** faultfs's own log: the rules it read and the faults it injected (the first of each rule, then every 100th). */
  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  mounted(): boolean {
    // mountinfo: ID PARENT DEV ROOT MOUNTPOINT OPTIONS ... - TYPE SOURCE ...; we mount with fsname=faultfs.
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === this.dir && / - fuse(\.\S+)? faultfs /.test(l));
  }

  /** Unmounts (lazily when a process still holds a file there) and ends faultfs. */
  async unmount(): Promise<void> {
    if (this.mounted()) await execText('fusermount3', ['-u', '-z', this.dir]).catch(() => {});
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      await gone;
    }
  }
}
