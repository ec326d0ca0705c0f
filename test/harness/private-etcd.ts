// One plain etcd member on free loopback ports, for a unit test that needs a real etcd without
// the HA trio (ha-services.ts): started detached, stopped by its pid, restartable on the same data
// directory and ports (an outage and its end).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.js';
import { sleep } from './wait.js';

export class PrivateEtcd {
  private child?: ChildProcess;

  private constructor(
    readonly dir: string,
    private readonly clientPort: number,
    private readonly peerPort: number,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  static async create(name: string): Promise<PrivateEtcd> {
    const [client, peer] = await freePorts(2);
    const e = new PrivateEtcd(mkdtempSync(path.join(tmpdir(), `etcd-${name}-`)), client!, peer!);
    await e.start();
    return e;
  }

  /** Starts the member (again, on the same data) and waits until it answers. */
  async start(timeoutMs = 60_000): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const log = openSync(path.join(this.dir, 'etcd.log'), 'a');
    this.child = spawn('etcd', ['--name', 'm1', '--data-dir', path.join(this.dir, 'data'), '--listen-client-urls', this.endpoint, '--advertise-client-urls', this.endpoint, '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `m1=${peer}`, '--log-level', 'warn'], { detached: true, stdio: ['ignore', log, log] });
    this.child.unref();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`etcd exited (${this.child.exitCode}): ${this.logTail()}`);
      const ok = await fetch(`${this.endpoint}/health`).then((r) => r.ok, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`etcd not ready after ${timeoutMs} ms: ${this.logTail()}`);
      await sleep(100);
    }
  }

  /** kill -9 and wait until it is gone (an outage). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(child.pid, 'SIGKILL');
    await Promise.race([exited, sleep(10_000)]);
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private logTail(): string {
    try {
      return readFileSync(path.join(this.dir, 'etcd.log'), 'utf8').split('\n').slice(-8).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
