// Redis connections from the hub's redis: section: a URL, or Sentinels and a master name (then
// ioredis asks the Sentinels for the master and follows a failover).
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from './config.js';

export interface RedisRole {
  /** Blocking reads (XREAD BLOCK) need a connection of their own; so does SUBSCRIBE. */
  name: string;
  /** Queue commands while disconnected (false: fail at once, the caller decides). */
  offlineQueue?: boolean;
}

/** The TLS options of redis.tls: the CA Redis chains to and the client certificate it asks for. */
export function redisTls(config: Pick<RedisConfig, 'tls'>): ConnectionOptions | undefined {
  if (!config.tls) return undefined;
  return { ca: readFileSync(config.tls.ca), cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key), minVersion: 'TLSv1.2' };
}

export function createRedis(config: RedisConfig, role: RedisRole): Redis {
  const tls = redisTls(config);
  const common: RedisOptions = {
    connectionName: `sfleet-${role.name}`,
    connectTimeout: config.connect_timeout,
    // A blocked XREAD waits longer than any command timeout; it sets its own.
    commandTimeout: role.name === 'reader' || role.name === 'subscriber' ? undefined : config.command_timeout,
    maxRetriesPerRequest: role.offlineQueue === false ? 0 : 1,
    enableOfflineQueue: role.offlineQueue !== false,
    // Reconnect for ever, quickly: staleness is reported meanwhile.
    retryStrategy: (times) => Math.min(100 * times, 1_000),
    lazyConnect: false,
    ...(config.username ? { username: config.username } : {}),
    ...(config.password ? { password: config.password } : {}),
    ...(tls ? { tls } : {}),
  };
  if (config.sentinels.length > 0) {
    return new Redis({
      ...common,
      db: config.db,
      sentinels: config.sentinels.map((s) => {
        const i = s.lastIndexOf(':');
        return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
      }),
      name: config.sentinel_name,
      sentinelRetryStrategy: (times) => Math.min(100 * times, 1_000),
      failoverDetector: true,
      // The Sentinels speak TLS too when the data nodes do (they are asked without a password).
      ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    });
  }
  return new Redis(config.url!, common);
}
