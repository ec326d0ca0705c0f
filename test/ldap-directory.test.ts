// LdapDirectory against a real OpenLDAP (slapd, started by test/harness/ldap.ts): both ways to
// find users, both ways to find groups, AD-style names, injection, TLS and outage failures.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ldapConfigSchema, LdapDirectory } from '../hub/login/index.js';
import { testLogger } from './harness/run-logs.js';
import { LDAP_PASSWORDS, LDAP_SUFFIX, LdapServer, SERVICE_DN } from './harness/ldap.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';

let ldap: LdapServer;
let pki: TestPki;
let otherCa: TestPki;
let pwFile: string;

beforeAll(async () => {
  [pki, otherCa] = await Promise.all([makePki(), makePki()]);
  // A hub certificate names 127.0.0.1: good enough for the directory's server certificate.
  ldap = await LdapServer.create('directory', { cert: pki.hub.cert, key: pki.hub.key });
  pwFile = join(mkdtempSync(join(tmpdir(), 'ldap-pw-')), 'bind-password');
  writeFileSync(pwFile, `${LDAP_PASSWORDS.service}\n`, { mode: 0o600 });
});

afterAll(async () => {
  await ldap?.stop();
});

function directory(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): LdapDirectory {
  const config = ldapConfigSchema.parse({
    url: ldap.url,
    bind_dn: SERVICE_DN,
    bind_password_file: pwFile,
    user_base_dn: `ou=people,${LDAP_SUFFIX}`,
    user_filter: '(objectClass=inetOrgPerson)',
    attributes: { project: 'departmentNumber', email: 'mail' },
    timeout: '2s',
    connect_timeout: '1s',
    ...overrides,
  });
  return new LdapDirectory(config, testLogger('ldap-directory'), env);
}

