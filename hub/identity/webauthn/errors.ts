// The refusals of a WebAuthn ceremony: each says what was wrong so the browser can tell the user.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError } from '../../../shared/errors/index.js';

export class WebauthnChallengeError extends FleetError {
  constructor(what: 'login' | 'registration') {
    super('SF_AUTH_WEBAUTHN_CHALLENGE', `the WebAuthn challenge is unknown, expired or used already: ${what === 'login' ? 'log in again' : 'start the registration again'}`, 401, GrpcStatus.UNAUTHENTICATED);
  }
}

export class WebauthnUnknownCredentialError extends FleetError {
  constructor() {
    super('SF_AUTH_WEBAUTHN_UNKNOWN_CREDENTIAL', 'this authenticator is not registered for the user', 401, GrpcStatus.UNAUTHENTICATED);
  }
}

export class WebauthnCounterError extends FleetError {
  constructor() {
    super('SF_AUTH_WEBAUTHN_COUNTER', "the authenticator's signature counter went backwards: the key may be cloned, so it is refused", 401, GrpcStatus.UNAUTHENTICATED);
  }
}

export class WebauthnRefusedError extends FleetError {
  constructor(reason: string) {
    super('SF_AUTH_WEBAUTHN_REFUSED', `the authenticator's answer was refused: ${reason.slice(0, 300)}`, 401, GrpcStatus.UNAUTHENTICATED);
  }
}
