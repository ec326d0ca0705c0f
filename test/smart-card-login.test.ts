// Smart-card logins against a real hub process: person certificates from an enterprise CA that is
// not the fleet CA, on the hub's card listener (auth.smart_card.listen). A card logs in as the
// user its UPN names; once its serial is on the CRL (the file rewritten, the hub reloads it) the
// same card is refused and its open session ends. A fleet-CA client certificate is no person.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { registerSecret } from './harness/run-logs.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { makeSmartCardPki, type PersonCard, type SmartCardPki } from './harness/smart-card-pki.js';
import { StandaloneHub } from './harness/standalone-hub.js';
import { waitFor } from './harness/wait.js';

let pki: TestPki;
let cards: SmartCardPki;
let hub: StandaloneHub;
let cardUrl: string;
let ada: PersonCard;
let grace: PersonCard;

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  cards = await makeSmartCardPki();
  ada = await cards.issue('ada', { subject: 'CN=Ada Lovelace, O=Example Corp', upn: 'ada@corp.example', email: 'ada.lovelace@mail.example' });
  grace = await cards.issue('grace', { subject: 'CN=grace, O=Example Corp' });
  const port = await freePort();
  cardUrl = `https://127.0.0.1:${port}`;
  hub = await new StandaloneHub(join(mkdtempSync(join(tmpdir(), `sfleet-card-${process.pid}-`)), 'hub'), pki, {
    auth: {
      // A card put on the CRL ends its open sessions at their next re-check.
      session: { revalidate: '1s' },
      // Cards whose only usage is Microsoft's smart-card logon log in too (default: client_auth only).
      smart_card: { listen: `127.0.0.1:${port}`, ca_file: cards.ca, crl_file: cards.crl, domains: ['corp.example'], groups: ['smart-card'], extended_key_usage: ['client_auth', 'smart_card_logon'] },
    },
  }).start();
}, 120_000);

afterAll(async () => {
  await hub?.stop();
});

function card(path: string, who?: PersonCard, accept = 'application/json') {
  return httpsCall(`${cardUrl}${path}`, { ca: pki.ca, ...(who ? { cert: who.cert, key: who.key } : {}), headers: { accept }, timeoutMs: 20_000 });
}

const LOGIN = '/api/v1/auth/smart-card/login';