describe('LDAP logins against slapd', () => {
  it('search-then-bind: finds alice with the service account, binds as her, reads memberOf groups and attributes', async () => {
    const alice = await directory().authenticate('alice', LDAP_PASSWORDS.alice);
    expect(alice).toEqual({
      name: 'alice',
      dn: `uid=alice,ou=people,${LDAP_SUFFIX}`,
      groups: ['hpc-admins', 'hpc-users'],
      attributes: { project: 'proj-a', email: 'alice@sfleet.test' },
    });
  });

  it('refuses a wrong password, an unknown user and an empty password alike', async () => {
    const d = directory();
    for (const [user, pw] of [['alice', 'wrong'], ['mallory', 'x'], ['alice', '']]) {
      await expect(d.authenticate(user, pw)).rejects.toMatchObject({ code: 'SF_AUTH_LOGIN_FAILED', httpStatus: 401, message: 'login failed: unknown user or wrong password' });
    }
  });

  it('LDAP injection in the user name matches nobody: *, )(uid=*, backslash, NUL', async () => {
    const d = directory();
    for (const name of ['*', 'a*', ')(uid=*', '*)(|(uid=*', 'alice)(|(uid=*', 'al\\ice', 'alice\u0000', 'alice\u0000*']) {
      // The right password of a real user is no help: the name is never a filter.
      await expect(d.authenticate(name, LDAP_PASSWORDS.alice), name).rejects.toMatchObject({ code: 'SF_AUTH_LOGIN_FAILED' });
    }
    // Direct bind: the name is DN-escaped, so it cannot become another DN.
    const direct = directory({ bind_dn: undefined, bind_password_file: undefined, user_base_dn: undefined, user_dn_template: `uid={username},ou=people,${LDAP_SUFFIX}` });
    for (const name of ['alice,ou=people', `bob,ou=people,${LDAP_SUFFIX}`, '*', 'alice+cn=x']) {
      await expect(direct.authenticate(name, LDAP_PASSWORDS.alice), name).rejects.toMatchObject({ code: 'SF_AUTH_LOGIN_FAILED' });
    }
  });

  it('direct bind with a DN template (RFC 4514 escaping: a uid with a comma logs in), groups from memberOf of the own entry', async () => {
    const direct = directory({ bind_dn: undefined, bind_password_file: undefined, user_base_dn: undefined, user_dn_template: `uid={username},ou=people,${LDAP_SUFFIX}` });
    expect((await direct.authenticate('bob', LDAP_PASSWORDS.bob)).groups).toEqual(['hpc-users']);
    const comma = await direct.authenticate('comma,user', LDAP_PASSWORDS.comma);
    expect(comma.name).toBe('comma,user');
    await expect(direct.authenticate('bob', 'wrong')).rejects.toMatchObject({ code: 'SF_AUTH_LOGIN_FAILED' });
  });

  it('group search by member and uniqueMember with the service bind finds groups memberOf does not show', async () => {
    const d = directory({ groups: { lookup: 'search', base_dn: `ou=groups,${LDAP_SUFFIX}` } });
    expect((await d.authenticate('bob', LDAP_PASSWORDS.bob)).groups).toEqual(['hpc-users', 'legacy-ops']);
    // Direct bind without a service account: bob may not read the groups, so the search finds none.
    const own = directory({ bind_dn: undefined, bind_password_file: undefined, user_base_dn: undefined, user_dn_template: `uid={username},ou=people,${LDAP_SUFFIX}`, groups: { lookup: 'search', base_dn: `ou=groups,${LDAP_SUFFIX}` } });
    expect((await own.authenticate('bob', LDAP_PASSWORDS.bob)).groups).toEqual([]);
  });

  it('Active Directory style: user_attr sAMAccountName finds an entry without uid, memberOf gives its groups', async () => {
    const ad = directory({ user_attr: 'sAMAccountName', user_filter: '(objectClass=sfleetAdUser)' });
    const dave = await ad.authenticate('dave', LDAP_PASSWORDS.dave);
    expect(dave).toMatchObject({ name: 'dave', dn: `cn=Dave AD,ou=people,${LDAP_SUFFIX}`, groups: ['hpc-users'] });
    await expect(ad.authenticate('bob', LDAP_PASSWORDS.bob)).rejects.toMatchObject({ code: 'SF_AUTH_LOGIN_FAILED' });
  });

  it('service password from the environment; a wrong or missing one is a 503 for the operator, not a user error', async () => {
    const fromEnv = directory({ bind_password_file: undefined, bind_password_env: 'SVC_PW' }, { SVC_PW: LDAP_PASSWORDS.service });
    expect((await fromEnv.authenticate('alice', LDAP_PASSWORDS.alice)).name).toBe('alice');
    const wrong = directory({ bind_password_file: undefined, bind_password_env: 'SVC_PW' }, { SVC_PW: 'nope' });
    await expect(wrong.authenticate('alice', LDAP_PASSWORDS.alice)).rejects.toMatchObject({ code: 'SF_AUTH_DIRECTORY_UNAVAILABLE', httpStatus: 503, message: expect.stringMatching(/service bind refused/) });
    const missing = directory({ bind_password_file: undefined, bind_password_env: 'SVC_PW' }, {});
    await expect(missing.authenticate('alice', LDAP_PASSWORDS.alice)).rejects.toMatchObject({ httpStatus: 503, message: expect.stringMatching(/SVC_PW is not set/) });
  });

  it('TLS: ldaps:// and StartTLS with the directory CA log in; a certificate of another CA is a 503, never a plain-text fallback', async () => {
    const ldaps = directory({ url: ldap.tlsUrl, ca_file: pki.ca });
    expect((await ldaps.authenticate('alice', LDAP_PASSWORDS.alice)).groups).toEqual(['hpc-admins', 'hpc-users']);
    const startTls = directory({ start_tls: true, ca_file: pki.ca });
    expect((await startTls.authenticate('bob', LDAP_PASSWORDS.bob)).name).toBe('bob');
    for (const d of [directory({ url: ldap.tlsUrl, ca_file: otherCa.ca }), directory({ start_tls: true, ca_file: otherCa.ca })]) {
      await expect(d.authenticate('alice', LDAP_PASSWORDS.alice)).rejects.toMatchObject({ code: 'SF_AUTH_DIRECTORY_UNAVAILABLE', httpStatus: 503, message: expect.stringMatching(/certificate|self.signed|verify/i) });
    }
  });

  it('an unreachable server and a server that does not answer in time are 503 errors that name the directory', async () => {
    const down = directory({ url: `ldap://127.0.0.1:${await freePort()}` });
    await expect(down.authenticate('alice', LDAP_PASSWORDS.alice)).rejects.toMatchObject({ code: 'SF_AUTH_DIRECTORY_UNAVAILABLE', httpStatus: 503, message: expect.stringMatching(/cannot be used now/) });
    // A listener that accepts and never answers (a hung directory): the timeout ends the wait.
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const hung = directory({ url: `ldap://127.0.0.1:${(silent.address() as { port: number }).port}`, timeout: '500ms', connect_timeout: '500ms' });
      await expect(hung.authenticate('alice', LDAP_PASSWORDS.alice)).rejects.toMatchObject({ code: 'SF_AUTH_DIRECTORY_UNAVAILABLE', httpStatus: 503 });
    } finally {
      silent.close();
    }
  });
});
