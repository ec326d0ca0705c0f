// Redis must not evict: an evicted replication stream entry is a delta another hub never sees,
// an evicted session a user signed out at random, and nothing says so. At every connect the hub
// reads `maxmemory_policy` from INFO memory; anything but `noeviction` is an error in the log, a
// metric (sfleet_redis_eviction_policy_ok 0) and /healthz degraded. INFO, not CONFIG GET: the
// hubs' ACL user must not be granted `config|get`, which also answers `masterauth` (the
// replication password of an admin user) in clear. A Redis that refuses INFO cannot be checked:
// said once as a warning, not degraded.
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logging/index.js';

export class EvictionPolicyCheck {
  /** The policy Redis reported at the last connect; undefined before the first answer. */
  policy?: string;
  private uncheckable?: string;

  constructor(private readonly log: Logger) {}

  async check(redis: Pick<Redis, 'info'>): Promise<void> {
    try {
      const answer = await redis.info('memory');
      const policy = /^maxmemory_policy:(\S+)/m.exec(answer)?.[1];
      if (policy === undefined) throw new Error('INFO memory has no maxmemory_policy');
      this.policy = policy;
      this.uncheckable = undefined;
      if (policy !== 'noeviction') {
        this.log.error(
          { maxmemory_policy: policy },
          `Redis maxmemory-policy is "${policy}": under memory pressure Redis silently drops replication stream entries and sessions. Set maxmemory-policy noeviction`,
        );
      }
    } catch (err) {
      if (this.uncheckable === undefined) this.log.warn({ err: (err as Error).message }, 'could not read Redis maxmemory_policy (INFO refused?); eviction is not checked');
      this.uncheckable = (err as Error).message;
    }
  }

  /** What is wrong, for /healthz; undefined when the policy is noeviction or unknown. */
  evictionProblem(): string | undefined {
    if (this.policy === undefined || this.policy === 'noeviction') return undefined;
    return `maxmemory-policy is ${this.policy}, not noeviction: stream entries and sessions may be evicted`;
  }

  /** 1 noeviction, 0 another policy, -1 not known. */
  gauge(): number {
    if (this.policy === undefined) return -1;
    return this.policy === 'noeviction' ? 1 : 0;
  }
}
