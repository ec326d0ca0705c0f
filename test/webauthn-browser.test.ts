// WebAuthn as a second factor in a real browser: headless Chromium with a CDP virtual
// authenticator against a real hub over HTTPS. A local user logs in on the dashboard's login
// page with password + TOTP and registers a security key; later password + key logs in and the
// cookie session reads /api/v1/jobs. Signed answers captured from the browser, replayed or
// altered, show the hub's refusals: a spent challenge, a foreign origin, an unknown key, a
// signature counter that went backwards.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeadlessChromium } from './harness/chromium.js';
import { addTotpUser, LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { assertBuilt } from './harness/sfleet-process.js';

const PASSWORD = 'break the glass 2026';
let pki: TestPki;
let hub: LoginHub;
let browser: HeadlessChromium;
let page: Page;
let secret: string;
let origin: string;

interface Captured {
  login_id: string;
  credential: { id: string; rawId: string; response: { clientDataJSON: string } };
  set_cookie?: boolean;
}

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  const dir = mkdtempSync(join(tmpdir(), `webauthn-browser-${process.pid}-`));
  const httpPort = await freePort();
  // WebAuthn wants a domain as RP ID (not an IP address): the page is https://localhost:<port>.
  origin = `https://localhost:${httpPort}`;
  hub = new LoginHub(join(dir, 'hub'), pki, {
    auth: {
      mfa: {
        enabled: true,
        required_for_local: true,
        providers: [{ type: 'totp', issuer: 'sfleet-test' }, { type: 'webauthn', rp_id: 'localhost', rp_name: 'sfleet test', origins: [origin] }],
      },
    },
  });
  hub.httpPort = httpPort;
  hub.grpcPort = await freePort();
  ({ secret } = await addTotpUser(hub.dataDir, 'breakglass', PASSWORD, ['--issuer', 'sfleet-test']));
  await hub.start();
  ({ browser, page } = await HeadlessChromium.withAuthenticator([pki.hub.cert]));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
});

async function fillLogin(totp?: string): Promise<void> {
  await page.goto(`${origin}/login`);
  await page.fill('#username', 'breakglass');
  await page.fill('#password', PASSWORD);
  if (totp) await page.fill('#totp', totp);
  await page.click('#submit');
}

/** Logs in with password + key but keeps the browser's signed answer instead of sending it. */
async function captureSignedLogin(): Promise<Captured> {
  let captured: Captured | undefined;
  await page.route('**/api/v1/auth/login/webauthn', async (route) => {
    captured = route.request().postDataJSON() as Captured;
    await route.fulfill({ status: 401, contentType: 'application/problem+json', body: JSON.stringify({ detail: 'held back by the test' }) });
  });
  await fillLogin();
  await page.waitForSelector('#message.error');
  await page.unroute('**/api/v1/auth/login/webauthn');
  expect(captured).toBeDefined();
  return captured!;
}

function jobsWithCookie(): Promise<number> {
  return page.evaluate(async () => (await fetch('/api/v1/jobs', { credentials: 'same-origin' })).status);
}

