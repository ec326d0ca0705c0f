// Who is calling. Every API request passes here first: a client certificate of the fleet CA,
// or a bearer credential (an API token, a login session, an OIDC access token...). Nothing is
// anonymous. RBAC and tenant filters take the Principal this returns.
import type { TLSSocket } from 'node:tls';
import { UnauthenticatedError } from '../../shared/errors/index.js';
import { identityFromSubjectAltName, revocationText, type RevokedCertificate } from '../../shared/tls/index.js';
import type { TokenIdentity } from './token-store.js';

/** Anything that tells a valid API token's identity (data_dir/tokens.json or the group's security store). */
export interface TokenLookup {
  identify(token: string): TokenIdentity | undefined;
}

export type AuthMethod = 'mtls' | 'token' | 'oidc' | 'ldap' | 'local' | 'saml' | 'kerberos' | 'smart_card';

export interface Principal {
  /** The user's identity: the client certificate's name, the token's name, the login name. */
  name: string;
  /** How the caller proved it (for sessions: how the session was opened). */
  method: AuthMethod;
  /** What kind of caller: a person or tool with a client cert, another hub, a service account, a logged-in user. */
  role: 'client' | 'hub' | 'agent' | 'service' | 'user';
  /** Directory or IdP groups (RBAC bindings match them). */
  groups: string[];
  /** User attributes for row filters (`${user.project}`...): IdP claims or directory attributes. */
  attributes: Record<string, string>;
  /** RBAC roles granted to this credential itself (service-account tokens bound to roles). */
  roles?: string[];
  /** When the credential ends (ms since the epoch; a login session's or an API token's expiry): open watches end then. */
  expiresAt?: number;
}

export interface AuthInput {
  socket?: TLSSocket;
  authorization?: string | string[];
  peerSubjectAltName?: string;
  /** The client certificate's serial (hex), checked against the revocation list. */
  peerCertificateSerial?: string;
  /** The caller's address, for audit and rate limiting. */
  remoteAddress?: string;
}

/**
 * One kind of bearer credential. `verify` answers undefined when the credential is not of its
 * kind (the next verifier is asked) and throws UnauthenticatedError when it is of its kind but
 * invalid (expired, bad signature...), so the caller hears why.
 */
export interface BearerVerifier {
  readonly kind: string;
  verify(credential: string, input: AuthInput): Promise<Principal | undefined> | Principal | undefined;
}

/** API tokens from data_dir/tokens.json (`sfleet token create`). */
export class ApiTokenVerifier implements BearerVerifier {
  readonly kind = 'token';
  constructor(private readonly tokens: TokenLookup) {}
  verify(credential: string): Principal | undefined {
    if (!credential.startsWith('sft_')) return undefined;
    const id = this.tokens.identify(credential);
    if (!id) throw new UnauthenticatedError('invalid, expired or revoked token');
    return {
      name: id.name,
      method: 'token',
      role: 'service',
      groups: [],
      attributes: { ...id.attributes },
      ...(id.roles ? { roles: id.roles } : {}),
      ...(id.expiresAt !== undefined ? { expiresAt: id.expiresAt } : {}),
    };
  }
}

/**
 * A connection's client certificate, read once: getPeerCertificate() builds a new object with
 * every field each call (a few % of a busy hub's CPU at two calls per request), and the peer
 * of a TLS 1.3 connection cannot change (no renegotiation).
 */
const peers = new WeakMap<object, { san?: string; serial?: string }>();

function peerOf(socket: NonNullable<AuthInput['socket']>): { san?: string; serial?: string } {
  let peer = peers.get(socket);
  if (!peer) {
    const cert = socket.getPeerCertificate();
    peer = { san: cert?.subjectaltname, serial: cert?.serialNumber };
    peers.set(socket, peer);
  }
  return peer;
}

export interface AuthenticatorOptions {
  /** The revocation of a client certificate serial (the hub's revocation list), or undefined. */
  revokedCertificate?: (serial: string | undefined) => RevokedCertificate | undefined;
}

export class Authenticator {
  private readonly verifiers: BearerVerifier[];
  constructor(
    tokens: TokenLookup,
    verifiers: BearerVerifier[] = [],
    private readonly opts: AuthenticatorOptions = {},
  ) {
    this.verifiers = [new ApiTokenVerifier(tokens), ...verifiers];
  }

  async authenticate(input: AuthInput): Promise<Principal> {
    const auth = Array.isArray(input.authorization) ? input.authorization[0] : input.authorization;
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m) throw new UnauthenticatedError('malformed Authorization header: expected "Bearer <token>"');
      for (const verifier of this.verifiers) {
        const principal = await verifier.verify(m[1], input);
        if (principal) return principal;
      }
      throw new UnauthenticatedError('invalid, expired or revoked token');
    }
    let san = input.peerSubjectAltName;
    let serial = input.peerCertificateSerial;
    if (san === undefined && input.socket && input.socket.authorized) {
      const peer = peerOf(input.socket);
      san = peer.san;
      serial ??= peer.serial;
    }
    if (san !== undefined) {
      // Checked on every request: a revocation applies to connections already open.
      const revoked = this.opts.revokedCertificate?.(serial);
      if (revoked) throw new UnauthenticatedError(`SF_TLS_CERT_REVOKED: ${revocationText(revoked)}`);
      const identity = identityFromSubjectAltName(san);
      if (identity && (identity.role === 'client' || identity.role === 'hub')) {
        return { name: identity.name, method: 'mtls', role: identity.role, groups: [], attributes: {} };
      }
      if (identity?.role === 'agent') throw new UnauthenticatedError('agent certificates may only open the agent stream');
    }
    throw new UnauthenticatedError();
  }
}
