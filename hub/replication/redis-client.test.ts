import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { etcdConfigSchema, redisConfigSchema } from '../config/index.js';
import { createRedis } from './redis-client.js';

describe('createRedis', () => {
  it('asks Sentinels for the master when sentinels are configured (and follows a failover)', () => {
    const config = redisConfigSchema.parse({ sentinels: ['127.0.0.1:1', '[::1]:2'], sentinel_name: 'fleet', db: 3 });
    const redis = createRedis(config, { name: 'commands', offlineQueue: false });
    try {
      expect(redis.options.sentinels).toEqual([
        { host: '127.0.0.1', port: 1 },
        { host: '::1', port: 2 },
      ]);
      expect(redis.options).toMatchObject({ name: 'fleet', db: 3, enableOfflineQueue: false, failoverDetector: true });
    } finally {
      redis.disconnect();
    }
  });

  it('connects to a URL otherwise, with the command timeout on every command but blocking reads', () => {
    const config = redisConfigSchema.parse({ url: 'redis://127.0.0.1:1/2', command_timeout: '1500ms' });
    const commands = createRedis(config, { name: 'commands', offlineQueue: false });
    const reader = createRedis(config, { name: 'reader', offlineQueue: false });
    try {
      expect(commands.options).toMatchObject({ host: '127.0.0.1', port: 1, db: 2, commandTimeout: 1500 });
      expect(reader.options.commandTimeout).toBeUndefined();
    } finally {
      commands.disconnect();
      reader.disconnect();
    }
  });

  it('speaks TLS with the configured CA and client certificate, to the Sentinels too, as the ACL user', () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-tls-'));
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, f), `-----${f}-----`);
    const tls = { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    const direct = createRedis(redisConfigSchema.parse({ url: 'rediss://127.0.0.1:1', tls, username: 'sfleet', password: 'pw' }), { name: 'commands', offlineQueue: false });
    const sentinel = createRedis(redisConfigSchema.parse({ sentinels: ['127.0.0.1:1'], tls }), { name: 'commands', offlineQueue: false });
    try {
      expect(direct.options).toMatchObject({ username: 'sfleet', password: 'pw' });
      expect(String(direct.options.tls?.ca)).toBe('-----ca.pem-----');
      expect(String(direct.options.tls?.cert)).toBe('-----cert.pem-----');
      expect(sentinel.options).toMatchObject({ enableTLSForSentinelMode: true });
      expect(String(sentinel.options.sentinelTLS?.ca)).toBe('-----ca.pem-----');
      expect(String(sentinel.options.tls?.key)).toBe('-----key.pem-----');
    } finally {
      direct.disconnect();
      sentinel.disconnect();
    }
  });

  it('refuses TLS files with a plain redis:// url, and etcd credentials or TLS that cannot apply', () => {
    const tls = { ca: '/c', cert: '/c', key: '/k' };
    expect(redisConfigSchema.safeParse({ url: 'redis://127.0.0.1:1', tls }).error?.issues[0]).toMatchObject({ path: ['url'], message: 'tls needs a rediss:// url' });
    expect(etcdConfigSchema.safeParse({ endpoints: ['https://127.0.0.1:1'], username: 'sfleet' }).error?.issues[0]).toMatchObject({ path: ['password'], message: 'set username and password together' });
    expect(etcdConfigSchema.safeParse({ endpoints: ['http://127.0.0.1:1'], tls }).error?.issues[0]).toMatchObject({ path: ['tls'] });
    expect(etcdConfigSchema.safeParse({ endpoints: ['https://127.0.0.1:1'], tls, username: 'sfleet', password: 'pw' }).success).toBe(true);
  });
});
