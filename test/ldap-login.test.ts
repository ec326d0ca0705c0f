// LDAP logins through a real hub process against a real OpenLDAP (slapd): `sfleet login` as a
// directory user, groups and attributes on the session, MFA for a directory group with a TOTP
// enrolment, injection refused, and a directory outage answered 503 while the local
// break-glass user still gets in.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LDAP_PASSWORDS, LDAP_SUFFIX, LdapServer, SERVICE_DN } from './harness/ldap.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { registerSecret } from './harness/run-logs.js';

let pki: TestPki;
let ldap: LdapServer;
let hub: LoginHub;
let dir: string;
let cliEnv: NodeJS.ProcessEnv;
let aliceSecret: string;
const BREAKGLASS = 'break the glass 2026';
registerSecret(BREAKGLASS, 'password of breakglass (ldap-login)');

beforeAll(async () => {
  assertBuilt();
  [pki, ldap] = await Promise.all([makePki(), LdapServer.create('login')]);
  dir = mkdtempSync(join(tmpdir(), `ldap-login-${process.pid}-`));
  hub = new LoginHub(
    join(dir, 'hub'),
    pki,
    {
      auth: { mfa: { enabled: true, required_groups: ['hpc-admins'] }, rate_limit: { max_failures_per_user: 50, max_failures_per_ip: 100 } },
      sso: {
        ldap: {
          url: ldap.url,
          bind_dn: SERVICE_DN,
          bind_password_env: 'SFLEET_TEST_LDAP_BIND_PW',
          user_base_dn: `ou=people,${LDAP_SUFFIX}`,
          user_filter: '(objectClass=inetOrgPerson)',
          attributes: { project: 'departmentNumber' },
          timeout: '2s',
          connect_timeout: '1s',
        },
      },
    },
    { ...process.env, SFLEET_TEST_LDAP_BIND_PW: LDAP_PASSWORDS.service },
  );
  // alice's directory group needs MFA: her TOTP enrolment is a password-less local record.
  const add = await sfleet(['user', 'add', 'alice', '--no-password', '--totp', '--data-dir', hub.dataDir], process.env);
  expect(add).toMatch(/user alice added \(no password: TOTP only\) with TOTP/);
  aliceSecret = new URL(/otpauth:\/\/totp\/\S+/.exec(add)![0]).searchParams.get('secret')!;
  registerSecret(aliceSecret, 'TOTP secret of alice (ldap-login)');
  await sfleet(['user', 'add', 'breakglass', '--data-dir', hub.dataDir], { ...process.env, SFLEET_USER_PASSWORD: BREAKGLASS });
  await hub.start();
  cliEnv = { ...process.env, SFLEET_CONFIG: join(dir, 'contexts.yaml'), SFLEET_HUB: hub.httpUrl, SFLEET_CA: pki.ca };
  for (const k of ['SFLEET_TOKEN', 'SFLEET_CERT', 'SFLEET_KEY', 'SFLEET_CONTEXT']) delete cliEnv[k];
});

afterAll(async () => {
  await hub?.stop();
  await ldap?.stop();
});