describe('WebAuthn second factor in Chromium', () => {
  it('password + TOTP on the login page, then a security key is registered; users.json keeps only its public key', async () => {
    await fillLogin(await generate({ secret }));
    await page.waitForSelector('#logged-in:not([hidden])');
    expect(await page.textContent('#user')).toBe('breakglass');
    expect(await jobsWithCookie()).toBe(200);
    await page.click('#register');
    await page.waitForFunction(() => /registered/.test(document.getElementById('message')!.textContent ?? ''));
    expect(await page.textContent('#message')).toBe('Security key "key 1" registered.');
    const users = JSON.parse(readFileSync(join(hub.dataDir, 'users.json'), 'utf8')) as { users: { name: string; webauthn?: Record<string, unknown>[] }[] };
    const creds = users.users.find((u) => u.name === 'breakglass')!.webauthn!;
    expect(creds).toHaveLength(1);
    expect(Object.keys(creds[0]).sort()).toEqual(['counter', 'created_at', 'id', 'name', 'public_key', 'transports']);
  });

  it('later, password + security key logs in (no TOTP code) and the session cookie reads /api/v1/jobs', async () => {
    await browser.context.clearCookies();
    expect(await page.evaluate(async () => (await fetch('/api/v1/jobs')).status)).toBe(401);
    await fillLogin();
    await page.waitForSelector('#logged-in:not([hidden])');
    expect(await page.textContent('#message')).toBe('Logged in (with a second factor).');
    expect(await jobsWithCookie()).toBe(200);
    const cookie = (await browser.context.cookies(origin)).find((c) => c.name === 'sfleet_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', value: expect.stringMatching(/^sfs_/) });
    const whoami = await hub.request('GET', '/api/v1/auth/whoami', { headers: { authorization: `Bearer ${cookie.value}` } });
    expect(whoami.json()).toMatchObject({ name: 'breakglass' });
  });

  it('the password alone gets a WebAuthn challenge, not a session', async () => {
    const res = await hub.login({ username: 'breakglass', password: PASSWORD });
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ code: 'SF_AUTH_MFA_REQUIRED', mfa: 'webauthn', methods: ['webauthn', 'totp'], webauthn: { login_id: expect.any(String), public_key: { rpId: 'localhost', challenge: expect.any(String) } } });
    expect(res.body).not.toMatch(/sfs_/);
  });

  it('a signed answer is good once: sent again it is refused as a spent challenge', async () => {
    const signed = await captureSignedLogin();
    const first = await hub.request('POST', '/api/v1/auth/login/webauthn', { body: signed });
    expect(first.status).toBe(200);
    expect(first.json()).toMatchObject({ user: 'breakglass', mfa: true, token: expect.stringMatching(/^sfs_/) });
    const again = await hub.request('POST', '/api/v1/auth/login/webauthn', { body: signed });
    expect(again.status).toBe(401);
    expect(again.json()).toMatchObject({ code: 'SF_AUTH_WEBAUTHN_CHALLENGE', detail: expect.stringMatching(/unknown, expired or used already: log in again/) });
  });

  it('an answer signed for another origin is refused and says which origin', async () => {
    const signed = await captureSignedLogin();
    const client = JSON.parse(Buffer.from(signed.credential.response.clientDataJSON, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(client.origin).toBe(origin);
    const forged = { ...client, origin: 'https://phish.example' };
    signed.credential.response.clientDataJSON = Buffer.from(JSON.stringify(forged)).toString('base64url');
    const res = await hub.request('POST', '/api/v1/auth/login/webauthn', { body: signed });
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ code: 'SF_AUTH_WEBAUTHN_REFUSED', detail: expect.stringContaining('https://phish.example') });
  });

  it('an unknown authenticator is refused', async () => {
    const signed = await captureSignedLogin();
    const other = Buffer.from('not a registered key').toString('base64url');
    signed.credential.id = other;
    signed.credential.rawId = other;
    const res = await hub.request('POST', '/api/v1/auth/login/webauthn', { body: signed });
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ code: 'SF_AUTH_WEBAUTHN_UNKNOWN_CREDENTIAL', detail: 'this authenticator is not registered for the user' });
  });

  it('an older signature sent after a newer one was accepted (counter went backwards) is refused as a cloned key', async () => {
    const older = await captureSignedLogin();
    await browser.context.clearCookies();
    await fillLogin();
    await page.waitForSelector('#logged-in:not([hidden])');
    const res = await hub.request('POST', '/api/v1/auth/login/webauthn', { body: older });
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ code: 'SF_AUTH_WEBAUTHN_COUNTER', detail: expect.stringMatching(/counter went backwards/) });
    expect(hub.auditRecords()).toContainEqual(
      expect.objectContaining({ action: 'auth:login', auth_method: 'webauthn', outcome: 'failed', status: 401, reason: expect.stringMatching(/counter went backwards/) }),
    );
  });
});
