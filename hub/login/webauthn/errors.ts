// The refusals of a WebAuthn ceremony: each says what was wrong so the browser can tell the user.
import { CredentialRefusedError } from '../errors.js';

export class WebauthnChallengeError extends CredentialRefusedError {
  constructor(what: 'login' | 'registration') {
    super('SF_AUTH_WEBAUTHN_CHALLENGE', `the WebAuthn challenge is unknown, expired or used already: ${what === 'login' ? 'log in again' : 'start the registration again'}`);
  }
}

export class WebauthnUnknownCredentialError extends CredentialRefusedError {
  constructor() {
    super('SF_AUTH_WEBAUTHN_UNKNOWN_CREDENTIAL', 'this authenticator is not registered for the user');
  }
}

export class WebauthnCounterError extends CredentialRefusedError {
  constructor() {
    super('SF_AUTH_WEBAUTHN_COUNTER', "the authenticator's signature counter went backwards: the key may be cloned, so it is refused");
  }
}

export class WebauthnRefusedError extends CredentialRefusedError {
  constructor(reason: string) {
    super('SF_AUTH_WEBAUTHN_REFUSED', `the authenticator's answer was refused: ${reason.slice(0, 300)}`);
  }
}
