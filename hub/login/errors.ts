// The errors of logging in. A wrong user name and a wrong password give the same answer, so
// nobody learns which user names exist; the detail goes to the hub's log (without secrets).
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError, UnavailableError } from '../../shared/errors/index.js';

export const LOGIN_FAILED_MESSAGE = 'login failed: unknown user or wrong password';

/** A credential or a step of a login was refused: 401 over HTTP, UNAUTHENTICATED over gRPC (the webauthn/ refusals too). */
export abstract class CredentialRefusedError extends FleetError {
  constructor(code: string, message: string, detail?: Record<string, unknown>) {
    super(code, message, 401, GrpcStatus.UNAUTHENTICATED, detail);
  }
}

export class LoginFailedError extends CredentialRefusedError {
  constructor(message = LOGIN_FAILED_MESSAGE) {
    super('SF_AUTH_LOGIN_FAILED', message);
  }
}

/** The password was right; a TOTP code is needed too (the client prompts for it and retries). */
export class MfaRequiredError extends CredentialRefusedError {
  constructor(message = 'a TOTP code is required: send "totp" with the login', detail: Record<string, unknown> = { mfa: 'totp' }) {
    super('SF_AUTH_MFA_REQUIRED', message, detail);
  }
}

export class TotpInvalidError extends CredentialRefusedError {
  constructor() {
    super('SF_AUTH_TOTP_INVALID', 'the TOTP code is wrong or outside its time window');
  }
}

export class TotpReplayedError extends CredentialRefusedError {
  constructor() {
    super('SF_AUTH_TOTP_REPLAYED', 'this TOTP code was used already: wait for the next code');
  }
}

export class TooManyAttemptsError extends FleetError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterMs: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super('SF_AUTH_LOCKED_OUT', `too many failed logins: try again in ${seconds}s`, 429, GrpcStatus.RESOURCE_EXHAUSTED, { retry_after: seconds });
    this.retryAfterSeconds = seconds;
  }
}

export class DirectoryUnavailableError extends UnavailableError {
  constructor(message: string) {
    super('SF_AUTH_DIRECTORY_UNAVAILABLE', message);
  }
}

/** The shared session store (Redis) cannot be reached: logins and sessions wait for it. */
export class SessionsUnavailableError extends UnavailableError {
  constructor(message: string) {
    super('SF_AUTH_SESSIONS_UNAVAILABLE', message);
  }
}
