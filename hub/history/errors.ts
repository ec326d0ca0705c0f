// Why the job history refused a write or a query.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError, UnavailableError } from '../../shared/errors/index.js';

/** A write for a cluster this hub does not own (its owner writes its history), or an unusable cluster name. */
export class HistoryNotOwnerError extends FleetError {
  constructor(message: string) {
    super('SF_HISTORY_NOT_OWNER', message, 409, GrpcStatus.FAILED_PRECONDITION);
  }
}

/** This hub keeps no job history (history.enabled is false). */
export class HistoryDisabledError extends UnavailableError {
  constructor() {
    super('SF_HISTORY_DISABLED', 'this hub keeps no job history (history.enabled: false)');
  }
}
