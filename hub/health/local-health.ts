// What this hub says about its own health in its membership record (etcd, or the standalone
// answer of /api/v1/hubs): up, Redis, the clusters it cannot vouch for, the clusters it ingests.
import type { LocalHealth } from '../leader/index.js';
import type { Listening } from './listening.js';

/** Replication as health sees it (absent standalone). */
export interface ReplicationHealth {
  redisStatus(): string;
  stale(): Map<string, string>;
}

export interface LocalHealthDeps {
  listening: Listening;
  /** Clusters whose agent streams to this hub now. */
  ingesting: () => ReadonlySet<string>;
  replication?: ReplicationHealth;
}

export function localHealth({ listening, ingesting, replication }: LocalHealthDeps): () => LocalHealth {
  return () => ({
    ready: listening.ready,
    redis: replication ? replication.redisStatus() : 'off',
    stale_clusters: replication ? [...replication.stale().keys()].sort() : [],
    ingesting: [...ingesting()].sort(),
  });
}
