// The dashboard's Kerberos route behind the real policy gate and error rendering (buildHttpApi),
// with tokens made under a known service key (token-fixture.ts). The real KDC and Chromium are in
// test/kerberos-browser-login.test.ts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/logging/index.js';
import { buildHttpApi } from '../../api/rest/server.js';
import { CommandRouter } from '../../commands/index.js';
import { FleetState } from '../../fleet/index.js';
import { Authenticator, TokenStore } from '../../policy/index.js';
import { WatchFeed } from '../../watch/index.js';
import { MemorySessionStore } from '../sessions/index.js';
import { kerberosConfigSchema } from './config.js';
import { startKerberos } from './kerberos-login.js';
import { keytabFile, T0, token } from './token-fixture.js';

async function hub() {
  const dir = mkdtempSync(join(tmpdir(), 'krb-browser-'));
  writeFileSync(join(dir, 'hub.keytab'), keytabFile());
  const sessions = new MemorySessionStore(() => T0);
  const kerberos = startKerberos(kerberosConfigSchema.parse({ keytab_file: join(dir, 'hub.keytab'), require_directory_account: false }), { sessions, logger: silentLogger(), now: () => T0 });
  const state = new FleetState();
  const { app } = await buildHttpApi({
    logger: silentLogger(),
    extraRoutes: [(a) => kerberos.registerRoutes(a)],
    authenticator: new Authenticator(new TokenStore(mkdtempSync(join(tmpdir(), 't-')))),
    state,
    commands: new CommandRouter({ timeoutMs: 1000 }),
    watch: new WatchFeed(state),
    readiness: () => ({ ready: true, checks: {} }),
  });
  return { app, sessions };
}

const cookies = (h: string | string[] | undefined) => (Array.isArray(h) ? h : h ? [h] : []);

describe('GET /api/v1/auth/kerberos/login (the dashboard)', () => {
  it('a ticket: the session and CSRF cookies and a page on to next; the same token again gets the refused page', async () => {
    const { app, sessions } = await hub();
    const t = token();
    const ok = await app.inject({ method: 'GET', url: '/api/v1/auth/kerberos/login?next=%2Fjobs%3Fstate%3DPENDING', headers: { authorization: t, accept: 'text/html' } });
    expect(ok.statusCode).toBe(200);
    const set = cookies(ok.headers['set-cookie']);
    const session = /^sfleet_session=(sfs_[^;]+); Path=\/; HttpOnly; Secure; SameSite=Strict/.exec(set.find((c) => c.startsWith('sfleet_session=')) ?? '')?.[1];
    expect(session).toBeDefined();
    expect(await sessions.get(session!)).toMatchObject({ name: 'alice', method: 'kerberos' });
    expect(set.some((c) => /^sfleet_csrf=\S{20,}/.test(c))).toBe(true);
    expect(ok.body).toContain('<meta http-equiv="refresh" content="0; url=/jobs?state=PENDING">');
    expect(ok.body).toContain('Signed in to slurmfleet as <b>alice</b>');

    const again = await app.inject({ method: 'GET', url: '/api/v1/auth/kerberos/login', headers: { authorization: t, accept: 'text/html' } });
    expect(again.statusCode).toBe(401);
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(again.body).toContain('<h1 data-kerberos="refused">Kerberos sign-in failed</h1>');
    await app.close();
  });

  it('no ticket: 401 Negotiate with a page that says so and links to the other methods (next kept); tools get the problem document', async () => {
    const { app } = await hub();
    const page = await app.inject({ method: 'GET', url: '/api/v1/auth/kerberos/login?next=%2Fnodes', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(401);
    expect(page.headers['www-authenticate']).toBe('Negotiate');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<h1 data-kerberos="no-ticket">No Kerberos ticket</h1>');
    expect(page.body).toContain('<a id="other-methods" href="/login?next=%2Fnodes">Other sign-in methods</a>');
    const tool = await app.inject({ method: 'GET', url: '/api/v1/auth/kerberos/login', headers: { accept: 'application/json' } });
    expect(tool.statusCode).toBe(401);
    expect(tool.json()).toMatchObject({ code: 'SF_AUTH_UNAUTHENTICATED', detail: expect.stringMatching(/Authorization: Negotiate/) });
    await app.close();
  });

  it('a next that leaves the hub is refused before any ticket is looked at', async () => {
    const { app } = await hub();
    const res = await app.inject({ method: 'GET', url: `/api/v1/auth/kerberos/login?next=${encodeURIComponent('//evil.example/')}`, headers: { authorization: token(), accept: 'text/html' } });
    expect(res.statusCode).toBe(400);
    expect(res.headers['set-cookie']).toBeUndefined();
    await app.close();
  });
});
