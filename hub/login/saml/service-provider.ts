// The dashboard's SAML 2.0 login: this hub is the service provider. GET /api/v1/auth/saml/login
// sends the browser to the IdP (HTTP-Redirect binding); the IdP posts the response to
// POST /api/v1/auth/saml/acs (HTTP-POST binding). @node-saml/node-saml checks the XML signature
// (the assertion itself must be signed by the configured certificate), the audience, the time
// window and that a response answers a request this hub made; this file adds the one-time use of
// each assertion ID, the attribute mapping and the session.
import { readFileSync } from 'node:fs';
import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError, ConfigError, UnauthenticatedError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { SamlConfig } from './config.js';
import type { Principal } from '../../policy/index.js';
import { nextFromQuery, sendLoggedIn } from '../oidc/index.js';
import type { SessionStore } from '../sessions/index.js';
import { UsedAssertions, type ReplayCache } from './used-assertions.js';
import type { CacheProvider } from '@node-saml/node-saml';

export const SAML_LOGIN_PATH = '/api/v1/auth/saml/login';
export const SAML_ACS_PATH = '/api/v1/auth/saml/acs';

export interface Saml {
  registerRoutes(app: FastifyInstance): void;
}

export interface SamlDeps {
  logger: Logger;
  sessions: SessionStore;
  /** In a hub group: used assertion IDs and issued request IDs in the security store, so a login may finish on another hub. */
  shared?: { used: ReplayCache; requests: CacheProvider };
  /**
   * auth.session.revalidate. SAML has no back channel to ask the IdP about the account again,
   * so a session lasts at most this long; then the user logs in again (the IdP's own session
   * usually makes that one click).
   */
  revalidateMs?: number;
}

