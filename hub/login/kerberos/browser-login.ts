// The dashboard's Kerberos sign-in: GET /api/v1/auth/kerberos/login?next=PATH. A browser whose
// site policy allows SPNEGO for this host (Chromium AuthServerAllowlist, Firefox
// network.negotiate-auth.trusted-uris) answers the 401 `WWW-Authenticate: Negotiate` with its
// ticket by itself; the login then ends like the other browser logins (sendLoggedIn: the
// session cookie with its CSRF cookie, a page on to `next`). A browser that sends no ticket, or
// one the hub refuses, gets a page saying so with a way back to the other sign-in methods, not
// a bare 401. Tools asking for JSON get the problem documents of POST /api/v1/auth/kerberos.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UnauthenticatedError } from '../../../shared/errors/index.js';
import type { Principal } from '../../policy/index.js';
import { nextFromQuery, sendLoggedIn } from '../oidc/index.js';

export const KERBEROS_BROWSER_LOGIN_PATH = '/api/v1/auth/kerberos/login';

export interface KerberosSession {
  token: string;
  ttlMs: number;
  principal: Principal;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const PAGES = {
  'no-ticket': {
    title: 'No Kerberos ticket',
    text: 'Your browser sent no Kerberos ticket for this hub. Get one with <code>kinit</code> (or log in to your domain), and make sure your browser may use it for this site (Chromium: the AuthServerAllowlist policy; Firefox: network.negotiate-auth.trusted-uris).',
  },
  refused: {
    title: 'Kerberos sign-in failed',
    text: 'This hub could not accept your browser\'s Kerberos ticket (the hub\'s log says why). Ask your administrator, or use another sign-in method.',
  },
} as const;

/** The page a person sees instead of a bare 401: what went wrong, try again, the other methods. */
function refusedPage(reply: FastifyReply, kind: keyof typeof PAGES, next: string | undefined): FastifyReply {
  const q = next ? `?next=${encodeURIComponent(next)}` : '';
  const page = PAGES[kind];
  return reply
    .code(401)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
    .send(
      `<!doctype html><html lang="en"><meta charset="utf-8"><title>slurmfleet: ${page.title}</title>` +
        `<main><h1 data-kerberos="${kind}">${page.title}</h1><p>${page.text}</p>` +
        `<p><a href="${escapeHtml(KERBEROS_BROWSER_LOGIN_PATH + q)}">Try Kerberos again</a> · <a id="other-methods" href="${escapeHtml('/login' + q)}">Other sign-in methods</a></p></main></html>`,
    );
}

export function registerBrowserLogin(app: FastifyInstance, login: (request: FastifyRequest, reply: FastifyReply) => Promise<KerberosSession>): void {
  const query = { type: 'object', properties: { next: { type: 'string', maxLength: 2048, description: 'A path of this hub to land on once signed in' } }, additionalProperties: false } as const;
  app.get(
    KERBEROS_BROWSER_LOGIN_PATH,
    { config: { public: true, audit_action: 'auth:login' }, schema: { summary: 'Browser sign-in with Kerberos (SPNEGO): 401 WWW-Authenticate: Negotiate until the browser sends its ticket; then the session cookie and on to next', querystring: query } },
    async (request, reply) => {
      const next = nextFromQuery((request.query as { next?: string }).next);
      const sentTicket = /^Negotiate\s/i.test(request.headers.authorization ?? '');
      let session: KerberosSession;
      try {
        session = await login(request, reply);
      } catch (err) {
        const page = !(request.headers.accept ?? '').includes('application/json');
        if (err instanceof UnauthenticatedError && page) return refusedPage(reply, sentTicket ? 'refused' : 'no-ticket', next);
        throw err;
      }
      const { token, ttlMs, principal } = session;
      return sendLoggedIn(request, reply, { token, ttlMs, user: principal.name, groups: principal.groups, ...(principal.attributes.project ? { project: principal.attributes.project } : {}), ...(next ? { next } : {}) });
    },
  );
}
