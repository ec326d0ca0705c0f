// /healthz: the hub answers (it is alive) and says whether it works as promised. `degraded`
// names each reason: a store that cannot write durably (ENOSPC, EIO, EROFS, a lost file), or a
// Redis that may evict replication entries and sessions (maxmemory-policy not noeviction).
import { describeFault, type WriteFaults } from '../../shared/durability/index.js';

export interface HubHealthSnapshot {
  status: 'ok' | 'degraded';
  reasons: string[];
}

export interface HubHealthDeps {
  faults: WriteFaults;
  /** Present with Redis: what is wrong with its eviction policy, if anything. */
  redisEviction?: { evictionProblem(): string | undefined };
}

export function hubHealth({ faults, redisEviction }: HubHealthDeps): () => HubHealthSnapshot {
  return () => {
    const reasons = faults.degraded().map(describeFault);
    const eviction = redisEviction?.evictionProblem();
    if (eviction) reasons.push(`redis: ${eviction}`);
    return { status: reasons.length ? 'degraded' : 'ok', reasons };
  };
}
