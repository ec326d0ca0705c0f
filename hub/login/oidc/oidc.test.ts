import { describe, expect, it } from 'vitest';
import { PendingLogins } from './browser-login.js';
import { bearerFromSessionCookie } from './session-cookie.js';
import { looksLikeJwt, principalFromClaims } from './token-verifier.js';

const claims = { user: 'preferred_username', groups: 'groups', project: 'project' };

describe('oidc claim mapping', () => {
  it('maps user, groups and project, nested paths included', () => {
    expect(principalFromClaims({ preferred_username: 'alice', groups: ['a', 'b', 7], project: 'p1' }, claims)).toEqual({ name: 'alice', method: 'oidc', role: 'user', groups: ['a', 'b'], attributes: { project: 'p1' } });
    const keycloak = { user: 'email', groups: 'realm_access.roles', project: 'attrs.project' };
    expect(principalFromClaims({ email: 'bob@x', realm_access: { roles: ['hpc'] }, attrs: { project: 'p2' } }, keycloak)).toMatchObject({ name: 'bob@x', groups: ['hpc'], attributes: { project: 'p2' } });
    expect(principalFromClaims({ preferred_username: 'carol', groups: 'solo' }, claims)).toMatchObject({ groups: ['solo'], attributes: {} });
  });

  it('refuses a token without the user claim, naming the setting', () => {
    expect(() => principalFromClaims({ sub: 'x' }, claims)).toThrow('token has no "preferred_username" claim to name the user (sso.oidc.claims.user)');
  });

  it('claims JWT-shaped credentials only, leaving sft_/sfs_ tokens to their verifiers', () => {
    expect(looksLikeJwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')).toBe(true);
    expect(looksLikeJwt('sft_abc')).toBe(false);
    expect(looksLikeJwt('sfs_abc.def.ghi')).toBe(false);
    expect(looksLikeJwt('eyJ.a')).toBe(false);
  });
});

describe('pending browser logins', () => {
  it('gives each state back once, and not after ten minutes', () => {
    let now = 0;
    const pending = new PendingLogins(() => now);
    pending.addNow('s1', { verifier: 'v', nonce: 'n', redirectUri: 'https://h/cb' });
    pending.addNow('s2', { verifier: 'v', nonce: 'n', redirectUri: 'https://h/cb' });
    expect(pending.takeNow('s1')).toMatchObject({ nonce: 'n' });
    expect(pending.takeNow('s1')).toBeUndefined();
    now += 10 * 60_000 + 1;
    expect(pending.takeNow('s2')).toBeUndefined();
  });
});

describe('session cookie', () => {
  it('reads sfleet_session as a bearer session token and ignores anything else', () => {
    expect(bearerFromSessionCookie('a=b; sfleet_session=sfs_abc-_1')).toBe('Bearer sfs_abc-_1');
    expect(bearerFromSessionCookie('sfleet_session=sft_apitoken')).toBeUndefined();
    expect(bearerFromSessionCookie('sfleet_session=eyJhbGciOiJub25lIn0.e30.')).toBeUndefined();
    expect(bearerFromSessionCookie(undefined)).toBeUndefined();
  });
});
