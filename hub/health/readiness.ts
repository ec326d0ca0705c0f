// /readyz: ready once both listeners answer, with one line per part. Clustered hubs add etcd,
// the leader, the singletons and (with Redis) replication; OIDC adds its issuer's state.
import type { Leadership } from '../leader/index.js';
import type { Listening } from './listening.js';
import type { ReplicationHealth } from './local-health.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

export interface ReadinessDeps {
  listening: Listening;
  /** Present when the hub has an etcd section. */
  clustered?: { leadership: Pick<Leadership, 'status'>; replication?: ReplicationHealth };
  oidc?: { status(): string };
}

export function readiness({ listening, clustered, oidc }: ReadinessDeps): () => Readiness {
  return () => ({
    ready: listening.ready,
    checks: {
      data_dir: 'loaded',
      grpc: listening.grpc ? 'listening' : 'down',
      http: listening.http ? 'listening' : 'down',
      ...(clustered ? clusteredChecks(clustered) : {}),
      ...(oidc ? { oidc: oidc.status() } : {}),
    },
  });
}

function clusteredChecks({ leadership, replication }: NonNullable<ReadinessDeps['clustered']>): Record<string, string> {
  const s = leadership.status();
  const checks: Record<string, string> = {
    etcd: s.etcd,
    leader: s.leading ? `this hub (fencing token ${s.token})` : s.leader ? `hub ${s.leader}` : 'unknown',
    singletons: s.leading ? `running: ${s.singletons.join(', ') || 'none registered'}` : 'not run here (this hub does not lead)',
  };
  if (replication) {
    const stale = replication.stale();
    checks.redis = replication.redisStatus();
    checks.replication = stale.size ? `stale: ${[...stale].map(([c, why]) => `${c} (${why})`).join('; ')}` : 'fresh';
  }
  return checks;
}
