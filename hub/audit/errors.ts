import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError } from '../../shared/errors/index.js';

/** The audit log cannot be written: mutations are refused rather than done unaudited. */
export class AuditUnavailableError extends FleetError {
  constructor(message = 'the audit log cannot be written right now, so changes are refused (invariant: nothing changes unaudited); reads still work') {
    super('SF_AUDIT_UNAVAILABLE', message, 503, GrpcStatus.UNAVAILABLE);
  }
}

/** The action ran but its audit record could not be written: the caller must not assume either way. */
export class AuditWriteError extends FleetError {
  constructor() {
    super('SF_AUDIT_WRITE_FAILED', 'the request was processed but its audit record could not be written; check the hub and the outcome before retrying', 500, GrpcStatus.INTERNAL);
  }
}
