// A minimal Debian 12 booted with systemd-nspawn (systemd is not PID 1 on the build machines), for
// tests that start units for real: the root from scripts/release/debian-rootfs.sh, copied, booted
// sharing the host's network, and powered off at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { execText } from './exec.js';
import { ROOT } from './sfleet-process.js';
import { waitFor } from './wait.js';

const run = (file: string, args: string[]) => execText(file, args, { env: process.env, timeoutMs: 900_000 });

export interface BootedDebian {
  /** The container's root directory on the host. */
  rootfs: string;
  /** PID of the container's init, as the host sees it. */
  init(): Promise<number>;
  /** A command inside the booted system, in all its namespaces. */
  inside(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Copies the cached Debian root into `dir`/root; `prepare` may add files before it boots. */
export async function bootDebian(dir: string, name: string, prepare: (rootfs: string) => Promise<void> | void = () => undefined): Promise<BootedDebian> {
  const cached = (await run('bash', [join(ROOT, 'scripts/release/debian-rootfs.sh')])).trim();
  const rootfs = join(dir, 'root');
  await run('cp', ['-a', cached, rootfs]); // device nodes and owners as they are
  await prepare(rootfs);
  let log = '';
  const boot: ChildProcess = spawn('systemd-nspawn', ['--quiet', '--directory', rootfs, '--boot', '--register=no', '--keep-unit', '--console=pipe', '--machine', `${name}-${process.pid}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => (log = (log + chunk.toString('utf8')).slice(-4_000));
  boot.stdout!.on('data', keep);
  boot.stderr!.on('data', keep);
  const init = async () => {
    const children = (await run('pgrep', ['-P', String(boot.pid)])).trim().split('\n').filter(Boolean);
    if (children.length !== 1) throw new Error(`systemd-nspawn has ${children.length} children`);
    return Number(children[0]);
  };
  const inside = async (args: string[]) => run('nsenter', ['-t', String(await init()), '-a', ...args]);
  const stop = async () => {
    if (boot.exitCode === null) {
      await inside(['systemctl', 'poweroff']).catch(() => boot.kill('SIGKILL'));
      await waitFor('the container to stop', async () => boot.exitCode !== null, 30_000, 200).catch(() => boot.kill('SIGKILL'));
    }
    rmSync(rootfs, { recursive: true, force: true });
  };
  try {
    await waitFor('the container boots to multi-user', async () => {
      if (boot.exitCode !== null) throw new Error(`systemd-nspawn exited ${boot.exitCode}: ${log}`);
      // It exits non-zero while starting and when degraded: the word it prints is what counts.
      const state = (await inside(['sh', '-c', 'systemctl is-system-running || true']).catch(() => '')).trim();
      return state === 'running' || state === 'degraded';
    }, 120_000, 500);
  } catch (err) {
    await stop();
    throw err;
  }
  return { rootfs, init, inside, stop };
}
