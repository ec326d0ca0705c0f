// Cross-site requests. A browser sends the session cookie with any request to the hub, also from
// another site's page, and SameSite=Strict does not help against a page on the same host at
// another port (same site, other origin). So a mutation authenticated by the session cookie
// needs both:
//   - an Origin header naming the hub itself (Origin equal to https://<Host>) or one of
//     `http.allowed_origins` (scheme, host and port); no Origin is refused;
//   - an X-CSRF-Token header equal to the session's CSRF token.
// The token is SHA-256 of the session token ("sfleet-csrf" domain-separated): bound to the
// session, the same on every hub of a group, and it does not reveal the session. The hub sets it
// in the `sfleet_csrf` cookie (readable by the dashboard's script: not HttpOnly; Secure,
// SameSite=Strict, Path=/) whenever it sets the session cookie, and clears it with it.
// Bearer-token and client-certificate callers are not affected (a browser never adds those).
import { createHash, timingSafeEqual } from 'node:crypto';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FleetError } from '../../../shared/errors/index.js';

export const SESSION_COOKIE = 'sfleet_session';
export const CSRF_COOKIE = 'sfleet_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A cookie-authenticated change without a good Origin or CSRF token. */
export class CrossSiteRequestError extends FleetError {
  constructor(message: string) {
    super('SF_API_CROSS_SITE', message, 403, GrpcStatus.PERMISSION_DENIED);
  }
}

/** The CSRF token of a session token. */
export function csrfToken(sessionToken: string): string {
  return createHash('sha256').update('sfleet-csrf\0').update(sessionToken).digest('base64url');
}

function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Throws CrossSiteRequestError when `request` is a mutation authenticated by the session cookie
 * (no Authorization header) without an allowed Origin and the session's X-CSRF-Token.
 */
export function checkCrossSite(request: FastifyRequest, allowedOrigins: ReadonlySet<string>): void {
  if (SAFE_METHODS.has(request.method)) return;
  if (request.headers.authorization) return;
  const session = cookieValue(request.headers.cookie, SESSION_COOKIE);
  if (!session) return;
  const origin = request.headers.origin;
  if (!origin) throw new CrossSiteRequestError('a change made with the session cookie needs an Origin header');
  const own = `https://${request.headers.host ?? ''}`.toLowerCase();
  if (origin.toLowerCase() !== own && !allowedOrigins.has(origin.toLowerCase())) {
    throw new CrossSiteRequestError(`origin ${origin.slice(0, 200)} may not make changes with the session cookie (http.allowed_origins)`);
  }
  const given = request.headers[CSRF_HEADER];
  if (typeof given !== 'string' || !sameString(given, csrfToken(session))) {
    throw new CrossSiteRequestError(`a change made with the session cookie needs the ${CSRF_COOKIE} cookie's value in X-CSRF-Token`);
  }
}

/** The sfleet_csrf cookie beside every session cookie the hub sets (or clears). */
export function registerCsrfCookie(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    const set = reply.getHeader('set-cookie');
    const cookies = Array.isArray(set) ? set.map(String) : set === undefined ? [] : [String(set)];
    const session = cookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    if (!session || cookies.some((c) => c.startsWith(`${CSRF_COOKIE}=`))) return payload;
    const value = session.slice(SESSION_COOKIE.length + 1).split(';', 1)[0];
    const maxAge = /;\s*Max-Age=(\d+)/i.exec(session)?.[1];
    const csrf = value ? csrfToken(value) : '';
    // Fastify appends to set-cookie: only the new cookie goes in (the session's is there already).
    reply.header('set-cookie', `${CSRF_COOKIE}=${csrf}; Path=/; Secure; SameSite=Strict${maxAge !== undefined ? `; Max-Age=${maxAge}` : ''}`);
    return payload;
  });
}
