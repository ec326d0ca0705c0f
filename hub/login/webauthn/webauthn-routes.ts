// The WebAuthn routes and the dashboard's login page (web/ at the repository root):
//   POST /api/v1/auth/login/webauthn                 public: the signed challenge of a login -> session
//   POST /api/v1/auth/webauthn/registration/options  auth:self: options for navigator.credentials.create()
//   POST /api/v1/auth/webauthn/registration          auth:self: the new authenticator's attestation
//   GET  /login, /login.js                           public: the page and its script
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError, NotFoundError } from '../../../shared/errors/index.js';
import { setAuditContext } from '../../audit/index.js';
import type { Principal } from '../../policy/index.js';
import type { LoginService } from '../login-service.js';
import { sessionCookie } from '../oidc/session-cookie.js';
import { dashboardFiles } from './dashboard-files.js';
import type { WebauthnFactor } from './webauthn-factor.js';

const credentialJson = { type: 'object', required: ['id', 'rawId', 'type', 'response'], properties: { id: { type: 'string', maxLength: 1024 } } } as const;

const PAGES: Record<string, { file: string; type: string }> = {
  '/login': { file: 'login.html', type: 'text/html; charset=utf-8' },
  '/login.js': { file: 'login.js', type: 'text/javascript; charset=utf-8' },
};

/** The browser logins through an identity provider the login page offers, as their login routes name them. */
export type SsoLogin = 'oidc' | 'saml' | 'smart-card' | 'kerberos';

/** The page with the SSO logins this hub offers, for login.js to show their buttons (the page is static otherwise). */
function withSso(html: Buffer, sso: readonly SsoLogin[]): Buffer {
  if (sso.length === 0) return html;
  return Buffer.from(html.toString('utf8').replace('</head>', `  <meta name="sfleet-sso" content="${sso.join(' ')}">\n</head>`));
}

export function registerDashboardLogin(app: FastifyInstance, login: LoginService, webauthn: WebauthnFactor | undefined, sso: readonly SsoLogin[] = []): void {
  const web = dashboardFiles();
  for (const [url, page] of Object.entries(PAGES)) {
    app.get(url, { config: { public: true }, schema: { summary: 'The dashboard login page' } }, async (_request, reply) => {
      if (!web) throw new NotFoundError('the dashboard files (web/) are not installed beside this hub');
      const body = page.file === 'login.html' ? withSso(web(page.file), sso) : web(page.file);
      return reply
        .type(page.type)
        .header('cache-control', 'no-store')
        .header('content-security-policy', "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
        .send(body);
    });
  }

  app.post(
    '/api/v1/auth/login/webauthn',
    {
      config: { public: true, audit_action: 'auth:login' },
      schema: {
        summary: 'Second step of a password login answered with mfa "webauthn": the signed challenge; returns a session (and sets the sfleet_session cookie when set_cookie)',
        body: { type: 'object', additionalProperties: false, required: ['login_id', 'credential'], properties: { login_id: { type: 'string', maxLength: 64 }, credential: credentialJson, set_cookie: { type: 'boolean' } } },
      },
    },
    async (request, reply) => {
      const body = request.body as { login_id: string; credential: AuthenticationResponseJSON; set_cookie?: boolean };
      setAuditContext(request, { auth_method: 'webauthn', resource: 'session' });
      const result = await login.finishWebauthn(body.login_id, body.credential, request.ip);
      setAuditContext(request, { user: result.user });
      if (body.set_cookie) void reply.header('set-cookie', sessionCookie(result.token, Date.parse(result.expires_at) - Date.now()));
      return result;
    },
  );

  const factor = (): WebauthnFactor => {
    if (!webauthn) throw new BadRequestError('WebAuthn is not enabled on this hub: auth.mfa.providers lists no webauthn provider');
    return webauthn;
  };
  const principalOf = (request: FastifyRequest): Principal => (request as FastifyRequest & { principal: Principal }).principal;

  app.post(
    '/api/v1/auth/webauthn/registration/options',
    {
      config: { permission: 'auth:self' },
      schema: { summary: 'Start registering a security key for the logged-in user: options for navigator.credentials.create()', body: { type: 'object', additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: 64 } } } },
    },
    async (request) => factor().startRegistration(principalOf(request), (request.body as { name?: string } | undefined)?.name),
  );

  app.post(
    '/api/v1/auth/webauthn/registration',
    {
      config: { permission: 'auth:self', audit_action: 'auth:webauthn-register' },
      schema: {
        summary: "Finish registering a security key: the browser's attestation for registration_id",
        body: { type: 'object', additionalProperties: false, required: ['registration_id', 'credential'], properties: { registration_id: { type: 'string', maxLength: 64 }, credential: credentialJson } },
      },
    },
    async (request, reply) => {
      const body = request.body as { registration_id: string; credential: RegistrationResponseJSON };
      return reply.code(201).send(await factor().finishRegistration(principalOf(request), body.registration_id, body.credential));
    },
  );
}
