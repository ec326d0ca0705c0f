// Why a compliance request was refused.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError } from '../../shared/errors/index.js';

/** pseudonymize was asked for, but the hub has no gdpr framework or no pseudonym key. */
export class PseudonymKeyMissingError extends FleetError {
  constructor() {
    super('SF_COMPLIANCE_NO_PSEUDONYM_KEY', 'pseudonymised exports need gdpr in compliance.frameworks and compliance.gdpr.pseudonym_key_env or pseudonym_key_file on the hub', 409, GrpcStatus.FAILED_PRECONDITION);
  }
}
