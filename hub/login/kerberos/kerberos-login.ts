// POST /api/v1/auth/kerberos: `Authorization: Negotiate <token>` (what curl --negotiate and
// `sfleet login --kerberos` send) becomes a login session, as a password login does; the
// dashboard's GET /api/v1/auth/kerberos/login (browser-login.ts) ends the same way in its cookie. Without the header the answer is 401 with `WWW-Authenticate: Negotiate`, which is how a
// SPNEGO client learns to send one. Why a token was refused goes to the log; the caller and the
// audit record only hear that Kerberos authentication failed (no oracle for forged tokens).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UnauthenticatedError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { setAuditContext } from '../../audit/index.js';
import type { Principal } from '../../policy/index.js';
import { DirectoryUnavailableError } from '../errors.js';
import type { DirectoryUser } from '../ldap/ldap-directory.js';
import type { SessionStore } from '../sessions/index.js';
import { NegotiateAcceptor, type AuthenticatorReplay } from './acceptor.js';
import { registerBrowserLogin, type KerberosSession } from './browser-login.js';
import type { KerberosConfig } from './config.js';
import { KerberosTokenError } from '../../../shared/kerberos/errors.js';
import { readKeytab } from '../../../shared/kerberos/keytab.js';

export const KERBEROS_LOGIN_PATH = '/api/v1/auth/kerberos';

export interface KerberosDeps {
  sessions: SessionStore;
  logger: Logger;
  /** The LDAP directory (sso.ldap), for the user's account and groups. */
  directory?: { lookup(name: string): Promise<DirectoryUser | undefined>; readonly canLookUp: boolean };
  /** auth.session.revalidate: a directory-checked session lasts at most this long between checks. */
  revalidateMs?: number;
  /** A hub group: the replay cache in the shared security store (an authenticator used on one hub is refused on the others). */
  replay?: AuthenticatorReplay;
  now?: () => number;
}

export interface Kerberos {
  registerRoutes(app: FastifyInstance): void;
}

class RefusedLogin extends Error {}

export function startKerberos(config: KerberosConfig, deps: KerberosDeps): Kerberos {
  const logger = deps.logger.child({ component: 'kerberos' });
  const keytab = readKeytab(config.keytab_file); // a missing or unreadable keytab stops the start, with the file named
  const realms = new Set(config.realms.length ? config.realms : keytab.map((e) => e.realm));
  const acceptor = new NegotiateAcceptor({ keytab, services: config.service_principals, clockSkewMs: config.clock_skew, ...(deps.replay ? { replay: deps.replay } : {}), ...(deps.now ? { now: deps.now } : {}) });
  const directory = config.require_directory_account ? deps.directory : undefined;
  if (directory && !directory.canLookUp) throw new Error('sso.kerberos: the users\' groups come from sso.ldap, which needs a service account (bind_dn) to look them up; set one or require_directory_account: false');
  logger.info({ services: [...new Set(keytab.map((e) => `${e.principal}@${e.realm}`))], realms: [...realms] }, 'Kerberos logins accepted');

  async function principalFor(name: string, realm: string): Promise<Principal> {
    if (!realms.has(realm)) throw new RefusedLogin(`realm ${realm} is not one of sso.kerberos.realms (${[...realms].join(', ')})`);
    if (name.includes('/')) throw new RefusedLogin(`${name}@${realm} is a principal with an instance; only user principals (name@REALM) log in`);
    if (!directory) return { name, method: 'kerberos', role: 'user', groups: [], attributes: {} };
    let found: DirectoryUser | undefined;
    try {
      found = await directory.lookup(name);
    } catch (err) {
      throw new DirectoryUnavailableError(`the directory is unavailable for the Kerberos login of ${name}: ${(err as Error).message}`);
    }
    if (!found) throw new RefusedLogin(`${name}@${realm} has no account in the directory (sso.ldap)`);
    return { name: found.name, method: 'kerberos', role: 'user', groups: found.groups, attributes: found.attributes };
  }

  /**
   * One Authorization header to a session, audited as auth:login (a request without a Negotiate
   * header is the handshake's first leg, audited as auth:negotiate so it is not a failed login).
   */
  async function login(request: FastifyRequest, reply: FastifyReply): Promise<KerberosSession> {
    setAuditContext(request, { auth_method: 'kerberos', resource: 'session' });
    const header = request.headers.authorization;
    const refuse = (why: string, user?: string) => {
      logger.info({ reason: why, remote: request.ip, ...(user ? { user } : {}) }, 'Kerberos login refused');
      if (user) setAuditContext(request, { user });
      void reply.header('www-authenticate', 'Negotiate');
      return new UnauthenticatedError('Kerberos authentication failed');
    };
    if (!header || !/^Negotiate\s/i.test(header)) {
      setAuditContext(request, { action: 'auth:negotiate' });
      void reply.header('www-authenticate', 'Negotiate');
      throw new UnauthenticatedError('send a Kerberos ticket: Authorization: Negotiate <SPNEGO token> (curl --negotiate -u :, sfleet login --kerberos)');
    }
    let client;
    try {
      client = await acceptor.accept(header);
    } catch (err) {
      if (err instanceof KerberosTokenError) throw refuse(err.message);
      throw err;
    }
    const user = `${client.name}@${client.realm}`;
    let principal: Principal;
    try {
      principal = await principalFor(client.name, client.realm);
    } catch (err) {
      if (err instanceof RefusedLogin) throw refuse(err.message, user);
      throw err;
    }
    setAuditContext(request, { user: principal.name });
    const ttlMs = directory ? Math.min(config.session_ttl, deps.revalidateMs ?? Infinity) : config.session_ttl;
    const token = await deps.sessions.create(principal, ttlMs);
    if (client.reply) void reply.header('www-authenticate', client.reply);
    logger.info({ user: principal.name, principal: user, browser: request.method === 'GET' }, 'Kerberos login');
    return { token, ttlMs, principal };
  }

  return {
    registerRoutes(app) {
      app.post(
        KERBEROS_LOGIN_PATH,
        { config: { public: true, audit_action: 'auth:login' }, schema: { summary: 'Log in with a Kerberos ticket: Authorization: Negotiate (SPNEGO); returns a session token (sfs_...)' } },
        async (request, reply) => {
          const { token, ttlMs, principal } = await login(request, reply);
          return { token, expires_at: new Date((deps.now ?? Date.now)() + ttlMs).toISOString(), user: principal.name, provider: 'kerberos', groups: principal.groups, mfa: false };
        },
      );
      registerBrowserLogin(app, login);
    },
  };
}
