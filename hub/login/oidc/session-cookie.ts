// A browser login ends in a session token in an HttpOnly, Secure, SameSite=Strict cookie (no
// script reads it; no other site's page sends it). The API gate reads it as if it were
// `Authorization: Bearer sfs_...` when no Authorization header is present.
export const SESSION_COOKIE = 'sfleet_session';

export function sessionCookie(token: string, ttlMs: number): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${Math.floor(ttlMs / 1000)}`;
}

/** `Bearer <token>` for a request carrying the session cookie, else undefined. */
export function bearerFromSessionCookie(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      // Only session tokens travel in this cookie; anything else is ignored, not trusted.
      return /^sfs_[A-Za-z0-9_-]+$/.test(value) ? `Bearer ${value}` : undefined;
    }
  }
  return undefined;
}
