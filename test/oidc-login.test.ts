// The dashboard's OIDC login, driven as a browser would: the hub redirects to a real OpenID
// Provider (oidc-provider over TLS) with state, nonce and a PKCE S256 challenge; the user signs
// in on the provider's own pages; the hub exchanges the code with its client secret and opens a
// session that works as a cookie and as a bearer token.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from './harness/browser.js';
import { TestIdp, type IdpAccount, type IdpClient } from './harness/oidc-idp.js';
import { makePki, type TestPki } from './harness/pki.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { StandaloneHub } from './harness/standalone-hub.js';
import { registerSecret } from './harness/run-logs.js';
import { waitFor } from './harness/wait.js';
import { sseWatch } from './harness/watch-streams.js';

const accounts: Record<string, IdpAccount> = {
  alice: { preferred_username: 'alice', groups: ['hpc-users'], project: 'p-astro' },
  bob: { preferred_username: 'bob', groups: [] },
  carol: { preferred_username: 'carol', groups: ['hpc-users'] },
  dave: { preferred_username: 'dave', groups: ['hpc-users'] },
};
/** auth.session.revalidate of revalHub. */
const REVALIDATE = 2_000;

let pki: TestPki;
let idp: TestIdp;
let hub: StandaloneHub;
let badSecretHub: StandaloneHub;
/** Re-checks its sessions every 2 s (auth.session.revalidate). */
let revalHub: StandaloneHub;
let client: IdpClient;

const hubConfig = (secret: string) => ({
  sso: { oidc: { issuer: idp.issuer, client_id: 'sfleet', client_secret: secret, ca: idp.caFile, scopes: ['openid', 'profile'] } },
});

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  const dir = mkdtempSync(join(tmpdir(), `sfleet-oidc-login-${process.pid}-`));
  hub = await new StandaloneHub(join(dir, 'hub'), pki, {}).ports();
  badSecretHub = await new StandaloneHub(join(dir, 'bad-secret'), pki, {}).ports();
  revalHub = await new StandaloneHub(join(dir, 'revalidate'), pki, {}).ports();
  client = {
    client_id: 'sfleet',
    client_secret: 'sfleet-client-secret-0123456789',
    redirect_uris: [hub, badSecretHub, revalHub].map((h) => `${h.url}/api/v1/auth/oidc/callback`),
  };
  idp = await new TestIdp(accounts, [client]).start();
  idp.issueRefreshTokens = true;
  Object.assign(hub.extra, hubConfig(client.client_secret));
  Object.assign(badSecretHub.extra, hubConfig('not-the-secret'));
  Object.assign(revalHub.extra, hubConfig(client.client_secret), {
    auth: { session: { revalidate: `${REVALIDATE / 1000}s` } },
    rbac: { bindings: [{ group: 'hpc-users', role: 'viewer' }] },
  });
  await Promise.all([hub.start(), badSecretHub.start(), revalHub.start()]);
});

afterAll(async () => {
  await hub?.stop();
  await badSecretHub?.stop();
  await revalHub?.stop();
  await idp?.stop();
});

/** Starts a login at `h` and signs in at the IdP; answers the callback URL the IdP sends the browser to. */
async function loginUntilCallback(browser: Browser, h: StandaloneHub, user: string): Promise<string> {
  const start = await browser.fetch(`${h.url}/api/v1/auth/oidc/login`);
  expect(start.status).toBe(302);
  return idp.signIn(browser, start.location!, user, `${h.url}/api/v1/auth/oidc/callback`);
}

