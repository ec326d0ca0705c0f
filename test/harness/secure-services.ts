// A private etcd and Redis secured as a production hub group should find them, for one test
// file or benchmark:
//   etcd   one member on https://127.0.0.1:<port>, --client-cert-auth with the test PKI's CA,
//          auth enabled, a user whose role reads and writes only the group's key prefix;
//   Redis  TLS only (tls-port, port 0), client certificates required, the default user off,
//          one ACL user limited to <key_prefix>:<region>:* keys and channels.
// The passwords are random and registered with the secrets scan; processes are started
// detached and stopped by their pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { registerSecret } from '../../scripts/test/run-dir.js';
import type { TlsFiles } from '../../shared/tls/index.js';
import { execText } from './exec.js';
import type { TestPki } from './pki.js';
import { freePorts } from './ports.js';
import { sleep } from './wait.js';

export interface SecureServicesOptions {
  /** The etcd prefix the hub group's user may use (etcd.prefix of the hubs). */
  etcdPrefix: string;
  /** redis.key_prefix and region of the hubs: the ACL user gets <key_prefix>:<region>:*. */
  redisKeyPrefix: string;
  region: string;
  /** Start only these (default both). */
  services?: ('etcd' | 'redis')[];
}

export class SecureServices {
  readonly etcdEndpoint: string;
  readonly redisUrl: string;
  readonly etcdUser = 'sfleet-group';
  readonly etcdPassword = randomBytes(18).toString('base64url');
  readonly redisUser = 'sfleet-group';
  readonly redisPassword = randomBytes(18).toString('base64url');
  private readonly rootPassword = randomBytes(18).toString('base64url');
  private readonly children = new Map<'etcd' | 'redis', ChildProcess>();
  /** The certificate the services present (a hub-role certificate: serverAuth, 127.0.0.1). */
  private server?: TlsFiles;
  /** A client certificate the services accept, for the harness's own calls. */
  private admin?: TlsFiles;

  private constructor(
    readonly dir: string,
    readonly pki: TestPki,
    readonly etcdPort: number,
    readonly redisPort: number,
    private readonly opts: SecureServicesOptions,
  ) {
    this.etcdEndpoint = `https://127.0.0.1:${etcdPort}`;
    this.redisUrl = `rediss://127.0.0.1:${redisPort}`;
    for (const [secret, what] of [
      [this.etcdPassword, 'etcd group password'],
      [this.redisPassword, 'Redis group password'],
      [this.rootPassword, 'etcd root password'],
    ] as const)
      registerSecret(secret, what);
  }

  static async create(name: string, pki: TestPki, opts: SecureServicesOptions): Promise<SecureServices> {
    if (process.getuid?.() !== 0) throw new Error('the secured-services tests start etcd and redis-server: run them as root');
    const [etcdPort, redisPort, peerPort] = await freePorts(3);
    const s = new SecureServices(`/tmp/sfleet-secure/${name}-${process.pid}`, pki, etcdPort, redisPort, opts);
    rmSync(s.dir, { recursive: true, force: true });
    mkdirSync(s.dir, { recursive: true });
    s.server = await pki.issue('hub', 'services');
    s.admin = await pki.issue('hub', 'services-admin');
    const want = opts.services ?? ['etcd', 'redis'];
    if (want.includes('etcd')) await s.startEtcd(peerPort);
    if (want.includes('redis')) await s.startRedis();
    return s;
  }

  /** The etcd section of a hub.yaml for this etcd (the client certificate and user given). */
  etcdSection(client: TlsFiles, overrides: { password?: string } = {}): Record<string, unknown> {
    return { endpoints: [this.etcdEndpoint], prefix: this.opts.etcdPrefix, tls: client, username: this.etcdUser, password: overrides.password ?? this.etcdPassword };
  }

  /** The redis section of a hub.yaml for this Redis. */
  redisSection(client: TlsFiles, overrides: { password?: string } = {}): Record<string, unknown> {
    return { url: this.redisUrl, key_prefix: this.opts.redisKeyPrefix, tls: client, username: this.redisUser, password: overrides.password ?? this.redisPassword };
  }

