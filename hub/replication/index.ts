export { Replication, type ReplicationDeps } from './replication.js';
export { ReplicationPresence, type StreamProgress } from './presence.js';
export { replicationKeys, compareIds, type ReplicationKeys } from './keys.js';
export { createRedis } from './redis-client.js';
export { RedisFence, type RedisCommand } from './redis-fence.js';
export { RedisFencedDocument, type FencedDocument } from './fenced-document.js';
export { EventRecord, type RecordedEvent } from './event-record.js';
export { registerReplicationMetrics } from './replication-metrics.js';
export {
  MemoryDedupeStore,
  MemorySharedKvStore,
  RedisDedupeStore,
  RedisSharedKvStore,
  type DedupeStore,
  type SharedKvStore,
} from './shared-stores.js';
export { DataKeyRecords, type StoreRewrap } from './data-key-records.js';
export { ReplicationSealer, streamBind, snapshotBind } from './entry-sealer.js';
