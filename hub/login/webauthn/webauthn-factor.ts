// WebAuthn as a second factor (@simplewebauthn/server): a logged-in user registers an
// authenticator; a password login of a user with one answers with a challenge that the browser
// signs. Challenges live in the ChallengeStore (short, single use); users.json keeps only public
// keys and counters. Origin and RP ID come from auth.mfa.providers (type webauthn).
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { BadRequestError } from '../../../shared/errors/index.js';
import type { Principal } from '../../policy/index.js';
import type { WebauthnProviderConfig } from '../config.js';
import type { UserDirectory, WebauthnCredential } from '../local/user-store.js';
import type { ChallengeStore } from './challenge-store.js';
import { WebauthnChallengeError, WebauthnCounterError, WebauthnRefusedError, WebauthnUnknownCredentialError } from './errors.js';

export type PasswordProvider = 'local' | 'ldap';

interface PendingLogin {
  principal: Principal;
  provider: PasswordProvider;
  challenge: string;
}

interface PendingRegistration {
  user: string;
  name: string;
  challenge: string;
}

export interface WebauthnCredentialView {
  id: string;
  name: string;
  created_at: string;
}

export class WebauthnFactor {
  constructor(
    private readonly config: WebauthnProviderConfig,
    private readonly users: UserDirectory,
    private readonly challenges: ChallengeStore,
  ) {}

  hasCredentials(user: string): boolean {
    return (this.users.get(user)?.webauthn?.length ?? 0) > 0;
  }

  /** After the password: a challenge for the user's registered authenticators. */
  async startLogin(principal: Principal, provider: PasswordProvider): Promise<{ login_id: string; public_key: PublicKeyCredentialRequestOptionsJSON }> {
    const creds = this.users.get(principal.name)?.webauthn ?? [];
    const options = await generateAuthenticationOptions({
      rpID: this.config.rp_id,
      allowCredentials: creds.map((c) => ({ id: c.id, transports: c.transports as AuthenticatorTransport[] })),
      userVerification: 'preferred',
      timeout: this.config.challenge_ttl,
    });
    const login_id = await this.challenges.put('login', { principal, provider, challenge: options.challenge } satisfies PendingLogin);
    return { login_id, public_key: options };
  }

  /** The signed challenge: the pending login's principal when the signature, origin, RP ID and counter hold. */
  async finishLogin(loginId: string, response: AuthenticationResponseJSON): Promise<{ principal: Principal; provider: PasswordProvider }> {
    const pending = await this.challenges.take<PendingLogin>('login', loginId);
    if (!pending) throw new WebauthnChallengeError('login');
    const user = pending.principal.name;
    const cred = this.users.get(user)?.webauthn?.find((c) => c.id === response.id);
    if (!cred) throw new WebauthnUnknownCredentialError();
    let newCounter: number;
    try {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: pending.challenge,
        expectedOrigin: this.config.origins,
        expectedRPID: this.config.rp_id,
        credential: { id: cred.id, publicKey: Buffer.from(cred.public_key, 'base64url'), counter: cred.counter, transports: cred.transports as AuthenticatorTransport[] },
        requireUserVerification: false,
      });
      if (!result.verified) throw new WebauthnRefusedError('the signature does not verify');
      newCounter = result.authenticationInfo.newCounter;
    } catch (err) {
      throw refusal(err);
    }
    if (!(await this.users.useWebauthnCredential(user, cred.id, newCounter))) throw new WebauthnCounterError();
    return { principal: pending.principal, provider: pending.provider };
  }

  /** Options for navigator.credentials.create() for the logged-in user. */
  async startRegistration(principal: Principal, name: string | undefined): Promise<{ registration_id: string; public_key: PublicKeyCredentialCreationOptionsJSON }> {
    if (principal.method !== 'local' && principal.method !== 'ldap') {
      throw new BadRequestError(`a WebAuthn second factor is for password logins (local or LDAP users), not for a ${principal.method} credential`);
    }
    const existing = this.users.get(principal.name)?.webauthn ?? [];
    const options = await generateRegistrationOptions({
      rpName: this.config.rp_name,
      rpID: this.config.rp_id,
      userName: principal.name,
      attestationType: 'none',
      excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports as AuthenticatorTransport[] })),
      authenticatorSelection: { residentKey: 'discouraged', userVerification: 'preferred' },
      timeout: this.config.challenge_ttl,
    });
    const registration_id = await this.challenges.put('registration', {
      user: principal.name,
      name: name ?? `key ${existing.length + 1}`,
      challenge: options.challenge,
    } satisfies PendingRegistration);
    return { registration_id, public_key: options };
  }

  /** The browser's attestation: stores the new public key for the same user who asked. */
  async finishRegistration(principal: Principal, registrationId: string, response: RegistrationResponseJSON): Promise<WebauthnCredentialView> {
    const pending = await this.challenges.take<PendingRegistration>('registration', registrationId);
    if (!pending || pending.user !== principal.name) throw new WebauthnChallengeError('registration');
    let credential: WebauthnCredential;
    try {
      const result = await verifyRegistrationResponse({
        response,
        expectedChallenge: pending.challenge,
        expectedOrigin: this.config.origins,
        expectedRPID: this.config.rp_id,
        requireUserVerification: false,
      });
      if (!result.verified || !result.registrationInfo) throw new WebauthnRefusedError('the attestation does not verify');
      const c = result.registrationInfo.credential;
      credential = {
        id: c.id,
        public_key: Buffer.from(c.publicKey).toString('base64url'),
        counter: c.counter,
        transports: c.transports ?? [],
        name: pending.name,
        created_at: new Date().toISOString(),
      };
    } catch (err) {
      throw refusal(err);
    }
    await this.users.addWebauthnCredential(principal.name, credential);
    return { id: credential.id, name: credential.name, created_at: credential.created_at };
  }
}

/** simplewebauthn throws plain Errors with a readable reason (origin, RP ID, challenge, counter). */
function refusal(err: unknown): Error {
  if (err instanceof WebauthnRefusedError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/counter value/i.test(message)) return new WebauthnCounterError();
  return new WebauthnRefusedError(message);
}
