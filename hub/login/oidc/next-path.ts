// Where a browser login lands afterwards (`next`): the dashboard sends the user to
// /login?next=<the URL it was on>, and the SSO logins carry it through the identity provider
// (OIDC in the pending login, SAML as RelayState). Only a path of this hub is accepted, so a
// crafted link cannot turn the login into a redirect to another site (an open redirect).
import { BadRequestError } from '../../../shared/errors/index.js';

const MAX_NEXT = 2048;
const PROBE_ORIGIN = 'https://next.invalid';

/** The path if `next` is a relative path of this origin (path, query, fragment); else undefined. */
export function safeNextPath(next: string | undefined): string | undefined {
  if (typeof next !== 'string' || next.length === 0 || next.length > MAX_NEXT) return undefined;
  // "//host" and "/\host" are other hosts to a browser; controls and spaces have no place in a path.
  if (!next.startsWith('/') || next[1] === '/' || next.includes('\\') || hasControlOrSpace(next)) return undefined;
  let url: URL;
  try {
    url = new URL(next, PROBE_ORIGIN);
  } catch {
    return undefined;
  }
  return url.origin === PROBE_ORIGIN ? next : undefined;
}

function hasControlOrSpace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** As safeNextPath, for a query parameter: absent is fine, anything else must be a path of this hub. */
export function nextFromQuery(next: string | undefined): string | undefined {
  if (next === undefined || next === '') return undefined;
  const path = safeNextPath(next);
  if (!path) throw new BadRequestError('next must be a path of this hub (such as /jobs?state=PENDING): other sites are never redirected to');
  return path;
}
