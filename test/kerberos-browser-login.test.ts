// Kerberos sign-in to the dashboard in a real Chromium: a real MIT KDC (test/harness/kdc.ts), a
// real OpenLDAP for alice's groups, a real hub with the dashboard. Chromium runs with alice's
// credential cache from kinit and the site policy a Kerberos site sets (--auth-server-allowlist),
// so it answers the hub's `WWW-Authenticate: Negotiate` with a ticket for HTTP/localhost through
// MIT's GSS-API library, as a browser on a domain desktop does. What the user sees is asserted:
// the login page's "Sign in with Kerberos", the dashboard with alice and her role, the overview
// loading; a browser without a ticket gets a page that says so, with the way back to the other
// methods. A token captured on its way to the hub (a recording TLS proxy) is refused when
// replayed: the replay cache.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeadlessChromium } from './harness/chromium.js';
import { axeViolations, screenshot } from './harness/dashboard-page.js';
import { Kdc } from './harness/kdc.js';
import { LDAP_PASSWORDS, LDAP_SUFFIX, LdapServer, SERVICE_DN } from './harness/ldap.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { registerSecret } from './harness/run-logs.js';
import { assertBuilt } from './harness/sfleet-process.js';

const ALICE_PW = 'alice-krb-browser-pw';
registerSecret(ALICE_PW, 'Kerberos password of alice (kerberos-browser-login)');

let pki: TestPki;
let kdc: Kdc;
let ldap: LdapServer;
let hub: LoginHub;
let dir: string;
let origin: string;
let withTicket: HeadlessChromium;
let noTicket: HeadlessChromium;
let proxy: Server | undefined;

/** The switches a Kerberos site's browser policy amounts to: SPNEGO for this host, its name as typed. */
const KERBEROS_SWITCHES = ['--auth-server-allowlist=localhost', '--disable-auth-negotiate-cname-lookup'];

beforeAll(async () => {
  assertBuilt();
  [pki, kdc, ldap] = await Promise.all([makePki(), Kdc.create('browser'), LdapServer.create('kerberos-browser')]);
  dir = mkdtempSync(join(tmpdir(), `kerberos-browser-${process.pid}-`));
  await kdc.addUser('alice', ALICE_PW);
  // Chromium asks for HTTP/<the host in the URL>: the dashboard is opened as https://localhost:PORT.
  const keytab = await kdc.addService('HTTP/localhost', join(kdc.dir, 'hub.keytab'));
  hub = new LoginHub(
    join(dir, 'hub'),
    pki,
    {
      rbac: { bindings: [{ group: 'hpc-admins', role: 'admin' }] },
      sso: {
        kerberos: { keytab_file: keytab, clock_skew: '2m' },
        ldap: { url: ldap.url, bind_dn: SERVICE_DN, bind_password_env: 'SFLEET_TEST_LDAP_BIND_PW', user_base_dn: `ou=people,${LDAP_SUFFIX}`, user_filter: '(objectClass=inetOrgPerson)', timeout: '2s', connect_timeout: '1s' },
      },
    },
    { ...process.env, SFLEET_TEST_LDAP_BIND_PW: LDAP_PASSWORDS.service },
  );
  hub.httpPort = await freePort();
  hub.grpcPort = await freePort();
  origin = `https://localhost:${hub.httpPort}`;
  await hub.start();
  const ccache = await kdc.kinit('alice', ALICE_PW);
  withTicket = await HeadlessChromium.launch([pki.hub.cert], { args: KERBEROS_SWITCHES, env: { ...process.env, ...kdc.env, KRB5CCNAME: ccache } });
  noTicket = await HeadlessChromium.launch([pki.hub.cert], { args: KERBEROS_SWITCHES, env: { ...process.env, ...kdc.env, KRB5CCNAME: `FILE:${join(dir, 'no-such-cache')}` } });
}, 300_000);

afterAll(async () => {
  proxy?.close();
  await withTicket?.close();
  await noTicket?.close();
  await hub?.stop();
  await ldap?.stop();
  await kdc?.stop();
});

