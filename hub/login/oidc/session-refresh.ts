// The re-check of an OIDC browser session (auth.session.revalidate): the refresh token kept with
// the session is spent at the token endpoint. The identity provider refusing it (invalid_grant:
// the account disabled or removed, the login withdrawn) ends the session and its watches; the
// groups of the new ID token (or of userinfo, when the answer has none) replace the session's,
// so a group taken away narrows its roles. An unreachable provider keeps the session as it was
// (hub/login/sessions/session-revalidation.ts). A rotated refresh token replaces the kept one.
import type { JWTPayload } from 'jose';
import type { Logger } from '../../../shared/logging/index.js';
import type { Principal } from '../../policy/index.js';
import type { AccountLookup } from '../sessions/session-revalidation.js';
import type { SessionStore } from '../sessions/index.js';
import { clientAuthenticated } from './browser-login.js';
import type { OidcConfig } from './config.js';
import { IssuerHttpError, issuerRequest } from './issuer-http.js';
import { IdpResponseError, IdpUnavailableError, type OidcIssuer } from './issuer.js';
import { principalFromClaims, type OidcTokenValidator } from './token-verifier.js';

export class OidcSessionRefresher implements AccountLookup {
  constructor(
    private readonly config: OidcConfig,
    private readonly issuer: OidcIssuer,
    private readonly validator: OidcTokenValidator,
    private readonly sessions: Pick<SessionStore, 'secret' | 'setSecret'>,
    private readonly logger: Logger,
  ) {}

  async lookup(name: string, session: string, current: Principal): Promise<{ name: string; groups: string[]; attributes: Record<string, string> } | undefined> {
    const refresh = await this.sessions.secret(session);
    // Without a refresh token the account cannot be asked about: such a session was given at most
    // one re-check interval to live when it opened (browser-login.ts), so it stays as it is.
    if (!refresh) return { name, groups: current.groups, attributes: current.attributes };
    const meta = await this.issuer.ready();
    if (!meta.token_endpoint) throw new IdpResponseError('the OIDC issuer publishes no token endpoint: sessions cannot be refreshed');
    const { form, headers } = clientAuthenticated(this.config, meta, { grant_type: 'refresh_token', refresh_token: refresh });
    let tokens: Record<string, unknown>;
    try {
      tokens = (await issuerRequest(meta.token_endpoint, { ...this.issuer.http, method: 'POST', form, headers })) as Record<string, unknown>;
    } catch (err) {
      const error = err instanceof IssuerHttpError ? String(((err.body ?? {}) as { error?: unknown }).error ?? err.status) : undefined;
      // invalid_grant is about the account or the token: the session ends. Unless another hub of
      // the group spent and rotated the same token meanwhile: then this one was merely stale.
      if (error === 'invalid_grant') {
        if ((await this.sessions.secret(session)) !== refresh) return { name, groups: current.groups, attributes: current.attributes };
        this.logger.info({ user: name, error }, 'OIDC session re-check: the identity provider refused the refresh token');
        return undefined;
      }
      // Anything else (invalid_client: the hub's own credentials) says nothing about the account: the session stays.
      if (err instanceof IssuerHttpError && err.status !== undefined) throw new IdpResponseError(`the OIDC token endpoint failed: ${err.message}`);
      throw new IdpUnavailableError(`the OIDC token endpoint is unreachable: ${(err as Error).message}`);
    }
    if (typeof tokens.refresh_token === 'string' && tokens.refresh_token !== '' && tokens.refresh_token !== refresh) await this.sessions.setSecret(session, tokens.refresh_token, refresh);
    const claims = await this.claims(tokens, meta.userinfo_endpoint);
    const principal = principalFromClaims(claims, this.config.claims);
    // The same login must name the same user; anything else is not this session's account.
    if (principal.name !== name) return undefined;
    return { name, groups: principal.groups, attributes: principal.attributes };
  }

  private async claims(tokens: Record<string, unknown>, userinfo: string | undefined): Promise<JWTPayload> {
    if (typeof tokens.id_token === 'string') {
      try {
        return await this.validator.validate(tokens.id_token, { audience: [this.config.client_id] });
      } catch (err) {
        throw new IdpResponseError(`the refreshed ID token does not validate: ${(err as Error).message}`);
      }
    }
    if (typeof tokens.access_token !== 'string' || !userinfo) throw new IdpResponseError('the OIDC refresh answered with neither an id_token nor an access token for userinfo');
    try {
      return (await issuerRequest(userinfo, { ...this.issuer.http, headers: { authorization: `Bearer ${tokens.access_token}` } })) as JWTPayload;
    } catch (err) {
      throw new IdpUnavailableError(`the OIDC userinfo endpoint failed: ${(err as Error).message}`);
    }
  }
}
