// WebAuthn in a hub group (etcd + Redis): the challenge a login gets from hub A is kept in the
// region's shared store, so the browser's signed answer is accepted by hub B, and only once in
// the whole region. Local users live in each hub's data_dir: the operator copies users.json.
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeadlessChromium } from './harness/chromium.js';
import { HaServices } from './harness/ha-services.js';
import { addTotpUser, LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { assertBuilt } from './harness/sfleet-process.js';

const PASSWORD = 'break the glass 2026';
let pki: TestPki;
let services: HaServices;
let a: LoginHub;
let b: LoginHub;
let browser: HeadlessChromium;
let page: Page;
let secret: string;

beforeAll(async () => {
  assertBuilt();
  [pki, services] = await Promise.all([makePki(), HaServices.create('webauthn')]);
  const dir = mkdtempSync(join(tmpdir(), `webauthn-clustered-${process.pid}-`));
  const [pa, pb, ga, gb] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const extra = {
    etcd: { endpoints: services.etcdEndpoints, lease_ttl: '3s' },
    redis: { url: services.redisUrl },
    // The brief's form of the factor: type hardware with challenge_timeout, its RP ID and origins
    // taken from http.allowed_origins (test/webauthn-browser.test.ts configures type webauthn).
    http: { allowed_origins: [`https://localhost:${pa}`, `https://localhost:${pb}`] },
    auth: {
      mfa: {
        enabled: true,
        required_for_local: true,
        providers: [{ type: 'totp' }, { type: 'hardware', challenge_timeout: '30s' }],
      },
    },
  };
  a = new LoginHub(join(dir, 'hub-a'), pki, extra);
  b = new LoginHub(join(dir, 'hub-b'), pki, extra);
  [a.httpPort, a.grpcPort, b.httpPort, b.grpcPort] = [pa, ga, pb, gb];
  ({ secret } = await addTotpUser(a.dataDir, 'breakglass', PASSWORD));
  await Promise.all([a.start(), b.start()]);
  ({ browser, page } = await HeadlessChromium.withAuthenticator([pki.hub.cert]));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  await services?.stop();
});

describe('WebAuthn across a hub group', () => {
  it("hub B accepts the signed answer to hub A's challenge, once region-wide", async () => {
    // Register on hub A after password + TOTP, then give hub B the same users.json.
    await page.goto(`https://localhost:${a.httpPort}/login`);
    await page.fill('#username', 'breakglass');
    await page.fill('#password', PASSWORD);
    await page.fill('#totp', await generate({ secret }));
    await page.click('#submit');
    await page.waitForSelector('#logged-in:not([hidden])');
    await page.click('#register');
    await page.waitForFunction(() => /registered/.test(document.getElementById('message')!.textContent ?? ''));
    copyFileSync(join(a.dataDir, 'users.json'), join(b.dataDir, 'users.json'));

    // Log in on hub A with password + key, holding the signed answer back from A.
    let signed: unknown;
    await page.route('**/api/v1/auth/login/webauthn', async (route) => {
      signed = route.request().postDataJSON();
      await route.fulfill({ status: 401, contentType: 'application/problem+json', body: JSON.stringify({ detail: 'held back by the test' }) });
    });
    await browser.context.clearCookies();
    await page.goto(`https://localhost:${a.httpPort}/login`);
    await page.fill('#username', 'breakglass');
    await page.fill('#password', PASSWORD);
    await page.click('#submit');
    await page.waitForSelector('#message.error');
    expect(signed).toBeDefined();

    const onB = await b.request('POST', '/api/v1/auth/login/webauthn', { body: signed });
    expect(onB.status).toBe(200);
    const token = onB.json<{ token: string }>().token;
    expect((await a.request('GET', '/api/v1/jobs', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const againOnA = await a.request('POST', '/api/v1/auth/login/webauthn', { body: signed });
    expect(againOnA.status).toBe(401);
    expect(againOnA.json()).toMatchObject({ code: 'SF_AUTH_WEBAUTHN_CHALLENGE' });
  });
});
