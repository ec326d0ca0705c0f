import { status as GrpcStatus } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { toGrpcStatus, toProblem } from '../../shared/errors/index.js';
import { DirectoryUnavailableError, LoginFailedError, MfaRequiredError, TooManyAttemptsError, TotpInvalidError, TotpReplayedError } from './errors.js';
import { WebauthnChallengeError, WebauthnCounterError, WebauthnRefusedError, WebauthnUnknownCredentialError } from './webauthn/errors.js';

// The codes and statuses are the API's contract: clients (the CLI, the login page) act on them.
describe('login errors as a client sees them', () => {
  it('refused credentials and login steps: 401 / UNAUTHENTICATED, each with its own code', () => {
    const refused = [
      [new LoginFailedError(), 'SF_AUTH_LOGIN_FAILED'],
      [new MfaRequiredError(), 'SF_AUTH_MFA_REQUIRED'],
      [new TotpInvalidError(), 'SF_AUTH_TOTP_INVALID'],
      [new TotpReplayedError(), 'SF_AUTH_TOTP_REPLAYED'],
      [new WebauthnChallengeError('login'), 'SF_AUTH_WEBAUTHN_CHALLENGE'],
      [new WebauthnUnknownCredentialError(), 'SF_AUTH_WEBAUTHN_UNKNOWN_CREDENTIAL'],
      [new WebauthnCounterError(), 'SF_AUTH_WEBAUTHN_COUNTER'],
      [new WebauthnRefusedError('bad origin'), 'SF_AUTH_WEBAUTHN_REFUSED'],
    ] as const;
    for (const [err, code] of refused) {
      expect(toProblem(err, '/api/v1/auth/login'), code).toMatchObject({ status: 401, code, detail: err.message });
      expect(toGrpcStatus(err), code).toEqual({ code: GrpcStatus.UNAUTHENTICATED, details: `${code}: ${err.message}` });
    }
    expect(toProblem(new MfaRequiredError())).toMatchObject({ mfa: 'totp' });
  });

  it('a lockout is 429 / RESOURCE_EXHAUSTED with retry_after; a directory outage 503 / UNAVAILABLE', () => {
    expect(toProblem(new TooManyAttemptsError(2_500))).toMatchObject({ status: 429, code: 'SF_AUTH_LOCKED_OUT', retry_after: 3 });
    expect(toGrpcStatus(new TooManyAttemptsError(2_500)).code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(toProblem(new DirectoryUnavailableError('LDAP down'))).toMatchObject({ status: 503, code: 'SF_AUTH_DIRECTORY_UNAVAILABLE' });
    expect(toGrpcStatus(new DirectoryUnavailableError('LDAP down')).code).toBe(GrpcStatus.UNAVAILABLE);
  });
});