describe('smart-card login', () => {
  it('a card of the enterprise CA logs in as the user its UPN names; the session works on the API listener', async () => {
    const res = await card(LOGIN, ada);
    expect(res.status, res.body).toBe(200);
    const body = JSON.parse(res.body) as { user: string; groups: string[]; session_token: string };
    registerSecret(body.session_token, 'smart-card session token');
    expect(body).toMatchObject({ user: 'ada', groups: ['smart-card'] });
    expect(String(res.headers['set-cookie'])).toMatch(/^sfleet_session=sfs_[^;]+; Path=\/; HttpOnly; Secure; SameSite=Strict/);
    const me = await hub.get('/api/v1/auth/whoami', { bearer: body.session_token });
    expect(me.json).toMatchObject({ name: 'ada', method: 'smart_card', groups: ['smart-card'] });

    // A browser gets a page that goes on to the dashboard on the API listener, to the path it asked for.
    const page = await card(`${LOGIN}?next=${encodeURIComponent('/jobs?state=PENDING')}`, ada, 'text/html');
    expect(page.status).toBe(200);
    expect(page.body).toContain(`url=${hub.url}/jobs?state=PENDING`);
    expect(page.body).toContain('Signed in to slurmfleet as <b>ada</b>');

    // The login is audited as every other login.
    const records = hub.auditRecords().filter((r) => r.action === 'auth:login' && r.user === 'ada');
    expect(records.length).toBeGreaterThanOrEqual(1);
    expect(records[0]).toMatchObject({ outcome: 'success', auth_method: 'smart_card' });
  });

  it('the API listener sends the browser to the card listener; the card listener serves nothing else', async () => {
    const redirect = await hub.get(`${LOGIN}?next=%2Falerts`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe(`${cardUrl}${LOGIN}?next=%2Falerts`);
    const other = await card('/api/v1/jobs', ada);
    expect(other.status).toBe(404);
    expect(JSON.parse(other.body).detail).toContain(`serves only ${LOGIN}`);
  });

  it('no card, a card without a UPN or e-mail of the allowed domain, and a fleet-CA client certificate are refused with their reason', async () => {
    const none = await card(LOGIN);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ code: 'SF_AUTH_SMART_CARD_REFUSED', detail: expect.stringContaining('no client certificate was presented') });

    // grace's card names her only in the subject: map_from tries upn, email, then subject CN.
    const subjectOnly = await card(LOGIN, grace);
    expect(subjectOnly.status, subjectOnly.body).toBe(200);
    expect(JSON.parse(subjectOnly.body)).toMatchObject({ user: 'grace' });

    // The fleet CA vouches for tools and hubs, never for people.
    const fleet = await card(LOGIN, { cert: pki.client.cert, key: pki.client.key, serial: '' });
    expect(fleet.status).toBe(401);
    expect(JSON.parse(fleet.body).detail).toContain('not issued by a CA of auth.smart_card.ca_file');
    const failed = hub.auditRecords().filter((r) => r.action === 'auth:login' && r.outcome !== 'success' && r.auth_method === 'smart_card');
    expect(failed.length).toBeGreaterThanOrEqual(2);
  });

  it('a card whose certificate has no Extended Key Usage for logins is refused with the reason in the log; a smart-card-logon-only card logs in', async () => {
    const unsigned = await cards.issue('noeku', { subject: 'CN=noeku, O=Example Corp', upn: 'noeku@corp.example', eku: [] });
    const refused = await card(LOGIN, unsigned);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'SF_AUTH_SMART_CARD_REFUSED', detail: expect.stringContaining("the card's certificate has no Extended Key Usage") });
    const mail = await cards.issue('mailonly', { subject: 'CN=mailonly, O=Example Corp', upn: 'mailonly@corp.example', eku: ['1.3.6.1.5.5.7.3.4'] });
    expect(JSON.parse((await card(LOGIN, mail)).body).detail).toContain("the card's certificate is not for logins: its Extended Key Usage is 1.3.6.1.5.5.7.3.4");
    await waitFor('the refusals in the log', () => hub.log().includes('smart-card login refused') && hub.log().includes('CN=mailonly'), 10_000, 100);
    expect(hub.log()).toMatch(/has no Extended Key Usage; auth\.smart_card\.extended_key_usage asks for client_auth \(1\.3\.6\.1\.5\.5\.7\.3\.2\) or smart_card_logon/);

    // OpenSSL calls a logon-only certificate no TLS client; the configured usage lets it in.
    const logon = await cards.issue('logon', { subject: 'CN=logon, O=Example Corp', upn: 'linus@corp.example', eku: ['1.3.6.1.4.1.311.20.2.2'] });
    const ok = await card(LOGIN, logon);
    expect(ok.status, ok.body).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ user: 'linus' });
    registerSecret((JSON.parse(ok.body) as { session_token: string }).session_token, 'smart-card session token (logon-only card)');
  });

  it('once the card is on the CRL it is refused, and its open session ends', async () => {
    const before = await card(LOGIN, ada);
    expect(before.status).toBe(200);
    const session = (JSON.parse(before.body) as { session_token: string }).session_token;
    registerSecret(session, 'smart-card session token');
    expect((await hub.get('/api/v1/jobs', { bearer: session })).status).toBe(200);

    await cards.revoke(ada.serial);
    // The hub reads the rewritten CRL by itself (no restart, no signal).
    await waitFor('the revoked card refused', async () => (await card(LOGIN, ada)).status === 401);
    const refused = await card(LOGIN, ada);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'SF_AUTH_SMART_CARD_REFUSED', detail: expect.stringContaining('revoked') });
    // Another card of the same CA still logs in.
    expect((await card(LOGIN, grace)).status).toBe(200);
    // The session opened before the revocation ends at its re-check (auth.session.revalidate 1s).
    await waitFor('the revoked card\'s session ended', async () => (await hub.get('/api/v1/jobs', { bearer: session })).status === 401);
    expect(hub.log()).toContain('smart-card CA and CRL reloaded');
  });
});
