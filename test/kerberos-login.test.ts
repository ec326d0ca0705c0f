// Kerberos logins through a real hub process against a real MIT KDC (krb5-kdc, started by
// test/harness/kdc.ts) and a real OpenLDAP for the users' groups: curl --negotiate (MIT's own
// GSS-API client) and `sfleet login --kerberos` (the hub's own client) both get a session; a
// replayed token, a user without a directory account, a ticket for another service and a
// ticket made with a key the hub no longer has are refused, each audited, none leaking why.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kdc, KDC_REALM } from './harness/kdc.js';
import { LDAP_PASSWORDS, LDAP_SUFFIX, LdapServer, SERVICE_DN } from './harness/ldap.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { registerSecret } from './harness/run-logs.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';

let pki: TestPki;
let kdc: Kdc;
let ldap: LdapServer;
let hub: LoginHub;
let dir: string;
let cliEnv: NodeJS.ProcessEnv;
const PASSWORDS = { alice: 'alice-krb-pw', bob: 'bob-krb-pw', carol: 'carol-krb-pw' };
for (const [user, pw] of Object.entries(PASSWORDS)) registerSecret(pw, `Kerberos password of ${user} (kerberos-login)`);

function curlNegotiate(ccache: string, url: string): Promise<{ status: number; body: string; headers: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      ['-s', '-D', '-', '--negotiate', '-u', ':', '--cacert', pki.ca, '-X', 'POST', url],
      { env: { ...process.env, ...kdc.env, KRB5CCNAME: ccache }, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`curl failed: ${stderr || err.message}`));
        // curl prints the 401 challenge and the final answer: the last head is the one that counts.
        const parts = stdout.split('\r\n\r\n');
        const heads = parts.filter((p) => /^HTTP\//.test(p));
        resolve({ status: Number(/^HTTP\/\S+ (\d+)/.exec(heads[heads.length - 1] ?? '')?.[1] ?? 0), headers: heads[heads.length - 1] ?? '', body: parts[parts.length - 1] ?? '' });
      },
    );
  });
}

beforeAll(async () => {
  assertBuilt();
  [pki, kdc, ldap] = await Promise.all([makePki(), Kdc.create('login'), LdapServer.create('kerberos')]);
  dir = mkdtempSync(join(tmpdir(), `kerberos-login-${process.pid}-`));
  for (const [user, pw] of Object.entries(PASSWORDS)) await kdc.addUser(user, pw);
  const keytab = join(kdc.dir, 'hub.keytab');
  await kdc.addService('HTTP/127.0.0.1', keytab);
  await kdc.addService('HTTP/other.example', join(kdc.dir, 'other.keytab'));
  hub = new LoginHub(
    join(dir, 'hub'),
    pki,
    {
      sso: {
        kerberos: { keytab_file: keytab, clock_skew: '2m' },
        ldap: {
          url: ldap.url,
          bind_dn: SERVICE_DN,
          bind_password_env: 'SFLEET_TEST_LDAP_BIND_PW',
          user_base_dn: `ou=people,${LDAP_SUFFIX}`,
          user_filter: '(objectClass=inetOrgPerson)',
          timeout: '2s',
          connect_timeout: '1s',
        },
      },
    },
    { ...process.env, SFLEET_TEST_LDAP_BIND_PW: LDAP_PASSWORDS.service },
  );
  await hub.start();
  cliEnv = { ...process.env, ...kdc.env, SFLEET_CONFIG: join(dir, 'contexts.yaml'), SFLEET_HUB: hub.httpUrl, SFLEET_CA: pki.ca };
  for (const k of ['SFLEET_TOKEN', 'SFLEET_CERT', 'SFLEET_KEY', 'SFLEET_CONTEXT']) delete cliEnv[k];
}, 300_000);

afterAll(async () => {
  await hub?.stop();
  await ldap?.stop();
  await kdc?.stop();
});

