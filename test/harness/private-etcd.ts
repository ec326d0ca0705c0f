// One plain etcd member on free loopback ports, for a unit test that needs a real etcd without
// the HA trio (ha-services.ts): started detached, stopped by its pid, restartable on the same data
// directory and ports (an outage and its end). Free ports are picked, closed and bound again by
// etcd, so a parallel worker may take one meanwhile: the member is only taken as ready when the
// etcd answering on its port is this one (its unique name), and a bind that fails at creation is
// tried again on other ports.
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
    private clientPort: number,
    private peerPort: number,
  ) {}

  private get name(): string {
    return `m-${path.basename(this.dir)}`;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  static async create(name: string): Promise<PrivateEtcd> {
    const [client, peer] = await freePorts(2);
    const e = new PrivateEtcd(mkdtempSync(path.join(tmpdir(), `etcd-${name}-`)), client!, peer!);
    for (let attempt = 1; ; attempt++) {
      try {
        await e.start();
        return e;
      } catch (err) {
        if (attempt === 3 || !/address already in use/.test(String(err))) throw err;
        rmSync(path.join(e.dir, 'data'), { recursive: true, force: true });
        [e.clientPort, e.peerPort] = (await freePorts(2)) as [number, number];
      }
    }
  }

  /** Starts the member (again, on the same data) and waits until it answers. */
  async start(timeoutMs = 60_000): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const log = openSync(path.join(this.dir, 'etcd.log'), 'a');
    this.child = spawn('etcd', ['--name', this.name, '--data-dir', path.join(this.dir, 'data'), '--listen-client-urls', this.endpoint, '--advertise-client-urls', this.endpoint, '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `${this.name}=${peer}`, '--initial-cluster-token', this.name, '--log-level', 'warn'], { detached: true, stdio: ['ignore', log, log] });
    this.child.unref();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`etcd exited (${this.child.exitCode}): ${this.logTail()}`);
      if (await this.answersAsItself()) return;
      if (Date.now() > deadline) throw new Error(`etcd not ready after ${timeoutMs} ms: ${this.logTail()}`);
      await sleep(100);
    }
  }

  /** The etcd on our client port is up and is this member (not another test's on a reused port). */
  private async answersAsItself(): Promise<boolean> {
    try {
      const res = await fetch(`${this.endpoint}/v3/cluster/member/list`, { method: 'POST', body: '{}' });
      if (!res.ok) return false;
      const list = (await res.json()) as { members?: { name?: string }[] };
      return list.members?.some((m) => m.name === this.name) ?? false;
    } catch {
      return false;
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
