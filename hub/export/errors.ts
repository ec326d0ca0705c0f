// Why an export failed after its input was accepted.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError, UnavailableError } from '../../shared/errors/index.js';

/** The export could not be written (a full scratch disk for Parquet); nothing was sent. */
export class ExportWriteError extends FleetError {
  constructor(message: string) {
    super('SF_EXPORT_WRITE_FAILED', message, 507, GrpcStatus.RESOURCE_EXHAUSTED);
  }
}

/**
 * An incremental jobs or nodes export whose cursor is older than what this hub knows of a
 * cluster's changes (it restarted, did not export incrementally before, or trimmed its journal):
 * the hub cannot list the deletes since, so it sends nothing. A full export (an empty cursor)
 * is needed, to replace what the consumer holds: `sfleet export --cursor` exits 3, and writes that
 * full export only when asked (`--full-on-too-old`).
 */
export class ExportCursorTooOldError extends FleetError {
  /**
   * `of`: 'events' when the event log dropped events after the cursor (it keeps the newest only);
   * 'audit' when retention removed audit records of hub `clusters[0]` after the cursor.
   */
  constructor(clusters: readonly string[], of: 'changes' | 'events' | 'audit' = 'changes') {
    const named = clusters.slice(0, 3).join(', ') + (clusters.length > 3 ? ` and ${clusters.length - 3} more` : '');
    const why =
      of === 'events' ? `this hub's event log dropped events after the cursor from ${named}: it keeps the newest only`
      : of === 'audit' ? `audit retention on ${named} removed records after the cursor that were never exported`
      : `this hub does not know every change after the cursor in ${named}: it restarted or did not keep them`;
    super(
      'SF_EXPORT_CURSOR_TOO_OLD',
      `cursor too old: full export needed (${why}); export again with an empty cursor and replace what you hold`,
      410,
      GrpcStatus.OUT_OF_RANGE,
    );
  }
}

/** What the export would read is not kept by this hub (an audit export from a hub without an audit log). */
export class ExportSourceMissingError extends UnavailableError {
  constructor(message: string) {
    super('SF_EXPORT_SOURCE_MISSING', message);
  }
}