/** A TLS proxy in front of the hub, on the same host name (so the same service ticket), keeping every Authorization header it passes on. */
async function recordingProxy(seen: string[]): Promise<number> {
  const port = await freePort();
  const ca = readFileSync(pki.ca);
  proxy = createServer({ cert: readFileSync(pki.hub.cert), key: readFileSync(pki.hub.key) }, (req, res) => {
    if (req.headers.authorization) seen.push(req.headers.authorization);
    const { host: _host, ...headers } = req.headers;
    const upstream = request(`${hub.httpUrl}${req.url}`, { method: req.method, headers, ca }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy!.listen(port, '127.0.0.1', resolve));
  return port;
}

async function kerberosButton(page: Page) {
  const button = page.locator('#sso a[data-sso=kerberos]');
  await button.waitFor();
  return button;
}

describe('Kerberos sign-in to the dashboard in Chromium', () => {
  it('alice, with a ticket from kinit: "Sign in with Kerberos" opens the dashboard as alice with her role, and the overview loads', async () => {
    const page = await withTicket.newPage();
    await page.goto(`${origin}/`);
    await page.waitForURL(/\/login\?next=/);
    const button = await kerberosButton(page);
    expect(await button.textContent()).toBe('Sign in with Kerberos');
    expect(await button.getAttribute('href')).toBe('/api/v1/auth/kerberos/login?next=%2F');
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'login-kerberos');

    await button.click();
    await page.waitForURL(`${origin}/`);
    const me = page.locator('.me');
    await me.waitFor();
    expect(await me.textContent()).toBe('alice');
    // Her role comes from her directory group (hpc-admins -> admin), as for an API login.
    expect(await me.getAttribute('title')).toBe('admin');
    await page.getByText('No clusters have reported to this hub yet').waitFor();
    await screenshot(page, 'overview-after-kerberos');

    const cookies = await withTicket.context.cookies(origin);
    expect(cookies.find((c) => c.name === 'sfleet_session')).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', value: expect.stringMatching(/^sfs_/) });
    registerSecret(cookies.find((c) => c.name === 'sfleet_session')!.value, 'session of alice (kerberos-browser-login)');
    expect(cookies.find((c) => c.name === 'sfleet_csrf')?.value).toMatch(/\S{20,}/);
    expect(hub.auditRecords()).toContainEqual(expect.objectContaining({ action: 'auth:login', user: 'alice', auth_method: 'kerberos', outcome: 'success', resource: 'session' }));
    await page.close();
  });

  it('a browser without a ticket: the login page says there is no Kerberos ticket, and the hub\'s own page links back to the other methods', async () => {
    const page = await noTicket.newPage();
    await page.goto(`${origin}/login?next=${encodeURIComponent('/jobs')}`);
    await (await kerberosButton(page)).click();
    await page.locator('#message.error').waitFor();
    expect(await page.textContent('#message')).toMatch(/^No Kerberos ticket: your browser sent none for this hub\. Run kinit/);
    expect(page.url()).toBe(`${origin}/login?next=%2Fjobs`);

    // The link followed without the login page's script: a page, not a bare 401.
    const answer = await page.goto(`${origin}/api/v1/auth/kerberos/login?next=${encodeURIComponent('/jobs')}`);
    expect(answer?.status()).toBe(401);
    expect(await page.textContent('h1')).toBe('No Kerberos ticket');
    expect(await page.textContent('main')).toMatch(/Your browser sent no Kerberos ticket for this hub/);
    await screenshot(page, 'kerberos-no-ticket');
    await page.click('#other-methods');
    await page.waitForURL(`${origin}/login?next=%2Fjobs`);
    await page.locator('#username').waitFor();
    expect((await noTicket.context.cookies(origin)).map((c) => c.name)).not.toContain('sfleet_session');
    // The challenge is the handshake's first step, not a failed login (which would count toward login-failure alerts).
    expect(hub.auditRecords().filter((r) => r.action === 'auth:login' && r.outcome !== 'success')).toEqual([]);
    expect(hub.auditRecords()).toContainEqual(expect.objectContaining({ action: 'auth:negotiate', outcome: 'failed', status: 401, auth_method: 'kerberos' }));
    await page.close();
  });

  it('a token captured on its way to the hub is refused when replayed (the replay cache), and the hub\'s log says why', async () => {
    const seen: string[] = [];
    const port = await recordingProxy(seen);
    const page = await withTicket.newPage();
    const answer = await page.goto(`https://localhost:${port}/api/v1/auth/kerberos/login`);
    expect(answer?.status()).toBe(200);
    // Signed in through the proxy: the page goes on to the dashboard, as alice.
    await page.waitForURL(`https://localhost:${port}/`);
    await page.locator('.me').waitFor();
    expect(await page.textContent('.me')).toBe('alice');
    const token = seen.find((h) => /^Negotiate /.test(h));
    expect(token).toBeDefined();
    registerSecret(token!.slice('Negotiate '.length), 'SPNEGO token of alice (kerberos-browser-login)');
    await page.close();

    const replayed = await hub.request('GET', '/api/v1/auth/kerberos/login', { headers: { authorization: token!, accept: 'text/html' } });
    expect(replayed.status).toBe(401);
    expect(replayed.headers['set-cookie'] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/^sfleet_session=sfs_/)]));
    expect(replayed.body).toMatch(/<h1 data-kerberos="refused">Kerberos sign-in failed<\/h1>/);
    const asTool = await hub.request('GET', '/api/v1/auth/kerberos/login', { headers: { authorization: token!, accept: 'application/json' } });
    expect(asTool.status).toBe(401);
    expect(asTool.json()).toMatchObject({ code: 'SF_AUTH_UNAUTHENTICATED', detail: 'Kerberos authentication failed' });
    expect(hub.log()).toMatch(/authenticator replayed/);
    expect(hub.auditRecords()).toContainEqual(expect.objectContaining({ action: 'auth:login', auth_method: 'kerberos', outcome: 'failed', status: 401, reason: 'Kerberos authentication failed' }));
  });
});
