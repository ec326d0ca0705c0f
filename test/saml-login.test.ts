// SAML 2.0 login against a real hub process: the hub sends the browser to the IdP with an
// AuthnRequest, the IdP side (xml-crypto, its own RSA key) posts back a signed assertion, and
// the hub opens a session. Unsigned, wrongly signed, tampered, expired, foreign-audience,
// foreign-issuer and replayed assertions are each refused with a clear reason.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from './harness/browser.js';
import { makePki, type TestPki } from './harness/pki.js';
import { readAuthnRequest, samlResponse, samlSigningCert, type AssertionOptions, type SigningCert } from './harness/saml-idp.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { StandaloneHub } from './harness/standalone-hub.js';
import { registerSecret } from './harness/run-logs.js';

const IDP_URL = 'https://identity.company.test/saml';
const IDP_ISSUER = 'https://identity.company.test';
const SP_ENTITY = 'sfleet-test';

let pki: TestPki;
let idpCert: SigningCert;
let otherCert: SigningCert;
let hub: StandaloneHub;
let acs: string;

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  idpCert = await samlSigningCert('identity.company.test');
  otherCert = await samlSigningCert('impostor');
  const dir = mkdtempSync(join(tmpdir(), `sfleet-saml-${process.pid}-`));
  writeFileSync(join(dir, 'saml.crt'), idpCert.cert);
  hub = await new StandaloneHub(join(dir, 'hub'), pki, {
    // SAML has no back channel: a session lasts one re-check interval at most (issue 12).
    auth: { session: { revalidate: '2m' } },
    sso: { saml: { enabled: true, idp_url: IDP_URL, certificate: join(dir, 'saml.crt'), entity_id: SP_ENTITY, idp_issuer: IDP_ISSUER, clock_skew: '1s' } },
  }).start();
  acs = `${hub.url}/api/v1/auth/saml/acs`;
});

afterAll(async () => {
  await hub?.stop();
});

const alice = (extra: Partial<AssertionOptions> = {}): AssertionOptions => ({
  issuer: IDP_ISSUER,
  audience: SP_ENTITY,
  acsUrl: acs,
  nameId: 'alice',
  attributes: { groups: ['hpc-users', 'physics'], project: 'p-astro' },
  signWith: idpCert,
  ...extra,
});

async function post(browser: Browser, SAMLResponse: string) {
  const res = await browser.fetch(acs, { method: 'POST', form: { SAMLResponse }, headers: { accept: 'application/json' } });
  return { status: res.status, json: JSON.parse(res.body), headers: res.headers };
}