describe('Kerberos (SPNEGO) logins on a real hub', () => {
  it('without a ticket the hub asks for one: 401 with WWW-Authenticate: Negotiate', async () => {
    const a = await hub.request('POST', '/api/v1/auth/kerberos');
    expect(a.status).toBe(401);
    expect(a.headers['www-authenticate']).toBe('Negotiate');
    expect(a.json()).toMatchObject({ code: 'SF_AUTH_UNAUTHENTICATED', detail: expect.stringMatching(/Authorization: Negotiate/) });
  });

  it("curl --negotiate (MIT's GSS-API) logs alice in: her directory groups on the session, which works as a bearer", async () => {
    const ccache = await kdc.kinit('alice', PASSWORDS.alice);
    const answer = await curlNegotiate(ccache, `${hub.httpUrl}/api/v1/auth/kerberos`);
    expect(answer.status).toBe(200);
    const session = JSON.parse(answer.body) as { token: string; user: string; provider: string; groups: string[] };
    registerSecret(session.token, 'session token of alice (kerberos-login)');
    expect(session).toMatchObject({ user: 'alice', provider: 'kerberos', groups: ['hpc-admins', 'hpc-users'] });
    // curl asked for mutual authentication and accepted the hub's AP-REP (it would fail otherwise).
    expect(answer.headers).toMatch(/www-authenticate: Negotiate \S{20,}/i);
    const me = await hub.request('GET', '/api/v1/clusters', { headers: { authorization: `Bearer ${session.token}` } });
    expect(me.status).toBe(200);
    expect(hub.auditRecords()).toContainEqual(expect.objectContaining({ action: 'auth:login', user: 'alice', auth_method: 'kerberos', outcome: 'success' }));
  });

  it('sfleet login --kerberos takes the TGT from the credential cache, asks the KDC for the service ticket and saves the session', async () => {
    const ccache = await kdc.kinit('bob', PASSWORDS.bob);
    const out = await sfleet(['login', '--kerberos'], { ...cliEnv, KRB5CCNAME: ccache });
    expect(out).toMatch(new RegExp(`^logged in as bob \\(Kerberos bob@${KDC_REALM}\\), groups hpc-users; session expires`, 'm'));
    const token = (parse(readFileSync(join(dir, 'contexts.yaml'), 'utf8')) as { contexts: { token: string }[] }).contexts[0]!.token;
    registerSecret(token, 'session token of bob (kerberos-login)');
    expect(token).toMatch(/^sfs_/);
    expect(await sfleet(['clusters', '-o', 'json'], cliEnv)).toMatch(/\[\]/);
  });

  it('refuses carol (a principal with no directory account) and a ticket for a service the hub has no key for; the log says why, the caller does not', async () => {
    const carol = await kdc.kinit('carol', PASSWORDS.carol);
    await expect(sfleet(['login', '--kerberos'], { ...cliEnv, KRB5CCNAME: carol })).rejects.toThrow(/Kerberos authentication failed/);
    const alice = await kdc.kinit('alice', PASSWORDS.alice);
    await expect(sfleet(['login', '--kerberos', '--kerberos-service', 'HTTP/other.example'], { ...cliEnv, KRB5CCNAME: alice })).rejects.toThrow(/Kerberos authentication failed/);
    const log = hub.log();
    expect(log).toMatch(/carol@SFLEET\.TEST has no account in the directory/);
    expect(log).toMatch(/no key in the keytab for HTTP\/other\.example@SFLEET\.TEST/);
    expect(hub.auditRecords()).toContainEqual(expect.objectContaining({ action: 'auth:login', user: 'carol@SFLEET.TEST', outcome: 'failed', status: 401, reason: 'Kerberos authentication failed' }));
  });

  it('a ticket issued under a service key the hub no longer holds is refused (key changed in the KDC, keytab not updated)', async () => {
    await kdc.kadmin('cpw -randkey HTTP/127.0.0.1'); // new kvno in the KDC; the hub's keytab keeps the old one
    const bob = await kdc.kinit('bob', PASSWORDS.bob);
    await expect(sfleet(['login', '--kerberos'], { ...cliEnv, KRB5CCNAME: bob })).rejects.toThrow(/Kerberos authentication failed/);
    expect(hub.log()).toMatch(/no key version 3 for HTTP\/127\.0\.0\.1@SFLEET\.TEST in the keytab/);
  });

  it('without kinit the CLI says what to do, and the KDC being down is a clear error', async () => {
    await expect(sfleet(['login', '--kerberos'], { ...cliEnv, KRB5CCNAME: `FILE:${join(dir, 'no-such-cache')}` })).rejects.toThrow(/no Kerberos credentials in .*no-such-cache \(ENOENT\): run kinit first/);
    const alice = await kdc.kinit('alice', PASSWORDS.alice);
    const down = join(dir, 'krb5-down.conf');
    writeFileSync(down, `[realms]\n  ${KDC_REALM} = {\n    kdc = 127.0.0.1:1\n  }\n`);
    await expect(sfleet(['login', '--kerberos'], { ...cliEnv, KRB5_CONFIG: down, KRB5CCNAME: alice })).rejects.toThrow(/cannot reach the KDC 127\.0\.0\.1:1: ECONNREFUSED/);
  });
});