export function startSaml(config: SamlConfig, deps: SamlDeps): Saml {
  let idpCert: string;
  try {
    idpCert = readFileSync(config.certificate, 'utf8');
  } catch (err) {
    throw new ConfigError(`sso.saml.certificate: cannot read ${config.certificate}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!idpCert.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`sso.saml.certificate: ${config.certificate} holds no PEM certificate`);
  const logger = deps.logger.child({ component: 'saml' });
  const used: ReplayCache = deps.shared?.used ?? new UsedAssertions();
  // One SP per ACS URL (it is derived from the Host when not configured); requests they issued are shared.
  const sps = new Map<string, SAML>();
  let cacheProvider: SAML['cacheProvider'] | undefined = deps.shared?.requests;
  const sp = (acsUrl: string): SAML => {
    let saml = sps.get(acsUrl);
    if (!saml) {
      saml = new SAML({
        entryPoint: config.idp_url,
        issuer: config.entity_id,
        audience: config.entity_id,
        callbackUrl: acsUrl,
        idpCert,
        wantAssertionsSigned: true,
        wantAuthnResponseSigned: false,
        acceptedClockSkewMs: config.clock_skew,
        // SP-initiated responses must answer a request of this hub (once); IdP-initiated ones carry none.
        validateInResponseTo: ValidateInResponseTo.ifPresent,
        requestIdExpirationPeriodMs: 10 * 60_000,
        ...(cacheProvider ? { cacheProvider } : {}),
      });
      cacheProvider ??= saml.cacheProvider;
      if (sps.size < 16) sps.set(acsUrl, saml);
    }
    return saml;
  };

  const acsUrl = (request: FastifyRequest): string => {
    if (config.acs_url) return config.acs_url;
    const host = request.headers.host ?? '';
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(host)) throw new BadRequestError('cannot build the ACS URL from this Host header: set sso.saml.acs_url');
    return `https://${host}${SAML_ACS_PATH}`;
  };

  const toPrincipal = (profile: Profile): Principal => {
    const attrs = (profile.attributes ?? {}) as Record<string, unknown>;
    const user = config.attributes.user ? attrs[config.attributes.user] : profile.nameID;
    if (typeof user !== 'string' || user === '') throw new UnauthenticatedError(`the SAML assertion names no user (${config.attributes.user ? `attribute "${config.attributes.user}"` : 'NameID'})`);
    const rawGroups = attrs[config.attributes.groups];
    const groups = (Array.isArray(rawGroups) ? rawGroups : rawGroups === undefined ? [] : [rawGroups]).filter((g): g is string => typeof g === 'string' && g !== '');
    const project = attrs[config.attributes.project];
    return { name: user, method: 'saml', role: 'user', groups, attributes: typeof project === 'string' && project ? { project } : {} };
  };

  return {
    registerRoutes(app) {
      const loginQuery = { type: 'object', properties: { next: { type: 'string', maxLength: 1024, description: 'A path of this hub to land on once logged in' } }, additionalProperties: false } as const;
      app.get(SAML_LOGIN_PATH, { config: { public: true }, schema: { summary: 'Browser login: redirect to the SAML identity provider', querystring: loginQuery } }, async (request, reply) => {
        // The IdP returns RelayState with its response (SAML bindings 3.4.3): there it is checked again.
        const next = nextFromQuery((request.query as { next?: string }).next) ?? '';
        const url = await sp(acsUrl(request)).getAuthorizeUrlAsync(next, request.headers.host, {});
        return reply.header('cache-control', 'no-store').redirect(url, 302);
      });

      // The IdP's HTML form posts here; only this encapsulation context parses urlencoded bodies.
      void app.register(async (context) => {
        context.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 512 * 1024 }, (_req, body, done) => {
          done(null, Object.fromEntries(new URLSearchParams(body as string)));
        });
        const body = { type: 'object', required: ['SAMLResponse'], properties: { SAMLResponse: { type: 'string', maxLength: 512 * 1024 }, RelayState: { type: 'string', maxLength: 1024 } }, additionalProperties: false } as const;
        context.post(SAML_ACS_PATH, { config: { public: true }, schema: { summary: 'Browser login: the SAML identity provider posts its response here', body } }, async (request, reply) => {
          const { SAMLResponse, RelayState } = request.body as { SAMLResponse: string; RelayState?: string };
          let profile: Profile | null;
          try {
            ({ profile } = await sp(acsUrl(request)).validatePostResponseAsync({ SAMLResponse }));
          } catch (err) {
            throw new UnauthenticatedError(`SAML response refused: ${(err as Error).message}`);
          }
          if (!profile) throw new UnauthenticatedError('SAML response refused: it is a logout, not a login');
          // node-saml checks idpIssuer on logout messages only; a login's assertion is checked here.
          if (config.idp_issuer && profile.issuer !== config.idp_issuer) {
            throw new UnauthenticatedError(`SAML response refused: the assertion's issuer "${String(profile.issuer)}" is not the configured IdP "${config.idp_issuer}"`);
          }
          const assertion = (profile.getAssertion?.() ?? {}) as { Assertion?: { $?: { ID?: string }; Conditions?: { $?: { NotOnOrAfter?: string } }[] } };
          const id = assertion.Assertion?.$?.ID;
          if (!id) throw new UnauthenticatedError('SAML response refused: the assertion has no ID');
          const notOnOrAfter = Date.parse(assertion.Assertion?.Conditions?.[0]?.$?.NotOnOrAfter ?? '');
          if (!(await used.claim(id, (Number.isFinite(notOnOrAfter) ? notOnOrAfter : Date.now() + 10 * 60_000) + config.clock_skew))) {
            throw new UnauthenticatedError(`SAML response refused: assertion ${id} was already used (a replay)`);
          }
          const principal = toPrincipal(profile);
          const ttlMs = Math.min(config.session_ttl, deps.revalidateMs ?? Infinity);
          const token = await deps.sessions.create(principal, ttlMs);
          logger.info({ user: principal.name, method: 'saml' }, 'browser login');
          // An IdP-initiated login's RelayState may be anything: sendLoggedIn lands on it only if it is a path of this hub.
          return sendLoggedIn(request, reply, { token, ttlMs, user: principal.name, groups: principal.groups, project: principal.attributes.project, next: RelayState });
        });
      });
    },
  };
}
