// The dashboard's OIDC login: authorization code with PKCE (S256), state and nonce.
// GET /api/v1/auth/oidc/login redirects to the issuer; the issuer sends the browser back to
// GET /api/v1/auth/oidc/callback, where the code is exchanged (with the client secret, over
// TLS), the ID token validated (nonce included) and a session opened.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError, UnauthenticatedError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { OidcConfig } from './config.js';
import type { SessionStore } from '../sessions/index.js';
import { IssuerHttpError, issuerRequest } from './issuer-http.js';
import { IdpResponseError, IdpUnavailableError, type IssuerMetadata, type OidcIssuer } from './issuer.js';
import { nextFromQuery, safeNextPath } from './next-path.js';
import { sessionCookie } from './session-cookie.js';
import { principalFromClaims, type OidcTokenValidator } from './token-verifier.js';

export const OIDC_LOGIN_PATH = '/api/v1/auth/oidc/login';
export const OIDC_CALLBACK_PATH = '/api/v1/auth/oidc/callback';

/** Pending logins are bounded, so unauthenticated requests cannot fill memory. */
const MAX_PENDING = 10_000;

export interface PendingLogin {
  verifier: string;
  nonce: string;
  redirectUri: string;
  /** Where the browser goes once logged in (a path of this hub; the dashboard when absent). */
  next?: string;
  expires: number;
}

/** Logins started and not finished yet, by state: this hub's memory, or the hub group's security store. */
export interface LoginStates {
  add(state: string, login: Omit<PendingLogin, 'expires'>): Promise<void>;
  /** The login once (region-wide when shared), while it has not expired. */
  take(state: string): Promise<PendingLogin | undefined>;
}

export const OIDC_LOGIN_TTL_MS = 10 * 60_000;

/** Logins started here and not finished yet, by state. Each state is good for one callback. */
export class PendingLogins implements LoginStates {
  private readonly pending = new Map<string, PendingLogin>();
  constructor(private readonly now: () => number = Date.now) {}

  async add(state: string, login: Omit<PendingLogin, 'expires'>): Promise<void> {
    this.addNow(state, login);
  }

  addNow(state: string, login: Omit<PendingLogin, 'expires'>): void {
    const now = this.now();
    for (const [key, p] of this.pending) {
      if (p.expires > now && this.pending.size < MAX_PENDING) break;
      this.pending.delete(key); // oldest first (Map keeps insertion order)
    }
    this.pending.set(state, { ...login, expires: now + OIDC_LOGIN_TTL_MS });
  }

  async take(state: string): Promise<PendingLogin | undefined> {
    return this.takeNow(state);
  }

  takeNow(state: string): PendingLogin | undefined {
    const p = this.pending.get(state);
    this.pending.delete(state);
    return p && p.expires > this.now() ? p : undefined;
  }
}

const random = () => randomBytes(32).toString('base64url');
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface OidcLoginDeps {
  config: OidcConfig;
  issuer: OidcIssuer;
  validator: OidcTokenValidator;
  sessions: SessionStore;
  logger: Logger;
  /** Where started logins wait for their callback (default: this hub's memory). */
  states?: LoginStates;
  /** auth.session.revalidate: the longest a session without a refresh token lasts. */
  revalidateMs?: number;
}

export function registerOidcLogin(app: FastifyInstance, deps: OidcLoginDeps): void {
  const { config, issuer } = deps;
  const pending = deps.states ?? new PendingLogins();

  const callbackUrl = (request: FastifyRequest): string => {
    if (config.redirect_uri) return config.redirect_uri;
    const host = request.headers.host ?? '';
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(host)) throw new BadRequestError('cannot build the callback URL from this Host header: set sso.oidc.redirect_uri');
    return `https://${host}${OIDC_CALLBACK_PATH}`;
  };

  const loginQuery = { type: 'object', properties: { next: { type: 'string', maxLength: 2048, description: 'A path of this hub to land on once logged in' } }, additionalProperties: false } as const;

  app.get(OIDC_LOGIN_PATH, { config: { public: true }, schema: { summary: 'Browser login: redirect to the OIDC issuer (authorization code + PKCE)', querystring: loginQuery } }, async (request, reply) => {
    const next = nextFromQuery((request.query as { next?: string }).next);
    const meta = await issuer.ready();
    if (!meta.authorization_endpoint || !meta.token_endpoint) throw new IdpResponseError('the OIDC issuer publishes no authorization or token endpoint: browser login is not possible');
    if (meta.code_challenge_methods_supported && !meta.code_challenge_methods_supported.includes('S256')) {
      throw new IdpResponseError('the OIDC issuer does not support PKCE with S256');
    }
    const state = random();
    const nonce = random();
    const verifier = random();
    const redirectUri = callbackUrl(request);
    await pending.add(state, { verifier, nonce, redirectUri, ...(next ? { next } : {}) });
    const url = new URL(meta.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: config.client_id,
      redirect_uri: redirectUri,
      scope: config.scopes.join(' '),
      state,
      nonce,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return reply.header('cache-control', 'no-store').redirect(url.toString(), 302);
  });

  const callbackQuery = {
    type: 'object',
    properties: {
      code: { type: 'string', maxLength: 2048 },
      state: { type: 'string', maxLength: 256 },
      iss: { type: 'string', maxLength: 2048 },
      error: { type: 'string', maxLength: 256 },
      error_description: { type: 'string', maxLength: 1024 },
      session_state: { type: 'string', maxLength: 1024 },
    },
    additionalProperties: false,
  } as const;

  app.get(OIDC_CALLBACK_PATH, { config: { public: true }, schema: { summary: 'Browser login: the OIDC issuer sends the browser back here', querystring: callbackQuery } }, async (request, reply) => {
    const q = request.query as { code?: string; state?: string; iss?: string; error?: string; error_description?: string };
    const login = q.state ? await pending.take(q.state) : undefined;
    if (!login) throw new UnauthenticatedError(`OIDC login state unknown, used or expired: start again at ${OIDC_LOGIN_PATH}`);
    // RFC 9207: the issuer names itself in the response; a different one is a mix-up attack.
    if (q.iss !== undefined && q.iss !== config.issuer) throw new UnauthenticatedError(`the login response comes from issuer "${q.iss}", not "${config.issuer}"`);
    if (q.error) throw new UnauthenticatedError(`the identity provider refused the login: ${q.error}${q.error_description ? ` (${q.error_description})` : ''}`);
    if (!q.code) throw new UnauthenticatedError('the login response carries no authorization code');

    const tokens = await exchangeCode(deps, q.code, login);
    if (typeof tokens.id_token !== 'string') throw new IdpResponseError('the token endpoint answered without an id_token (is "openid" in sso.oidc.scopes?)');
    const claims = await deps.validator.validate(tokens.id_token, { audience: [config.client_id] });
    if (claims.nonce !== login.nonce) throw new UnauthenticatedError('the ID token nonce does not match this login (a replayed or mixed-up response)');
    const principal = principalFromClaims(claims, config.claims);
    // The refresh token is how the session is re-checked (session-refresh.ts); without one the
    // account cannot be asked about again, so the session lasts one re-check interval at most.
    const refresh = typeof tokens.refresh_token === 'string' && tokens.refresh_token !== '' ? tokens.refresh_token : undefined;
    const ttlMs = refresh ? config.session_ttl : Math.min(config.session_ttl, deps.revalidateMs ?? Infinity);
    const token = await deps.sessions.create(principal, ttlMs, refresh);
    deps.logger.info({ user: principal.name, method: 'oidc', refreshable: !!refresh }, 'browser login');
    return sendLoggedIn(request, reply, { token, ttlMs, user: principal.name, groups: principal.groups, project: principal.attributes.project, next: login.next });
  });
}

