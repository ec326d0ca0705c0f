// A private etcd cluster (3 members) and Redis for one HA test file, a chaos run or a benchmark,
// started by the project's own scripts/services/start.sh on free loopback ports under
// /tmp/sfleet-services/<name>-<pid>. start() is idempotent: after a kill -9 it restarts exactly what died.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execText } from './exec.js';
import { freePorts } from './ports.js';
import { ROOT } from './sfleet-process.js';
import { sleep } from './wait.js';

export type Member = 'etcd1' | 'etcd2' | 'etcd3' | 'redis';

/** Where the members run: their addresses and network namespaces (chaos's netns mode); default loopback. */
export interface ServicePlacement {
  etcd: { host: string; netns: string }[];
  redis: { host: string; netns: string };
}

export class HaServices {
  readonly etcdEndpoints: string[];
  readonly redisUrl: string;
  private constructor(
    readonly dir: string,
    readonly clientPorts: number[],
    readonly peerPorts: number[],
    readonly redisPort: number,
    readonly placement?: ServicePlacement,
  ) {
    this.etcdEndpoints = clientPorts.map((p, i) => `http://${placement?.etcd[i].host ?? '127.0.0.1'}:${p}`);
    this.redisUrl = `redis://${placement?.redis.host ?? '127.0.0.1'}:${redisPort}`;
  }

  /** Picks the ports and the directory; starts nothing (chaos starts them inside its clean-up). */
  static async at(name: string, placement?: ServicePlacement): Promise<HaServices> {
    const ports = await freePorts(7);
    return new HaServices(`/tmp/sfleet-services/${name}-${process.pid}`, ports.slice(0, 3), ports.slice(3, 6), ports[6], placement);
  }

  /** Picks the ports and starts everything (the HA tests). */
  static async create(name: string): Promise<HaServices> {
    if (process.getuid?.() !== 0) throw new Error('the HA tests install and start etcd and Redis: run them as root');
    const s = await HaServices.at(name);
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
      ...(this.placement
        ? {
            SFLEET_ETCD_HOSTS: this.placement.etcd.map((e) => e.host).join(','),
            SFLEET_NETNS_ETCD: this.placement.etcd.map((e) => e.netns).join(','),
            SFLEET_REDIS_HOST: this.placement.redis.host,
            SFLEET_NETNS_REDIS: this.placement.redis.netns,
          }
        : {}),
    };
  }

  /** Starts whatever is not running (all of it the first time) and waits until healthy. */
  async start(timeoutMs = 240_000): Promise<void> {
    await execText('bash', [path.join(ROOT, 'scripts/services/start.sh')], { env: this.env(), timeoutMs, what: 'start.sh' });
  }

  /** Stops everything and removes the directory; a failure goes to onError (default: ignored). */
  async stop(onError: (err: Error) => void = () => undefined): Promise<void> {
    await execText('bash', [path.join(ROOT, 'scripts/services/stop.sh'), '--purge'], { env: this.env(), timeoutMs: 60_000, what: 'stop.sh' })
      .then(() => undefined)
      .catch(onError);
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
      await sleep(20);
    }
    throw new Error(`${member} (pid ${pid}) did not die`);
  }

  /** The etcd member that is the raft leader now, undefined when none says so. */
  async findEtcdLeader(timeoutMs = 2_000): Promise<Member | undefined> {
    for (let i = 0; i < 3; i++) {
      try {
        const res = await fetch(`${this.etcdEndpoints[i]}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(timeoutMs) });
        const body = (await res.json()) as { header: { member_id: string }; leader: string };
        if (body.leader && body.leader === body.header.member_id) return `etcd${i + 1}` as Member;
      } catch {
        // that member is down; ask the next
      }
    }
    return undefined;
  }

  /** The etcd member that is the raft leader now; throws when none says so. */
  async etcdLeader(): Promise<Member> {
    const m = await this.findEtcdLeader();
    if (!m) throw new Error('no etcd member says it is the leader');
    return m;
  }
}
