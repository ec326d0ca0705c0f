// POST /api/v1/auth/login and /api/v1/auth/logout. Both are public to the policy gate: login
// is how a caller gets a credential, and logout checks the session it ends itself.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError, NotFoundError, UnauthenticatedError } from '../../shared/errors/index.js';
import type { Principal } from '../policy/index.js';
import { setAuditContext } from '../audit/index.js';
import { SESSION_PREFIX, type SessionStore } from './sessions/index.js';
import { TooManyAttemptsError } from './errors.js';
import { bearerFromSessionCookie, sessionCookie } from './oidc/session-cookie.js';
import type { LoginRequest, LoginService } from './login-service.js';

const loginBody = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 256 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
    totp: { type: 'string', maxLength: 16 },
    provider: { type: 'string', enum: ['local', 'ldap'] },
    /** The dashboard's login page: the session also as the sfleet_session cookie. */
    set_cookie: { type: 'boolean' },
  },
} as const;

const loginReply = {
  type: 'object',
  properties: {
    token: { type: 'string' },
    expires_at: { type: 'string' },
    user: { type: 'string' },
    provider: { type: 'string' },
    groups: { type: 'array', items: { type: 'string' } },
    mfa: { type: 'boolean' },
  },
} as const;

/**
 * `crossSite` throws when a request authenticated by the session cookie lacks an allowed Origin
 * and the session's X-CSRF-Token (hub/api/rest/cross-site.ts): a cookie logout is a change too.
 */
export function registerLoginRoutes(app: FastifyInstance, login: LoginService, sessions: SessionStore, crossSite: (request: FastifyRequest) => void = () => undefined): void {
  app.post(
    '/api/v1/auth/login',
    { config: { public: true, audit_action: 'auth:login' }, schema: { summary: 'Log in with a user name and password (and a TOTP code); returns a session token (sfs_...)', body: loginBody, response: { 200: loginReply } } },
    async (request, reply) => {
      const { set_cookie, ...body } = request.body as Omit<LoginRequest, 'remoteAddress'> & { set_cookie?: boolean };
      // The audit record names the claimed user, also when the login fails.
      setAuditContext(request, { user: body.username, auth_method: body.provider ?? null, resource: 'session' });
      try {
        const result = await login.login({ ...body, remoteAddress: request.ip });
        if (set_cookie) void reply.header('set-cookie', sessionCookie(result.token, Date.parse(result.expires_at) - Date.now()));
        return result;
      } catch (err) {
        if (err instanceof TooManyAttemptsError) void reply.header('retry-after', String(err.retryAfterSeconds));
        throw err;
      }
    },
  );

  app.post('/api/v1/auth/logout', { config: { public: true, audit_action: 'auth:logout' }, schema: { summary: 'End the login session presented as the bearer token or the dashboard\'s session cookie (with Origin and X-CSRF-Token)' } }, async (request, reply) => {
    // The dashboard logs out with its cookie: as any cookie change, only from an allowed origin with the session's CSRF token.
    const byCookie = !request.headers.authorization && bearerFromSessionCookie(request.headers.cookie);
    if (byCookie) crossSite(request);
    const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? (byCookie || ''));
    if (!m) throw new UnauthenticatedError('log out with the session: Authorization: Bearer sfs_... (or the dashboard\'s session cookie)');
    if (!m[1].startsWith(SESSION_PREFIX)) throw new BadRequestError('only login sessions (sfs_...) log out; revoke API tokens with sfleet token revoke');
    const principal = await sessions.get(m[1]);
    if (!principal) throw new UnauthenticatedError('session expired, revoked or unknown: nothing to log out');
    setAuditContext(request, { user: principal.name, auth_method: principal.method, resource: 'session' });
    await login.logout(m[1]);
    // The cookie goes with the session (its CSRF cookie is cleared beside it: cross-site.ts).
    if (byCookie) void reply.header('set-cookie', sessionCookie('', 0));
    return reply.code(204).send();
  });

  registerLoginAdminRoutes(app, login);
}

const userParams = { type: 'object', properties: { name: { type: 'string', minLength: 1, maxLength: 256 } } } as const;

/** An admin's unlock of a locked-out user, and MFA exemptions: each audited with the user it names. */
function registerLoginAdminRoutes(app: FastifyInstance, login: LoginService): void {
  const caller = (request: unknown): string => {
    const p = (request as { principal: Principal }).principal;
    return `${p.role}:${p.name}`;
  };
  app.post(
    '/api/v1/auth/users/:name/unlock',
    { config: { permission: 'logins:unlock' }, schema: { summary: 'End the login lockout of a user name (and forget its failed logins) on every hub of the group', params: userParams } },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      setAuditContext(request, { resource: `user:${name}` });
      await login.unlock(name);
      return reply.code(204).send();
    },
  );
  app.put(
    '/api/v1/auth/users/:name/mfa-exemption',
    {
      config: { permission: 'logins:exempt' },
      schema: {
        summary: 'Let a user with an enrolled second factor log in without it (exempt: true, with a reason), or end that (exempt: false)',
        params: userParams,
        body: { type: 'object', additionalProperties: false, required: ['exempt'], properties: { exempt: { type: 'boolean' }, reason: { type: 'string', minLength: 1, maxLength: 512 } } },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const body = request.body as { exempt: boolean; reason?: string };
      setAuditContext(request, { resource: `user:${name}` });
      if (body.exempt && !body.reason) throw new BadRequestError('an exemption needs a reason (it is kept with the user and audited)');
      if (!(await login.setMfaExempt(name, body.exempt ? { by: caller(request), reason: body.reason! } : undefined))) throw new NotFoundError(`no local user record "${name.slice(0, 64)}"`);
      return { user: name, mfa_exempt: body.exempt };
    },
  );
}
