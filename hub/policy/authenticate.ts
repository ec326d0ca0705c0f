// Who is calling. Every API request passes here first: a client certificate of the fleet CA,
// or a bearer token. Nothing is anonymous. RBAC and tenant filters (later) take the Principal.
import type { TLSSocket } from 'node:tls';
import { UnauthenticatedError } from '../../shared/errors/index.js';
import { identityFromSubjectAltName } from '../../shared/tls/index.js';
import type { TokenStore } from './token-store.js';

export interface Principal {
  /** The user's identity: the client certificate's name, or the token's name. */
  name: string;
  method: 'mtls' | 'token';
  role: 'client' | 'hub' | 'agent' | 'service';
}

export interface AuthInput {
  socket?: TLSSocket;
  authorization?: string | string[];
  peerSubjectAltName?: string;
}

export class Authenticator {
  constructor(private readonly tokens: TokenStore) {}

  authenticate(input: AuthInput): Principal {
    const auth = Array.isArray(input.authorization) ? input.authorization[0] : input.authorization;
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m) throw new UnauthenticatedError('malformed Authorization header: expected "Bearer <token>"');
      const name = this.tokens.verify(m[1]);
      if (!name) throw new UnauthenticatedError('invalid, expired or revoked token');
      return { name, method: 'token', role: 'service' };
    }
    let san = input.peerSubjectAltName;
    if (san === undefined && input.socket && input.socket.authorized) {
      san = input.socket.getPeerCertificate()?.subjectaltname;
    }
    if (san !== undefined) {
      const identity = identityFromSubjectAltName(san);
      if (identity && (identity.role === 'client' || identity.role === 'hub')) {
        return { name: identity.name, method: 'mtls', role: identity.role };
      }
      if (identity?.role === 'agent') throw new UnauthenticatedError('agent certificates may only open the agent stream');
    }
    throw new UnauthenticatedError();
  }
}
