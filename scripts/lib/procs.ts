// Child processes and plumbing shared by `npm run chaos` and `npm run bench`: free ports, waiting,
// the sfleet binary as a child, the etcd + Redis services of scripts/services/start.sh, and a
// breakable TCP proxy.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, connect, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SFLEET = path.join(ROOT, 'bin/sfleet.js');
const T0 = Date.now();

export function log(msg: string): void {
  process.stderr.write(`[chaos ${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  return ports;
}

/** Set when a scenario ran out of time: every waitFor of it stops at its next turn. */
export const abort = { aborted: false };

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (abort.aborted) throw new Error(`aborted while waiting for ${what}`);
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

/** `node bin/sfleet.js <args>` with its output appended to a log file. */
export class SfleetChild {
  child?: ChildProcess;
  constructor(
    readonly args: string[],
    readonly logFile: string,
  ) {}

  start(): this {
    const out = createWriteStream(this.logFile, { flags: 'a' });
    this.child = spawn(process.execPath, [SFLEET, ...this.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.pipe(out);
    this.child.stderr!.pipe(out);
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
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface TlsPaths {
  ca: string;
  cert: string;
  key: string;
}

/** A GET over mTLS; never throws on an HTTP status. */
export function httpsGet(url: string, tls: TlsPaths, timeoutMs = 2_000): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export type Member = 'etcd1' | 'etcd2' | 'etcd3' | 'redis';

/** A private 3-member etcd and a Redis, by scripts/services/start.sh on free loopback ports. */
export class Services {
  readonly etcdEndpoints: string[];
  readonly redisUrl: string;
  constructor(
    readonly dir: string,
    readonly clientPorts: number[],
    readonly peerPorts: number[],
    readonly redisPort: number,
  ) {
    this.etcdEndpoints = clientPorts.map((p) => `http://127.0.0.1:${p}`);
    this.redisUrl = `redis://127.0.0.1:${redisPort}`;
  }

  static async create(name = 'chaos'): Promise<Services> {
    const ports = await freePorts(7);
    return new Services(`/tmp/sfleet-services/${name}-${process.pid}`, ports.slice(0, 3), ports.slice(3, 6), ports[6]);
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

  /** Starts whatever is not running and waits until healthy (idempotent). */
  start(): Promise<void> {
    return run('bash', [path.join(ROOT, 'scripts/services/start.sh')], this.env(), 120_000);
  }

  async stop(): Promise<void> {
    await run('bash', [path.join(ROOT, 'scripts/services/stop.sh'), '--purge'], this.env(), 60_000).catch((err: Error) => log(`services stop: ${err.message}`));
  }

  pid(member: Member): number {
    return Number(readFileSync(path.join(this.dir, `${member}.pid`), 'utf8').trim());
  }

  async kill(member: Member): Promise<void> {
    const pid = this.pid(member);
    process.kill(pid, 'SIGKILL');
    await waitFor(
      `${member} (pid ${pid}) to die`,
      () => {
        try {
          process.kill(pid, 0);
          return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
        } catch {
          return true;
        }
      },
      10_000,
      20,
    );
  }

  /** The etcd member that is the raft leader now, if any answers. */
  async etcdLeader(): Promise<Member | undefined> {
    for (let i = 0; i < 3; i++) {
      try {
        const res = await fetch(`${this.etcdEndpoints[i]}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1_000) });
        const body = (await res.json()) as { header: { member_id: string }; leader: string };
        if (body.leader && body.leader === body.header.member_id) return `etcd${i + 1}` as Member;
      } catch {
        // down: ask the next
      }
    }
    return undefined;
  }
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(args[0] ?? file)} failed: ${String(stderr).trim().slice(-1000) || err.message}`));
      else resolve();
    });
  });
}

/** A TCP proxy that can turn into a blackhole: connections stay open, every byte is dropped. */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private mode: 'pass' | 'blackhole' = 'pass';
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      client.on('data', (chunk) => {
        if (this.mode === 'pass') upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (this.mode === 'pass') client.write(chunk);
      });
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as { port: number }).port;
    return this;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Client connections open through the proxy now. */
  get connections(): number {
    return this.sockets.size / 2;
  }

  blackhole(): void {
    this.mode = 'blackhole';
  }

  restore(): void {
    this.mode = 'pass';
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
