// A private one-member etcd with a small backend quota (--quota-backend-bytes), for the NOSPACE
// test: fill() writes filler keys until etcd raises the NOSPACE alarm; runbook() then does what
// the README's "etcd out of space" runbook tells an operator to do with etcdctl, through the
// same RPCs (delete what filled it, compact, defragment, disarm). Plain HTTP on loopback; the
// process is started detached and stopped by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { freePorts } from './ports.js';
import { processLogPath } from './run-logs.js';
import { sleep } from './wait.js';

const FILLER = 'filler/';

export class QuotaEtcd {
  readonly endpoint: string;
  readonly client: Etcd3;
  private child?: ChildProcess;
  /** etcd's log (stdout and stderr). */
  logFile = '';

  private constructor(
    readonly dir: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {
    this.endpoint = `http://127.0.0.1:${clientPort}`;
    // No circuit breaker: the refused fills would open etcd3's default one and stop the runbook.
    this.client = new Etcd3({ hosts: [this.endpoint], faultHandling: { host: () => noop, global: noop } });
  }

  static async start(name: string, quotaBytes: number): Promise<QuotaEtcd> {
    if (process.getuid?.() !== 0) throw new Error('the etcd quota test starts etcd: run it as root');
    const [clientPort, peerPort] = await freePorts(2);
    const e = new QuotaEtcd(`/tmp/sfleet-quota-etcd/${name}-${process.pid}`, clientPort, peerPort);
    rmSync(e.dir, { recursive: true, force: true });
    mkdirSync(e.dir, { recursive: true });
    // etcd's own log (info: alarms, compaction, defrag, closed streams) stays in the run directory.
    e.logFile = processLogPath(`quota-etcd-${name}`);
    const log = openSync(e.logFile, 'a');
    const peer = `http://127.0.0.1:${peerPort}`;
    e.child = spawn(
      'etcd',
      [
        '--name', 'quota1', '--data-dir', path.join(e.dir, 'data'),
        '--listen-client-urls', e.endpoint, '--advertise-client-urls', e.endpoint,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `quota1=${peer}`,
        '--quota-backend-bytes', String(quotaBytes),
        '--logger', 'zap', '--log-level', 'info', '--log-outputs', 'stderr',
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    e.child.unref();
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await e.client.get('health-probe').string();
        return e;
      } catch (err) {
        if (e.child.exitCode !== null) throw new Error(`etcd exited (${e.child.exitCode}): ${e.logTail()}`);
        if (Date.now() > deadline) throw new Error(`etcd not ready after 60 s: ${(err as Error).message}; ${e.logTail()}`);
        await sleep(200);
      }
    }
  }

  /** The alarms etcd has raised ('Nospace', 'Corrupt'), as `etcdctl alarm list` shows them. */
  async alarms(): Promise<string[]> {
    const res = await this.client.maintenance.alarm({ action: 'Get', alarm: 'None', memberID: '0' });
    return res.alarms.map((a) => String(a.alarm));
  }

  /** Writes 64 KiB filler values until etcd refuses one for space; returns etcd's error message. */
  async fill(): Promise<string> {
    const value = Buffer.alloc(64 << 10, 'x');
    for (let i = 0; i < 10_000; i++) {
      try {
        await this.client.put(`${FILLER}${i}`).value(value).exec();
      } catch (err) {
        const message = (err as Error).message;
        if (/database space exceeded/.test(message)) return message;
        throw err;
      }
    }
    throw new Error('etcd took 10,000 filler values without raising NOSPACE: is --quota-backend-bytes set?');
  }

  /** The runbook: delete what filled etcd, compact to the current revision, defragment, disarm every alarm. */
  async runbook(): Promise<void> {
    await this.client.delete().prefix(FILLER).exec(); // etcdctl del --prefix filler/
    const revision = (await this.client.get('health-probe').exec()).header.revision;
    await this.client.kv.compact({ revision, physical: true }); // etcdctl compact <rev>
    await this.client.maintenance.defragment(); // etcdctl defrag
    const raised = await this.client.maintenance.alarm({ action: 'Get', alarm: 'None', memberID: '0' });
    for (const a of raised.alarms) await this.client.maintenance.alarm({ action: 'Deactivate', alarm: a.alarm, memberID: a.memberID }); // etcdctl alarm disarm
  }

  private logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-8).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop(): Promise<void> {
    this.client.close();
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(child.pid, 'SIGKILL');
        await Promise.race([exited, sleep(5_000)]);
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
