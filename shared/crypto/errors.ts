// Why a sealed file could not be read or written. Messages name the file and the key (provider,
// key id, version), never key material. The classes live here, beside the code that throws them
// (as hub/login/errors.ts, hub/audit/errors.ts), and extend shared/errors' FleetError, so
// toProblem() and toGrpcStatus() render them like every other error.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError, UpstreamError } from '../errors/index.js';

/** The key-encryption key a file needs is not there, or is not the one that wrapped its data key. */
export class KeyUnavailableError extends FleetError {
  constructor(message: string) {
    super('SF_CRYPTO_KEY_UNAVAILABLE', message, 500, GrpcStatus.INTERNAL);
  }
}

/** A sealed file or frame failed authentication: changed, truncated, reordered or moved. */
export class TamperedDataError extends FleetError {
  constructor(message: string) {
    super('SF_CRYPTO_TAMPERED', message, 500, GrpcStatus.DATA_LOSS);
  }
}

/** The key service (Vault) could not be reached, timed out or refused the request. */
export class KeyServiceError extends UpstreamError {
  constructor(message: string, status?: number) {
    super('SF_CRYPTO_KEY_SERVICE', message, 503, GrpcStatus.UNAVAILABLE, status);
  }
}

/** Encryption settings or key material that cannot be used (bad keyring, unsafe mode, bad env value). */
export class KeyConfigError extends FleetError {
  constructor(message: string) {
    super('SF_CRYPTO_KEY_CONFIG', message, 500, GrpcStatus.FAILED_PRECONDITION);
  }
}