describe('OIDC browser login (authorization code + PKCE)', () => {
  it('redirects to the issuer with state, nonce and an S256 code challenge, never the verifier', async () => {
    const res = await new Browser([pki.ca]).fetch(`${hub.url}/api/v1/auth/oidc/login`);
    expect(res.status).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    const to = new URL(res.location!);
    expect(`${to.origin}${to.pathname}`).toBe(`${idp.issuer}/auth`);
    const p = Object.fromEntries(to.searchParams);
    expect(p).toMatchObject({ response_type: 'code', client_id: 'sfleet', redirect_uri: `${hub.url}/api/v1/auth/oidc/callback`, scope: 'openid profile', code_challenge_method: 'S256' });
    expect(p.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.code_verifier).toBeUndefined();
  });

  it('signs alice in: a session cookie (HttpOnly, Secure, SameSite=Strict) and a token that both work; the callback cannot be replayed', async () => {
    const browser = new Browser([pki.ca, idp.caFile]);
    const callback = await loginUntilCallback(browser, hub, 'alice');
    const done = await browser.fetch(callback, { headers: { accept: 'application/json' } });
    expect(done.status, done.body).toBe(200);
    const body = JSON.parse(done.body);
    expect(body).toMatchObject({ user: 'alice', groups: ['hpc-users'], project: 'p-astro' });
    registerSecret(body.session_token, 'OIDC session token of alice');
    expect(body.session_token).toMatch(/^sfs_/);
    expect(Date.parse(body.expires_at)).toBeGreaterThan(Date.now());
    // The session cookie, once; beside it the CSRF cookie the dashboard reads (issue 12).
    const cookies = ([] as string[]).concat(done.headers['set-cookie'] ?? []);
    const sessions = cookies.filter((c) => c.startsWith('sfleet_session='));
    expect(sessions).toEqual([expect.stringContaining(`sfleet_session=${body.session_token}`)]);
    expect(sessions[0]).toMatch(/; HttpOnly; Secure; SameSite=Strict; Max-Age=28800$/);
    expect(cookies.filter((c) => c.startsWith('sfleet_csrf='))).toHaveLength(1);

    const expected = { name: 'alice', method: 'oidc', kind: 'user', groups: ['hpc-users'], attributes: { project: 'p-astro' } };
    const viaCookie = await hub.get('/api/v1/auth/whoami', { cookie: `theme=dark; sfleet_session=${browser.cookie(hub.url, 'sfleet_session')}` });
    expect(viaCookie.json).toMatchObject(expected);
    expect((await hub.get('/api/v1/auth/whoami', { bearer: body.session_token })).json).toMatchObject(expected);
    expect((await hub.get('/api/v1/jobs', { bearer: body.session_token })).status).toBe(200);

    const replay = await browser.fetch(callback, { headers: { accept: 'application/json' } });
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.body).detail).toBe('OIDC login state unknown, used or expired: start again at /api/v1/auth/oidc/login');
  });

  it('shows a person a small page naming the user', async () => {
    const browser = new Browser([pki.ca, idp.caFile]);
    const done = await browser.fetch(await loginUntilCallback(browser, hub, 'bob'));
    expect(done.status).toBe(200);
    expect(done.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(done.body).toContain('Signed in to slurmfleet as <b>bob</b>');
    expect(done.body).not.toContain('sfs_');
    expect((await hub.get('/api/v1/auth/whoami', { cookie: `sfleet_session=${browser.cookie(hub.url, 'sfleet_session')}` })).json.name).toBe('bob');
  });

  it('refuses a callback with a state this hub never issued, and a login the user aborted at the IdP', async () => {
    const forged = await hub.get('/api/v1/auth/oidc/callback?code=abc&state=forged');
    expect(forged.status).toBe(401);
    expect(forged.json.detail).toMatch(/^OIDC login state unknown, used or expired/);

    const browser = new Browser([pki.ca, idp.caFile]);
    const start = await browser.fetch(`${hub.url}/api/v1/auth/oidc/login`);
    const page = await browser.follow(start.location!);
    expect('url' in page && page.status).toBe(200);
    const interaction = new URL((page as { url: string }).url);
    const aborted = await browser.follow(`${interaction.origin}${interaction.pathname}/abort`, `${hub.url}/api/v1/auth/oidc/callback`);
    expect('stoppedAt' in aborted).toBe(true);
    const res = await browser.fetch((aborted as { stoppedAt: string }).stoppedAt, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).detail).toBe('the identity provider refused the login: access_denied (End-User aborted interaction)');
    expect(browser.cookie(hub.url, 'sfleet_session')).toBeUndefined();
  });

  it('reports a code exchange the IdP refuses (wrong client secret) without opening a session', async () => {
    const browser = new Browser([pki.ca, idp.caFile]);
    const res = await browser.fetch(await loginUntilCallback(browser, badSecretHub, 'alice'), { headers: { accept: 'application/json' } });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).detail).toMatch(/^the identity provider refused the authorization code: invalid_client/);
    expect(res.body).not.toContain('not-the-secret');
    expect(browser.cookie(badSecretHub.url, 'sfleet_session')).toBeUndefined();
    // Secrets stay out of the logs, whatever happened.
    expect(badSecretHub.log()).not.toContain('not-the-secret');
    expect(hub.log()).not.toContain(client.client_secret);
  });
});

