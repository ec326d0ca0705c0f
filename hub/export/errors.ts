// Why an export failed after its input was accepted.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError } from '../../shared/errors/index.js';

/** The export could not be written (a full scratch disk for Parquet); nothing was sent. */
export class ExportWriteError extends FleetError {
  constructor(message: string) {
    super('SF_EXPORT_WRITE_FAILED', message, 507, GrpcStatus.RESOURCE_EXHAUSTED);
  }
}
