// What "stale" means, once. REST (the X-Sfleet-Freshness headers on /api/v1 answers, and
// stale/stale_reason in /api/v1/clusters), gRPC (ClusterStatus.stale), metrics
// (sfleet_replication_stale), readiness and the members' health all read it from here.
//
// A cluster's data is stale when this hub cannot vouch that it is what the region has now; the
// replication follower's presence tracking (hub/replication/presence.ts) says which clusters
// and why. A standalone hub serves only what its own agents stream: it is never stale.
// Age is compared one way everywhere: last heard of more than staleAfterMs ago is stale;
// exactly staleAfterMs ago is still fresh.

/** Stands for "clusters this hub may not know at all" (the stream unread, or not caught up). */
export const ANY_CLUSTER = '*';

/** The clusters this hub cannot vouch for now (ANY_CLUSTER among them), each with why. */
export type StaleClusters = ReadonlyMap<string, string>;

/** Nothing stale: a standalone hub. */
export const NONE_STALE: StaleClusters = new Map();

/** Last heard of at lastHeardAtMs: is that too long ago at nowMs? */
export function isStale(lastHeardAtMs: number, nowMs: number, staleAfterMs: number): boolean {
  return nowMs - lastHeardAtMs > staleAfterMs;
}

/** One cluster, as /api/v1/clusters (stale, stale_reason) and gRPC ClusterStatus.stale show it. */
export function clusterFreshness(stale: StaleClusters, cluster: string): { stale: boolean; stale_reason: string | null } {
  const reason = stale.get(cluster);
  return { stale: reason !== undefined, stale_reason: reason ?? null };
}

// A type, not an interface: fastify's reply.headers() takes it as a record.
export type FreshnessHeaders = {
  'x-sfleet-freshness': 'fresh' | 'stale';
  /** Sorted, comma-separated; only when stale. */
  'x-sfleet-stale-clusters'?: string;
};

/** What every /api/v1 answer of a clustered hub carries, so nothing stale passes for fresh. */
export function freshnessHeaders(stale: StaleClusters): FreshnessHeaders {
  const clusters = [...stale.keys()].sort();
  if (clusters.length === 0) return { 'x-sfleet-freshness': 'fresh' };
  return { 'x-sfleet-freshness': 'stale', 'x-sfleet-stale-clusters': clusters.join(',') };
}
