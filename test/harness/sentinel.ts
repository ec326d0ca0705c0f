// A private Redis master + replica + three Sentinels for one test file, started by the
// project's scripts/services/sentinel.sh on free loopback ports under /tmp/sfleet-sentinel/<name>-<pid>.
// With `secure`: TLS only (the test CA's certificates), the default user off and an ACL user for the hubs.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { registerSecret } from '../../scripts/test/run-dir.js';
import type { TlsFiles } from '../../shared/tls/index.js';
import { execText } from './exec.js';
import { freePorts } from './ports.js';
import { ROOT } from './sfleet-process.js';

const SCRIPT = path.join(ROOT, 'scripts/services/sentinel.sh');

export interface SentinelSecurity {
  /** The CA every node and Sentinel trusts, and the certificate they present (also as clients). */
  ca: string;
  server: TlsFiles;
  /** The hubs' ACL user, limited to `keys` (a Redis key pattern, e.g. sfleet:<region>:*). */
  user: string;
  keys: string;
}

export class SentinelRedis {
  /** The hubs' ACL password (secure mode), random per instance. */
  readonly password = randomBytes(18).toString('base64url');
  /** host:port of each Sentinel, as the hub's redis.sentinels takes them. */
  readonly sentinels: string[];
  readonly masterName = 'mymaster';

  private constructor(
    readonly dir: string,
    readonly redisPorts: number[],
    readonly sentinelPorts: number[],
    readonly security?: SentinelSecurity,
  ) {
    this.sentinels = sentinelPorts.map((p) => `127.0.0.1:${p}`);
  }

  static async create(name: string, security?: SentinelSecurity): Promise<SentinelRedis> {
    if (process.getuid?.() !== 0) throw new Error('the Sentinel test installs and starts redis-server: run it as root');
    const ports = await freePorts(5);
    const s = new SentinelRedis(`/tmp/sfleet-sentinel/${name}-${process.pid}`, ports.slice(0, 2), ports.slice(2), security);
    if (security) registerSecret(s.password, 'Sentinel Redis group password');
    await s.start();
    return s;
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      SFLEET_SENTINEL_DIR: this.dir,
      SFLEET_SENTINEL_REDIS_PORTS: this.redisPorts.join(','),
      SFLEET_SENTINEL_PORTS: this.sentinelPorts.join(','),
      SFLEET_SENTINEL_NAME: this.masterName,
      ...(this.security
        ? {
            SFLEET_SENTINEL_TLS_CA: this.security.ca,
            SFLEET_SENTINEL_TLS_CERT: this.security.server.cert,
            SFLEET_SENTINEL_TLS_KEY: this.security.server.key,
            SFLEET_SENTINEL_USER: this.security.user,
            SFLEET_SENTINEL_PASSWORD: this.password,
            SFLEET_SENTINEL_KEYS: this.security.keys,
          }
        : {}),
    };
  }

  /** The hub's redis section for these Sentinels (secure mode: TLS with `client`, as the ACL user). */
  redisSection(client?: TlsFiles): Record<string, unknown> {
    return {
      sentinels: this.sentinels,
      sentinel_name: this.masterName,
      ...(this.security && client ? { tls: { ca: this.security.ca, cert: client.cert, key: client.key }, username: this.security.user, password: this.password } : {}),
    };
  }

  /** Starts whatever is not running and waits until the Sentinels could fail over. */
  async start(): Promise<void> {
    await run(['start'], this.env(), 120_000);
  }

  async stop(): Promise<void> {
    await run(['stop', '--purge'], this.env(), 60_000).catch(() => undefined);
  }

  /** host:port of the master the Sentinels name now. */
  async master(): Promise<string> {
    return (await run(['master'], this.env(), 10_000)).trim();
  }

  /** kill -9 of the current master; returns its host:port. */
  async killMaster(): Promise<string> {
    const before = await this.master();
    await run(['kill-master'], this.env(), 10_000);
    return before;
  }

  /** redis://host:port of a data node (redis1 first master, redis2 first replica). */
  nodeUrl(i: 0 | 1): string {
    return `redis://127.0.0.1:${this.redisPorts[i]}`;
  }
}

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return execText('bash', [SCRIPT, ...args], { env, timeoutMs, what: `sentinel.sh ${args[0]}` });
}
