// Why a backup, a verify or a restore was refused.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError } from '../../shared/errors/index.js';

/** A backup's object or manifest is changed, truncated or missing: nothing is restored from it. */
export class BackupCorruptError extends FleetError {
  constructor(message: string) {
    super('SF_BACKUP_CORRUPT', message, 422, GrpcStatus.DATA_LOSS);
  }
}

/** The configured key cannot open the backup (another key, or the key provider is unavailable). */
export class BackupKeyError extends FleetError {
  constructor(message: string) {
    super('SF_BACKUP_KEY', message, 422, GrpcStatus.FAILED_PRECONDITION);
  }
}

/** A backup could not be written to every destination: it is reported failed, and what was written of it is removed. */
export class BackupFailedError extends FleetError {
  constructor(message: string) {
    super('SF_BACKUP_FAILED', message, 502, GrpcStatus.UNAVAILABLE);
  }
}

/** No backup of that id (or none at all) in the destination. */
export class BackupNotFoundError extends FleetError {
  constructor(message: string) {
    super('SF_BACKUP_NOT_FOUND', message, 404, GrpcStatus.NOT_FOUND);
  }
}

/** A restore into a data directory in use (a hub's files, or a running group), without --force. */
export class RestoreRefusedError extends FleetError {
  constructor(message: string) {
    super('SF_BACKUP_RESTORE_REFUSED', message, 409, GrpcStatus.FAILED_PRECONDITION);
  }
}

/** Backups are not configured on this hub (no backup section). */
export class BackupNotConfiguredError extends FleetError {
  constructor() {
    super('SF_BACKUP_NOT_CONFIGURED', 'this hub has no backup section: configure backup.destinations', 503, GrpcStatus.UNAVAILABLE);
  }
}
