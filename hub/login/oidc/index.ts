// OpenID Connect: bearer JWTs from the issuer, and the dashboard's browser login.
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../../shared/logging/index.js';
import type { OidcConfig } from './config.js';
import type { SessionStore } from '../sessions/index.js';
import { registerOidcLogin, type LoginStates } from './browser-login.js';
import { OidcIssuer } from './issuer.js';
import { OidcBearerVerifier, OidcTokenValidator } from './token-verifier.js';
import { OidcSessionRefresher } from './session-refresh.js';
import type { AccountLookup } from '../sessions/session-revalidation.js';

export { OIDC_CALLBACK_PATH, OIDC_LOGIN_PATH, OIDC_LOGIN_TTL_MS, PendingLogins, sendLoggedIn, type LoggedIn, type LoginStates, type PendingLogin } from './browser-login.js';
export { nextFromQuery, safeNextPath } from './next-path.js';
export { IdpResponseError, IdpUnavailableError, OidcIssuer } from './issuer.js';
export { bearerFromSessionCookie, SESSION_COOKIE, sessionCookie } from './session-cookie.js';
export { OidcSessionRefresher } from './session-refresh.js';
export { looksLikeJwt, OidcBearerVerifier, OidcTokenValidator, principalFromClaims } from './token-verifier.js';

export interface Oidc {
  verifier: OidcBearerVerifier;
  /** The browser login routes (only when a client_secret is configured). */
  registerRoutes(app: FastifyInstance): void;
  /** The browser login is offered (a client_secret is configured): the login page shows its button. */
  browserLogin: boolean;
  /** Re-checks browser sessions (auth.session.revalidate) with their refresh tokens. */
  revalidator: AccountLookup;
  /** For /readyz checks. */
  status(): string;
  close(): void;
}

/** Starts discovery in the background; the hub does not wait for the issuer. */
export function startOidc(config: OidcConfig, deps: { logger: Logger; sessions: SessionStore; states?: LoginStates; revalidateMs?: number }): Oidc {
  const logger = deps.logger.child({ component: 'oidc' });
  const issuer = new OidcIssuer(config, logger);
  const validator = new OidcTokenValidator(config, issuer);
  issuer.start();
  return {
    verifier: new OidcBearerVerifier(validator, config.claims),
    registerRoutes(app) {
      if (config.client_secret) {
        registerOidcLogin(app, { config, issuer, validator, sessions: deps.sessions, logger, ...(deps.states ? { states: deps.states } : {}), ...(deps.revalidateMs ? { revalidateMs: deps.revalidateMs } : {}) });
      }
    },
    revalidator: new OidcSessionRefresher(config, issuer, validator, deps.sessions, logger),
    browserLogin: !!config.client_secret,
    status: () => issuer.status(),
    close: () => issuer.close(),
  };
}
