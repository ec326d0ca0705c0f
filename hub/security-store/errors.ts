import { UnavailableError } from '../../shared/errors/index.js';

/** The region's shared security store (etcd) cannot be reached for a write that must not wait (a new token, a counter). */
export class SecurityStoreUnavailableError extends UnavailableError {
  constructor(message: string) {
    super('SF_SECURITY_STORE_UNAVAILABLE', message);
  }
}