  /** redis-cli against this Redis as the group's user (TLS, client certificate); its stdout. */
  redisCli(args: string[], user: 'group' | 'none' = 'group'): Promise<string> {
    const admin = this.admin!;
    const auth = user === 'group' ? ['--user', this.redisUser, '--pass', this.redisPassword, '--no-auth-warning'] : [];
    return execText('redis-cli', ['--tls', '--cacert', this.pki.ca, '--cert', admin.cert, '--key', admin.key, '-h', '127.0.0.1', '-p', String(this.redisPort), ...auth, ...args], {
      env: process.env,
      timeoutMs: 20_000,
      what: `redis-cli ${args[0]}`,
    });
  }

  private spawnLogged(name: 'etcd' | 'redis', file: string, args: string[]): ChildProcess {
    const log = openSync(path.join(this.dir, `${name}.log`), 'a');
    const child = spawn(file, args, { detached: true, stdio: ['ignore', log, log] });
    child.unref();
    this.children.set(name, child);
    return child;
  }

  private async startEtcd(peerPort: number): Promise<void> {
    const server = this.server!;
    this.spawnLogged('etcd', 'etcd', [
      '--name', 'secure1', '--data-dir', path.join(this.dir, 'etcd'),
      '--listen-client-urls', this.etcdEndpoint, '--advertise-client-urls', this.etcdEndpoint,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `secure1=http://127.0.0.1:${peerPort}`,
      '--cert-file', server.cert, '--key-file', server.key, '--trusted-ca-file', this.pki.ca, '--client-cert-auth',
      '--logger', 'zap', '--log-level', 'warn', '--log-outputs', 'stderr',
    ]);
    const { Etcd3 } = await import('etcd3');
    const admin = this.admin!;
    const credentials = { rootCertificate: readFileSync(this.pki.ca), certChain: readFileSync(admin.cert), privateKey: readFileSync(admin.key) };
    const root = new Etcd3({ hosts: [this.etcdEndpoint], credentials });
    try {
      await this.until('etcd', () => root.get('health-probe').string());
      await root.user('root').create(this.rootPassword);
      await root.user('root').addRole('root');
      const role = await root.role('sfleet-group').create();
      await role.grant({ permission: 'Readwrite', range: root.range({ prefix: this.opts.etcdPrefix }) });
      await root.user(this.etcdUser).create(this.etcdPassword);
      await root.user(this.etcdUser).addRole('sfleet-group');
      await root.auth.authEnable({});
    } finally {
      root.close();
    }
  }

  private async startRedis(): Promise<void> {
    const server = this.server!;
    const pattern = `${this.opts.redisKeyPrefix}:${this.opts.region}:*`;
    const conf = [
      'bind 127.0.0.1',
      'port 0',
      `tls-port ${this.redisPort}`,
      `tls-cert-file ${server.cert}`,
      `tls-key-file ${server.key}`,
      `tls-ca-cert-file ${this.pki.ca}`,
      'tls-auth-clients yes',
      `dir ${this.dir}`,
      "save ''",
      'appendonly no',
      'maxmemory-policy noeviction',
      'user default off',
      // The hub's commands, its ready check (INFO, ROLE with Sentinels) and the eviction check (CONFIG GET).
      `user ${this.redisUser} on >${this.redisPassword} resetkeys ~${pattern} resetchannels &${pattern} -@all +@read +@write +@stream +@hash +@set +@string +@list +@sortedset +@keyspace +@scripting +@pubsub +@transaction +@connection +info +role -flushall -flushdb -keys`,
    ].join('\n');
    const file = path.join(this.dir, 'redis.conf');
    writeFileSync(file, `${conf}\n`, { mode: 0o600 });
    this.spawnLogged('redis', 'redis-server', [file, '--logfile', path.join(this.dir, 'redis.log')]);
    await this.until('redis', async () => {
      if ((await this.redisCli(['PING'])).trim() !== 'PONG') throw new Error('no PONG');
    });
  }

  private async until(what: string, probe: () => Promise<unknown>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await probe();
        return;
      } catch (err) {
        const child = this.children.get(what as 'etcd' | 'redis');
        if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`${what} exited (${child.exitCode}): ${this.logTail(what)}`);
        if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms: ${(err as Error).message}; ${this.logTail(what)}`);
        await sleep(200);
      }
    }
  }

  private logTail(what: string): string {
    try {
      return readFileSync(path.join(this.dir, `${what}.log`), 'utf8').split('\n').slice(-8).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop(): Promise<void> {
    for (const child of this.children.values()) {
      if (child.pid === undefined || child.exitCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        continue;
      }
      await Promise.race([exited, sleep(5_000)]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