describe('SAML 2.0 login', () => {
  it('SP-initiated: AuthnRequest to the IdP, signed assertion back, a session with the mapped attributes; the response cannot be replayed', async () => {
    const browser = new Browser([pki.ca]);
    const start = await browser.fetch(`${hub.url}/api/v1/auth/saml/login`);
    expect(start.status).toBe(302);
    expect(start.location!.startsWith(`${IDP_URL}?SAMLRequest=`)).toBe(true);
    const request = readAuthnRequest(start.location!);
    expect(request).toMatchObject({ acsUrl: acs, issuer: SP_ENTITY });

    const { SAMLResponse } = samlResponse(alice({ inResponseTo: request.id }));
    const done = await post(browser, SAMLResponse);
    expect(done.status, JSON.stringify(done.json)).toBe(200);
    expect(done.json).toMatchObject({ user: 'alice', groups: ['hpc-users', 'physics'], project: 'p-astro' });
    registerSecret(done.json.session_token, 'SAML session token');
    expect(String(done.headers['set-cookie'])).toMatch(/^sfleet_session=sfs_[^;]+; Path=\/; HttpOnly; Secure; SameSite=Strict/);
    const me = await hub.get('/api/v1/auth/whoami', { cookie: `sfleet_session=${browser.cookie(hub.url, 'sfleet_session')}` });
    expect(me.json).toMatchObject({ name: 'alice', method: 'saml', kind: 'user', groups: ['hpc-users', 'physics'], attributes: { project: 'p-astro' } });
    expect((await hub.get('/api/v1/jobs', { bearer: done.json.session_token })).status).toBe(200);

    const replay = await post(new Browser([pki.ca]), SAMLResponse);
    expect(replay.status).toBe(401);
    expect(replay.json.detail).toMatch(/^SAML response refused: InResponseTo is not valid/);
  });

  it('next= rides in RelayState and the login lands on it; a next to another site is refused up front, and a foreign RelayState lands on the dashboard', async () => {
    const browser = new Browser([pki.ca]);
    const next = '/jobs?state=PENDING&user=alice';
    const start = await browser.fetch(`${hub.url}/api/v1/auth/saml/login?next=${encodeURIComponent(next)}`);
    expect(start.status).toBe(302);
    expect(new URL(start.location!).searchParams.get('RelayState')).toBe(next);
    const request = readAuthnRequest(start.location!);
    const { SAMLResponse } = samlResponse(alice({ inResponseTo: request.id }));
    const done = await browser.fetch(acs, { method: 'POST', form: { SAMLResponse, RelayState: next } });
    expect(done.status).toBe(200);
    expect(done.body).toContain('<meta http-equiv="refresh" content="0; url=/jobs?state=PENDING&#38;user=alice">');

    for (const bad of ['https://evil.example/', '//evil.example/jobs', '/\\evil.example']) {
      const refused = await browser.fetch(`${hub.url}/api/v1/auth/saml/login?next=${encodeURIComponent(bad)}`);
      expect(refused.status, bad).toBe(400);
      expect(JSON.parse(refused.body).detail).toBe('next must be a path of this hub (such as /jobs?state=PENDING): other sites are never redirected to');
    }
    // An IdP may post any RelayState: the login still works and stays on this hub.
    const foreign = await browser.fetch(acs, { method: 'POST', form: { SAMLResponse: samlResponse(alice({ nameId: 'carol' })).SAMLResponse, RelayState: 'https://evil.example/' } });
    expect(foreign.status).toBe(200);
    expect(foreign.body).toContain('<meta http-equiv="refresh" content="0; url=/">');
    expect(foreign.body).not.toContain('evil.example');
  });

  it('IdP-initiated: accepted once; the same assertion posted again is a replay', async () => {
    const { SAMLResponse, assertionId } = samlResponse(alice({ nameId: 'bob', attributes: { groups: 'ops' } }));
    const first = await post(new Browser([pki.ca]), SAMLResponse);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ user: 'bob', groups: ['ops'] });
    expect(first.json.project).toBeUndefined();
    const again = await post(new Browser([pki.ca]), SAMLResponse);
    expect(again.status).toBe(401);
    expect(again.json.detail).toBe(`SAML response refused: assertion ${assertionId} was already used (a replay)`);
  });

  it('refuses unsigned, wrongly signed and tampered assertions', async () => {
    const browser = new Browser([pki.ca]);
    const unsigned = await post(browser, samlResponse(alice({ signWith: undefined })).SAMLResponse);
    expect(unsigned.status).toBe(401);
    expect(unsigned.json).toMatchObject({ code: 'SF_AUTH_UNAUTHENTICATED', detail: expect.stringMatching(/^SAML response refused: Invalid signature/) });

    const impostor = await post(browser, samlResponse(alice({ signWith: otherCert })).SAMLResponse);
    expect(impostor.status).toBe(401);
    expect(impostor.json.detail).toMatch(/^SAML response refused: Invalid signature/);

    // A genuine signed assertion with one group added afterwards.
    const genuine = samlResponse(alice()).xml;
    const tampered = genuine.replace('<saml:AttributeValue>physics</saml:AttributeValue>', '<saml:AttributeValue>physics</saml:AttributeValue><saml:AttributeValue>hpc-admins</saml:AttributeValue>');
    expect(tampered).not.toBe(genuine);
    const res = await post(browser, Buffer.from(tampered).toString('base64'));
    expect(res.status).toBe(401);
    expect(res.json.detail).toMatch(/^SAML response refused: Invalid signature/);
    expect(browser.cookie(hub.url, 'sfleet_session')).toBeUndefined();
  });

  it('refuses expired, foreign-audience and foreign-issuer assertions, and garbage', async () => {
    const browser = new Browser([pki.ca]);
    const expired = await post(browser, samlResponse(alice({ issuedAt: new Date(Date.now() - 600_000), validForMs: 300_000 })).SAMLResponse);
    expect(expired.status).toBe(401);
    expect(expired.json.detail).toMatch(/^SAML response refused: SAML assertion expired/);

    const audience = await post(browser, samlResponse(alice({ audience: 'some-other-app' })).SAMLResponse);
    expect(audience.status).toBe(401);
    expect(audience.json.detail).toMatch(/^SAML response refused: SAML assertion audience mismatch/);

    const issuer = await post(browser, samlResponse(alice({ issuer: 'https://evil.test' })).SAMLResponse);
    expect(issuer.status).toBe(401);
    expect(issuer.json.detail).toBe(`SAML response refused: the assertion's issuer "https://evil.test" is not the configured IdP "${IDP_ISSUER}"`);

    const garbage = await post(browser, Buffer.from('<not-saml/>').toString('base64'));
    expect(garbage.status).toBe(401);
    expect(garbage.json.detail).toMatch(/^SAML response refused: /);
    const notBase64 = await post(browser, '%%%');
    expect(notBase64.status).toBe(401);

    // Still serving.
    expect((await hub.get('/healthz')).status).toBe(200);
  });

  it('a SAML session lasts at most auth.session.revalidate (the IdP cannot be asked again): then the user logs in again', async () => {
    const browser = new Browser([pki.ca]);
    const request = readAuthnRequest((await browser.fetch(`${hub.url}/api/v1/auth/saml/login`)).location!);
    const before = Date.now();
    const done = await post(browser, samlResponse(alice({ inResponseTo: request.id })).SAMLResponse);
    expect(done.status, JSON.stringify(done.json)).toBe(200);
    registerSecret(done.json.session_token, 'SAML session token (revalidate)');
    // sso.saml.session_ttl is 8 h by default; the session and its cookie end after 2 minutes.
    expect(Date.parse(done.json.expires_at) - before).toBeLessThanOrEqual(120_000 + 5_000);
    expect(String(done.headers['set-cookie'])).toMatch(/sfleet_session=sfs_[^;]+;.*Max-Age=120(;|$)/);
  });
});
