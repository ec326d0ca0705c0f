import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../shared/config/index.js';
import { hubConfigSchema } from '../config/index.js';

const dir = join(import.meta.dirname, 'testdata');
const load = (name: string) => loadConfigFile(hubConfigSchema, join(dir, name), { env: {} });

describe('auth: and sso.ldap: config', () => {
  it('reads the documented shape with its defaults', () => {
    const c = load('auth-example.yaml');
    expect(c.auth).toEqual({
      mfa: { enabled: true, providers: [{ type: 'totp', issuer: 'sfleet', window: 1 }], required_roles: ['fleet-admin'], required_groups: [], required_for_local: false },
      local: { enabled: true },
      session: { ttl: 8 * 3_600_000, revalidate: 15 * 60_000, store: 'auto' },
      rate_limit: { max_failures_per_user: 10, max_failures_per_ip: 20, window: 900_000, lockout: 1_800_000, max_failures_per_source: 3, source_backoff: 60_000, trusted_sources: [] },
      password_hashing: { queue: 64 },
    });
    expect(c.sso?.ldap).toMatchObject({
      url: 'ldaps://dc.company.com',
      start_tls: false,
      user_attr: 'sAMAccountName',
      timeout: 5_000,
      groups: { lookup: 'member_of', member_of_attr: 'memberOf', name_attr: 'cn', member_attrs: ['member', 'uniqueMember'] },
      attributes: { project: 'department' },
    });
  });

  it('without auth: local logins on, MFA off, file sessions; without sso: no LDAP', () => {
    const c = hubConfigSchema.parse({ tls: { ca: 'a', cert: 'b', key: 'c' } });
    expect(c.auth.mfa.enabled).toBe(false);
    expect(c.auth.local.enabled).toBe(true);
    expect(c.auth.session).toEqual({ ttl: 12 * 3_600_000, revalidate: 15 * 60_000, store: 'auto' });
    expect(c.sso).toBeUndefined();
  });

  const cases: [string, string][] = [
    ['ldap-no-user-lookup.yaml', 'ldap-no-user-lookup.yaml:4: sso.ldap.user_dn_template: say how users are found: bind_dn + user_base_dn (search, then bind) or user_dn_template (direct bind)'],
    ['ldap-starttls-on-ldaps.yaml', 'ldap-starttls-on-ldaps.yaml:5: sso.ldap.start_tls: ldaps:// is TLS already: StartTLS is for ldap:// URLs'],
    ['ldap-bind-without-password.yaml', 'ldap-bind-without-password.yaml:5: sso.ldap.bind_dn: the service bind needs bind_password_file or bind_password_env'],
    ['ldap-bad-attribute.yaml', 'ldap-bad-attribute.yaml:6: sso.ldap.user_attr: an LDAP attribute name, e.g. uid or sAMAccountName'],
    ['ldap-group-search-without-base.yaml', 'ldap-group-search-without-base.yaml:6: sso.ldap.groups.base_dn: a group search needs groups.base_dn'],
    ['mfa-requirements-disabled.yaml', 'mfa-requirements-disabled.yaml:4: auth.mfa.enabled: MFA requirements are set but mfa.enabled is false: enable it or remove them'],
    ['auth-unknown-key.yaml', 'auth-unknown-key.yaml:3: auth.mfa.providers.0.type'],
    ['mfa-webauthn-twice.yaml', 'mfa-webauthn-twice.yaml:6: auth.mfa.providers: at most one provider of each kind: totp, and webauthn or hardware (the same factor)'],
    ['mfa-webauthn-origin-path.yaml', 'mfa-webauthn-origin-path.yaml:5: auth.mfa.providers.0.origins.0: an https origin without a path'],
  ];

  it('takes totp and webauthn providers side by side, with the webauthn defaults', () => {
    const c = hubConfigSchema.parse({
      tls: { ca: 'a', cert: 'b', key: 'c' },
      auth: { mfa: { enabled: true, providers: [{ type: 'webauthn', rp_id: 'fleet.example.com', origins: ['https://fleet.example.com:8443'] }, { type: 'totp' }] } },
    });
    expect(c.auth.mfa.providers).toEqual([
      { type: 'webauthn', rp_id: 'fleet.example.com', rp_name: 'sfleet', origins: ['https://fleet.example.com:8443'], challenge_ttl: 120_000 },
      { type: 'totp', issuer: 'sfleet', window: 1 },
    ]);
  });
  for (const [file, message] of cases) {
    it(`refuses ${file} with a message naming file, line and key`, () => {
      expect(() => load(file)).toThrow(message);
    });
  }
});
