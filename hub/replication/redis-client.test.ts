import { describe, expect, it } from 'vitest';
import { redisConfigSchema } from '../config/index.js';
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
});
