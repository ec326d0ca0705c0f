// A private etcd cluster (3 members) and Redis for one HA test file, started by the project's
// own scripts/services/start.sh on free loopback ports under /tmp/sfleet-services/<name>.
// start() is idempotent: after a kill -9 it restarts exactly what died.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './ports.js';
import { ROOT } from './sfleet-process.js';

export type Member = 'etcd1' | 'etcd2' | 'etcd3' | 'redis';

export class HaServices {
  readonly etcdEndpoints: string[];
  readonly redisUrl: string;
  private constructor(
    readonly dir: string,
    readonly clientPorts: number[],
    readonly peerPorts: number[],
    readonly redisPort: number,
  ) {
    this.etcdEndpoints = clientPorts.map((p) => `http://127.0.0.1:${p}`);
    this.redisUrl = `redis://127.0.0.1:${redisPort}`;
  }

  static async create(name: string): Promise<HaServices> {
    if (process.getuid?.() !== 0) throw new Error('the HA tests install and start etcd and Redis: run them as root');
    const ports: number[] = [];
    while (ports.length < 7) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    const dir = `/tmp/sfleet-services/${name}-${process.pid}`;
    const s = new HaServices(dir, ports.slice(0, 3), ports.slice(3, 6), ports[6]);
    await s.start();
    return s;
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      SFLEET_SERVICES_DIR: this.dir,
      SFLEET_ETCD_CLIENT_PORTS: this.clientPorts.join(','),
      SFLEET_ETCD_PEER_PORTS: this.peerPorts.join(','),
      SFLEET_REDIS_PORT: String(this.redisPort),
    };
  }

  /** Starts whatever is not running (all of it the first time) and waits until healthy. */
  async start(): Promise<void> {
    await run('bash', [path.join(ROOT, 'scripts/services/start.sh')], this.env(), 240_000);
  }

  async stop(): Promise<void> {
    await run('bash', [path.join(ROOT, 'scripts/services/stop.sh'), '--purge'], this.env(), 60_000).catch(() => undefined);
  }

  pid(member: Member): number {
    return Number(readFileSync(path.join(this.dir, `${member}.pid`), 'utf8').trim());
  }

  /** kill -9 (or another signal) and wait until the process is gone. */
  async kill(member: Member, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = this.pid(member);
    process.kill(pid, signal);
    if (signal !== 'SIGKILL') return;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        process.kill(pid, 0);
        // A zombie (nobody has reaped it yet) is dead too.
        if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return;
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${member} (pid ${pid}) did not die`);
  }

  /** The etcd member that is the raft leader now. */
  async etcdLeader(): Promise<Member> {
    for (let i = 0; i < 3; i++) {
      try {
        const res = await fetch(`${this.etcdEndpoints[i]}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2_000) });
        const body = (await res.json()) as { header: { member_id: string }; leader: string };
        if (body.leader && body.leader === body.header.member_id) return `etcd${i + 1}` as Member;
      } catch {
        // that member is down; ask the next
      }
    }
    throw new Error('no etcd member says it is the leader');
  }
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(args[0] ?? file)} failed: ${String(stderr).trim().slice(-2000) || err.message}`));
      else resolve(stdout);
    });
  });
}