/** A token endpoint request with the hub's client credentials (basic auth when the issuer takes it). */
export function clientAuthenticated(config: OidcConfig, meta: IssuerMetadata, form: Record<string, string>): { form: Record<string, string>; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  const methods = meta.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  if (methods.includes('client_secret_basic')) {
    // RFC 6749 §2.3.1: id and secret are form-encoded before base64.
    const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
    headers.authorization = `Basic ${Buffer.from(`${enc(config.client_id)}:${enc(config.client_secret ?? '')}`).toString('base64')}`;
    return { form, headers };
  }
  return { form: { ...form, client_id: config.client_id, client_secret: config.client_secret ?? '' }, headers };
}

async function exchangeCode(deps: OidcLoginDeps, code: string, login: PendingLogin): Promise<Record<string, unknown>> {
  const { config, issuer } = deps;
  const meta = await issuer.ready();
  if (!config.client_secret) throw new IdpResponseError('sso.oidc.client_secret is not configured');
  const { form, headers } = clientAuthenticated(config, meta, { grant_type: 'authorization_code', code, redirect_uri: login.redirectUri, code_verifier: login.verifier });
  try {
    return (await issuerRequest(meta.token_endpoint!, { ...issuer.http, method: 'POST', form, headers })) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof IssuerHttpError && err.status !== undefined) {
      const body = (err.body ?? {}) as { error?: unknown; error_description?: unknown };
      if (err.status === 400 || err.status === 401) {
        throw new UnauthenticatedError(`the identity provider refused the authorization code: ${String(body.error ?? err.status)}${typeof body.error_description === 'string' ? ` (${body.error_description})` : ''}`);
      }
      throw new IdpResponseError(`the OIDC token endpoint failed: ${err.message}`);
    }
    throw new IdpUnavailableError(`the OIDC token endpoint is unreachable: ${(err as Error).message}`);
  }
}

export interface LoggedIn {
  token: string;
  ttlMs: number;
  user: string;
  groups: string[];
  project?: string;
  /** Where the page goes on (checked again here: a SAML RelayState comes back from the IdP). */
  next?: string;
  /** The dashboard's origin when the login ended on another listener (the smart-card one); default this one. */
  origin?: string;
}

/** Ends a browser login (OIDC or SAML): the session cookie, and JSON for tools or a small page for people. */
export function sendLoggedIn(request: FastifyRequest, reply: FastifyReply, s: LoggedIn): FastifyReply {
  void reply.header('set-cookie', sessionCookie(s.token, s.ttlMs)).header('cache-control', 'no-store');
  const expiresAt = new Date(Date.now() + s.ttlMs).toISOString();
  if ((request.headers.accept ?? '').includes('application/json')) {
    return reply.send({ user: s.user, groups: s.groups, ...(s.project ? { project: s.project } : {}), session_token: s.token, expires_at: expiresAt });
  }
  // A page, not a 302: the SameSite=Strict cookie is sent only on a navigation that starts on this site.
  const to = escapeHtml(`${s.origin ?? ''}${safeNextPath(s.next) ?? '/'}`);
  return reply
    .type('text/html; charset=utf-8')
    // On to the dashboard (no script: the dashboard's strict CSP allows none inline).
    .send(
      `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=${to}"><title>slurmfleet</title><p>Signed in to slurmfleet as <b>${escapeHtml(s.user)}</b> until ${expiresAt}. <a href="${to}">Open the dashboard</a></p>`,
    );
}
