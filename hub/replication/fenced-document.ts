// One JSON document of leader-only state in Redis (today: the alerting state), written whole and
// only under the region's fence: a write carries the leader's fencing token and Redis refuses it
// once a newer token has written or claimed the fence (redis-fence.ts). Any hub reads it; a new
// leader loads it before its singletons act.
import type { Redis } from 'ioredis';
import type { RedisFence } from './redis-fence.js';

const SET_DOCUMENT = `
redis.call('SET', KEYS[2], ARGV[2])
return {1}
`;

export interface FencedDocument {
  /** The stored text, undefined when none was written. */
  get(): Promise<string | undefined>;
  /** Replaces the text; throws FencedOffError when a newer leader has claimed the fence. */
  put(token: number, text: string): Promise<void>;
}

export class RedisFencedDocument implements FencedDocument {
  constructor(
    private readonly redis: Redis,
    private readonly fence: RedisFence,
    private readonly key: string,
  ) {}

  async get(): Promise<string | undefined> {
    return (await this.redis.get(this.key)) ?? undefined;
  }

  async put(token: number, text: string): Promise<void> {
    await this.fence.script(token, SET_DOCUMENT, [text], [this.key]);
  }
}
