// Why an export failed after its input was accepted.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError, UnavailableError } from '../../shared/errors/index.js';

/** The export could not be written (a full scratch disk for Parquet); nothing was sent. */
export class ExportWriteError extends FleetError {
  constructor(message: string) {
    super('SF_EXPORT_WRITE_FAILED', message, 507, GrpcStatus.RESOURCE_EXHAUSTED);
  }
}

/** What the export would read is not kept by this hub (an audit export from a hub without an audit log). */
export class ExportSourceMissingError extends UnavailableError {
  constructor(message: string) {
    super('SF_EXPORT_SOURCE_MISSING', message);
  }
}
