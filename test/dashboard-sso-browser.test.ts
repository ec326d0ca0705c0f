// Single sign-on from the dashboard in a real Chromium: a page opened without a session goes to
// the login page, which offers the hub's OIDC login; the user signs in on the OpenID Provider's
// own pages (oidc-provider over TLS) and lands on the very URL they asked for, filters included.
// A crafted next= that points at another site is refused before the IdP is involved. Sessions
// last 20 s here: one that expires while its page is open sends the user's next step to the
// login page and, after signing in again, back to the URL they were at.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeadlessChromium } from './harness/chromium.js';
import { axeViolations, screenshot } from './harness/dashboard-page.js';
import { TestIdp } from './harness/oidc-idp.js';
import { makePki, type TestPki } from './harness/pki.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { StandaloneHub } from './harness/standalone-hub.js';

/** How long an OIDC login lasts here (sso.oidc.session_ttl). */
const SESSION_S = 20;

let pki: TestPki;
let idp: TestIdp;
let hub: StandaloneHub;
let browser: HeadlessChromium;
let page: Page;

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  hub = await new StandaloneHub(mkdtempSync(join(tmpdir(), `sfleet-sso-browser-${process.pid}-`)), pki, {}).ports();
  const client = { client_id: 'sfleet', client_secret: 'sfleet-sso-browser-secret-0123456789', redirect_uris: [`${hub.url}/api/v1/auth/oidc/callback`] };
  idp = await new TestIdp({ alice: { preferred_username: 'alice', groups: ['hpc-users'] } }, [client]).start();
  Object.assign(hub.extra, { sso: { oidc: { issuer: idp.issuer, client_id: client.client_id, client_secret: client.client_secret, ca: idp.caFile, scopes: ['openid', 'profile'], session_ttl: `${SESSION_S}s` } } });
  await hub.start();
  browser = await HeadlessChromium.launch([pki.hub.cert, idp.certFile]);
  page = await browser.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
  await idp?.stop();
});

/** The IdP's stock pages: its login form, then its consent, until the browser leaves the IdP. */
async function signInAtIdp(p: Page, user: string): Promise<void> {
  await p.waitForURL((u) => u.origin === idp.issuer);
  for (let step = 0; step < 4 && new URL(p.url()).origin === idp.issuer; step++) {
    if (await p.$('input[name=login]')) {
      await p.fill('input[name=login]', user);
      await p.fill('input[name=password]', 'any');
    }
    await Promise.all([p.waitForNavigation(), p.click('button[type=submit]')]);
  }
}

describe('dashboard single sign-on (OIDC) in Chromium', () => {
  it('a shared URL opened without a session: login page, its OIDC button, the IdP, and back to the same URL', async () => {
    const url = `${hub.url}/jobs?state=PENDING&user=alice`;
    await page.goto(url);
    await page.waitForURL(/\/login\?next=/);
    const button = page.locator('#sso a[data-sso=oidc]');
    await button.waitFor();
    expect(await button.textContent()).toBe('Sign in with single sign-on (OpenID Connect)');
    expect(await button.getAttribute('href')).toBe(`/api/v1/auth/oidc/login?next=${encodeURIComponent('/jobs?state=PENDING&user=alice')}`);
    // A hub without SAML offers no SAML button.
    expect(await page.$$('#sso a[data-sso=saml]')).toHaveLength(0);
    await screenshot(page, 'login-sso');
    expect(await axeViolations(page)).toEqual([]);

    await button.click();
    await signInAtIdp(page, 'alice');
    await page.waitForURL(url);
    await page.waitForSelector('[data-testid=job-count]');
    expect(await page.textContent('.me')).toBe('alice');
    await screenshot(page, 'jobs-after-sso');
  });

  it('a next= to another site is refused with a clear reason, and nothing is sent to the IdP', async () => {
    for (const next of ['https://evil.example/', '//evil.example/jobs', '/\\evil.example']) {
      const res = await hub.get(`/api/v1/auth/oidc/login?next=${encodeURIComponent(next)}`);
      expect(res.status, next).toBe(400);
      expect(res.headers.location).toBeUndefined();
      expect(res.json.detail).toBe('next must be a path of this hub (such as /jobs?state=PENDING): other sites are never redirected to');
    }
    // The login page itself drops such a next: its button then carries none.
    await browser.context.clearCookies();
    await page.goto(`${hub.url}/login?next=${encodeURIComponent('//evil.example/')}`);
    expect(await page.getAttribute('#sso a[data-sso=oidc]', 'href')).toBe('/api/v1/auth/oidc/login');
  });

  it('a session that expires while its page is open: the page goes to the login page by itself, then back to the URL it was at', async () => {
    await browser.context.clearCookies();
    await page.goto(`${hub.url}/jobs?state=PENDING`);
    await page.click('#sso a[data-sso=oidc]');
    await signInAtIdp(page, 'alice');
    await page.waitForURL(`${hub.url}/jobs?state=PENDING`);
    await page.waitForSelector('[data-testid=job-count]');
    // She sorts by user while signed in: the URL carries the sort and the filter.
    await page.click('button.sort:has-text("User")');
    await page.waitForURL(/sort=user/);
    // The session ends by itself (no logout, no click): the hub ends its live stream at the
    // expiry, the page finds the session gone and goes to the login page, asked to come back here.
    await page.waitForURL(/\/login\?next=/, { timeout: (SESSION_S + 20) * 1000 });
    const next = new URL(page.url()).searchParams.get('next')!;
    expect(next).toMatch(/^\/jobs\?/);
    expect(new URLSearchParams(next.slice('/jobs?'.length)).get('sort')).toBe('user');
    expect(new URLSearchParams(next.slice('/jobs?'.length)).get('state')).toBe('PENDING');
    // The IdP's own session is forgotten too, so she signs in there again (else it would send her straight back).
    await browser.context.clearCookies({ domain: new URL(idp.issuer).hostname });
    await page.click('#sso a[data-sso=oidc]');
    await signInAtIdp(page, 'alice');
    await page.waitForURL(`${hub.url}${next}`);
    await page.waitForSelector('[data-testid=job-count]');
    expect(await page.textContent('.me')).toBe('alice');
  });
});