describe('LDAP logins on a real hub', () => {
  it('bob logs in with sfleet login (provider ldap): directory groups on the session, which works as a bearer', async () => {
    const out = await sfleet(['login', '-u', 'bob', '--provider', 'ldap'], { ...cliEnv, SFLEET_PASSWORD: LDAP_PASSWORDS.bob });
    expect(out).toMatch(/^logged in as bob \(ldap\), groups hpc-users; session expires/m);
    expect(await sfleet(['clusters', '-o', 'json'], cliEnv)).toMatch(/\[\]/);
    const token = (parse(readFileSync(join(dir, 'contexts.yaml'), 'utf8')) as { contexts: { token: string }[] }).contexts[0].token;
    registerSecret(token, 'session token of bob (ldap-login)');
    expect(token).toMatch(/^sfs_/);
    // Sessions are stored by hash only, with the principal RBAC needs.
    const stored = readFileSync(join(hub.dataDir, 'sessions.json'), 'utf8');
    expect(stored).not.toContain(token);
    expect(stored).toContain('"groups":["hpc-users"]');
    expect(stored).toContain('"project":"proj-b"');
  });

  it('alice is in hpc-admins, so she needs her TOTP code; a replayed code is refused', async () => {
    const need = await hub.login({ username: 'alice', password: LDAP_PASSWORDS.alice });
    expect(need.status).toBe(401);
    expect(need.json()).toMatchObject({ code: 'SF_AUTH_MFA_REQUIRED' });
    const code = await generate({ secret: aliceSecret });
    registerSecret(code, 'TOTP code of alice (ldap-login)');
    const ok = await hub.login({ username: 'alice', password: LDAP_PASSWORDS.alice, totp: code });
    expect(ok.status).toBe(200);
    expect(ok.json()).toMatchObject({ user: 'alice', provider: 'ldap', groups: ['hpc-admins', 'hpc-users'], mfa: true });
    const replay = await hub.login({ username: 'alice', password: LDAP_PASSWORDS.alice, totp: code });
    expect(replay.status).toBe(401);
    expect(replay.json()).toMatchObject({ code: 'SF_AUTH_TOTP_REPLAYED' });
    // A wrong password never reaches the second factor.
    expect((await hub.login({ username: 'alice', password: 'wrong', totp: code })).json()).toMatchObject({ code: 'SF_AUTH_LOGIN_FAILED' });
  });

  it('LDAP injection in the user name is refused like any unknown user (401), control characters with 400; each is audited', async () => {
    for (const username of ['*', ')(uid=*', 'bob)(|(uid=*', 'b\\ob', '*)(objectClass=*']) {
      const r = await hub.login({ username, password: LDAP_PASSWORDS.bob });
      expect(r.status, username).toBe(401);
      expect(r.json(), username).toMatchObject({ code: 'SF_AUTH_LOGIN_FAILED', detail: 'login failed: unknown user or wrong password' });
    }
    const nul = await hub.login({ username: 'bob\u0000', password: LDAP_PASSWORDS.bob });
    expect(nul.status).toBe(400);
    expect(nul.json().detail).toMatch(/invalid user name/);
    expect(hub.auditRecords()).toContainEqual(
      expect.objectContaining({ action: 'auth:login', user: ')(uid=*', outcome: 'failed', status: 401, reason: 'login failed: unknown user or wrong password' }),
    );
    expect(hub.auditRecords()).toContainEqual(expect.objectContaining({ action: 'auth:login', user: 'bob\u0000', outcome: 'failed', status: 400 }));
    expect(hub.log()).not.toContain(LDAP_PASSWORDS.bob);
    expect(hub.log()).not.toContain(LDAP_PASSWORDS.service);
  });

  it('a directory outage is a 503 that says so, the hub keeps serving, and the local break-glass user still logs in', async () => {
    await ldap.stop(false);
    try {
      const r = await hub.login({ username: 'bob', password: LDAP_PASSWORDS.bob });
      expect(r.status).toBe(503);
      expect(r.json()).toMatchObject({ code: 'SF_AUTH_DIRECTORY_UNAVAILABLE', detail: expect.stringMatching(/LDAP directory ldap:\/\/127\.0\.0\.1:\d+ cannot be used now/) });
      const local = await hub.login({ username: 'breakglass', password: BREAKGLASS });
      expect(local.status).toBe(200);
      expect(local.json()).toMatchObject({ user: 'breakglass', provider: 'local' });
      expect((await hub.request('GET', '/healthz')).status).toBe(200);
    } finally {
      await ldap.start();
    }
    expect((await hub.login({ username: 'bob', password: LDAP_PASSWORDS.bob })).status).toBe(200);
  });
});
