// Backups of the hub's configuration and durable stores: encrypted, checked, to several destinations.
export { backupConfigSchema, destinationName, destinationSchema, type BackupConfig, type DestinationConfig } from './config.js';
export { BackupService, verifyIn, type BackupDeps, type BackupListing, type BackupRun, type DestinationOutcome, type VerifyOutcome } from './backup-service.js';
export { LocalDestination, openDestination, S3Destination, type Destination } from './destinations.js';
export { BackupCorruptError, BackupFailedError, BackupKeyError, BackupNotConfiguredError, BackupNotFoundError, RestoreRefusedError } from './errors.js';
export { FORMAT, ManifestReader, ManifestWriter, parseManifest, type Manifest, type ManifestObject, type StoredObject } from './manifest.js';
export { checkAll, completeBackups, hubsOf, inUse, openAll, parseRestoreTime, readManifest, readManifestAt, writeRestore, type OpenedObject, type RestoreTarget } from './restore.js';
export { DURABLE_SECURITY_KINDS, ETCD_STATE_OBJECT, parseEtcdState, readEtcdState, writeEtcdState, type EtcdState } from './etcd-state.js';
export { takeSnapshot, type SnapshotObject, type SnapshotSources } from './snapshot.js';
export { AUDIT_PART_PATH, fetchPeerAudits, localAuditPart, type AuditPart, type GroupPartsDeps } from './group-parts.js';
export { parseRedisState, readRedisState, REDIS_STATE_OBJECT, writeRedisState, type RedisState } from './redis-state.js';
