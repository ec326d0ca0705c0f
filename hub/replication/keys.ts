// Every Redis key of a region, in one place. All start with "<key_prefix>:<region>:".
export interface ReplicationKeys {
  /** Stream of applied deltas: fields h (hub), c (cluster), t (d delta | s snapshot), d (protobuf), k (data key id when d is sealed). */
  stream: string;
  /** Hash per cluster: d (snapshot protobuf), id (last stream entry it includes), epoch, seq, k (data key id when d is sealed). */
  snapshot(cluster: string): string;
  /** Hash of the data keys that seal entries (entry-sealer.ts): key id -> the key wrapped by the at-rest key. */
  dataKeys: string;
  /** Set of clusters that have a snapshot. */
  clusters: string;
  /** Highest fencing token seen by this Redis. */
  fence: string;
  /** Stream entries below this id may have been trimmed (compaction writes it). */
  trimmed: string;
  /** Which hub ingests a cluster now (JSON, expires unless refreshed). */
  owner(cluster: string): string;
  /** Pub/sub channel: "a hub needs a snapshot of this cluster". */
  resync: string;
  /** Pub/sub channel: "this cluster's owner record changed" (agent, connected). */
  status: string;
  /** Pub/sub channel: "a session or token ended on this hub" (the sending hub's id; no credential). */
  credentialEnded: string;
  /** The record of fleet events (controller failovers...), written by the leader only. */
  events: string;
  eventSeen(id: string): string;
  dedupe(key: string): string;
  /** An entry of the shared key-value store (SharedKvStore). */
  sharedKv(key: string): string;
  /** A tenant's API rate-limit bucket (hash: tokens, at). */
  tenantRate(tenant: string): string;
  /** A leader-only JSON document written under the fence (fenced-document.ts), e.g. "alerting". */
  document(name: string): string;
}

export function replicationKeys(keyPrefix: string, region: string): ReplicationKeys {
  const p = `${keyPrefix}:${region}:`;
  return {
    stream: `${p}deltas`,
    snapshot: (cluster) => `${p}snapshot:${cluster}`,
    clusters: `${p}snapshots`,
    dataKeys: `${p}data-keys`,
    fence: `${p}fence`,
    trimmed: `${p}trimmed`,
    owner: (cluster) => `${p}owner:${cluster}`,
    resync: `${p}resync`,
    status: `${p}status`,
    credentialEnded: `${p}credential-ended`,
    events: `${p}events`,
    eventSeen: (id) => `${p}event-seen:${id}`,
    dedupe: (key) => `${p}dedupe:${key}`,
    // "session:" is kept from when only sessions lived there: hubs of the previous release
    // read the same keys during a rolling upgrade.
    sharedKv: (key) => `${p}session:${key}`,
    tenantRate: (tenant) => `${p}tenant-rate:${tenant}`,
    document: (name) => `${p}doc:${name}`,
  };
}

/** Compares Redis stream ids ("ms-seq"). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  if ((as ?? 0n) !== (bs ?? 0n)) return (as ?? 0n) < (bs ?? 0n) ? -1 : 1;
  return 0;
}