describe('OIDC sessions are re-checked every auth.session.revalidate (issue 12)', () => {
  async function signIn(user: string): Promise<{ token: string; expiresAt: number; cookies: string[] }> {
    const browser = new Browser([pki.ca, idp.caFile]);
    const done = await browser.fetch(await loginUntilCallback(browser, revalHub, user), { headers: { accept: 'application/json' } });
    expect(done.status, done.body).toBe(200);
    const body = JSON.parse(done.body) as { session_token: string; expires_at: string };
    registerSecret(body.session_token, `OIDC session token of ${user} (revalidate)`);
    return { token: body.session_token, expiresAt: Date.parse(body.expires_at), cookies: ([] as string[]).concat(done.headers['set-cookie'] ?? []) };
  }
  const roles = async (token: string) => ((await revalHub.get('/api/v1/auth/whoami', { bearer: token })).json as { roles: { role: string }[] }).roles.map((r) => r.role);

  it('changed groups narrow the session and end its watch; a removed account loses its session; the refresh token never leaves the hub', async () => {
    idp.issueRefreshTokens = true;
    const carol = await signIn('carol');
    expect(await roles(carol.token)).toEqual(['viewer']);
    const watch = sseWatch(revalHub, pki.ca, { headers: { authorization: `Bearer ${carol.token}` } });
    await waitFor('the watch opens', () => watch.text().includes('watching since'), 10_000);

    // The IdP takes carol out of hpc-users: the refreshed ID token says so within the interval.
    accounts.carol.groups = [];
    await waitFor('the watch ends', () => watch.ended() > 0, REVALIDATE + 15_000, 50);
    expect(watch.text()).toMatch(/SF_WATCH_ENDED/);
    const narrowed = await revalHub.get('/api/v1/auth/whoami', { bearer: carol.token });
    expect(narrowed.status).toBe(200);
    expect(narrowed.json).toMatchObject({ name: 'carol', method: 'oidc', groups: [] });
    expect(await roles(carol.token)).toEqual([]);

    // The IdP account goes away: the refresh is refused and the session ends.
    delete accounts.carol;
    const ended = await waitFor('the session ends', async () => {
      const r = await revalHub.get('/api/v1/auth/whoami', { bearer: carol.token });
      return r.status === 401 ? r : undefined;
    }, REVALIDATE + 15_000, 200);
    expect(ended.json.detail).toMatch(/identity provider no longer accepts this login/);
    expect(revalHub.log()).toMatch(/OIDC session re-check: the identity provider refused the refresh token/);
    // The refresh token is kept in sessions.json beside hashes; never in the log.
    expect(revalHub.log()).not.toMatch(/refresh_token|client-secret/);
  });

  it('a login without a refresh token lasts one re-check interval, then the user logs in again', async () => {
    idp.issueRefreshTokens = false;
    try {
      const before = Date.now();
      const dave = await signIn('dave');
      // It works (nothing to re-check it with, so it is not ended early)...
      expect((await revalHub.get('/api/v1/auth/whoami', { bearer: dave.token })).json).toMatchObject({ name: 'dave', method: 'oidc' });
      // ...for one interval: the session and its cookie end then.
      expect(dave.expiresAt - before).toBeLessThanOrEqual(REVALIDATE + 1_000);
      expect(dave.cookies.find((c) => c.startsWith('sfleet_session='))).toMatch(/Max-Age=2$/);
      await waitFor('the session ends', async () => ((await revalHub.get('/api/v1/auth/whoami', { bearer: dave.token })).status === 401 ? true : undefined), REVALIDATE + 15_000, 200);
    } finally {
      idp.issueRefreshTokens = true;
    }
  });
});
