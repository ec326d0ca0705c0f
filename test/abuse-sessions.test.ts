// Sessions that end (issue 12, item 4), against a real hub process and a real slapd: an open
// watch (SSE and gRPC) ends within a generous bound (5 s) when its session is logged out (by
// bearer, or by the dashboard's cookie, which needs an allowed Origin and the CSRF token), when
// the session expires, when its API token is revoked, and when the directory account behind an
// LDAP session loses its group or is removed (auth.session.revalidate, 2 s here). Certificate
// revocation and rbac reloads are tested in abuse-hub.test.ts and rbac-reload.test.ts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsFiles } from '../shared/tls/index.js';
import { httpsCall } from './harness/hub-child.js';
import { LDAP_PASSWORDS, LDAP_SUFFIX, LdapServer, SERVICE_DN } from './harness/ldap.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { registerSecret } from './harness/run-logs.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { sleep, waitFor } from './harness/wait.js';
import { grpcWatch, sseWatch, type OpenWatch } from './harness/watch-streams.js';

const PASSWORD = 'sessions that end 2026';
registerSecret(PASSWORD, 'password of the local users (abuse-sessions)');
const BOUND = 5_000;
/** auth.session.revalidate of this hub. */
const REVALIDATE = 2_000;
let pki: TestPki;
let ldap: LdapServer;
let hub: LoginHub;
let admin: TlsFiles;
let viewer: TlsFiles;
/** frank's session (ttl 1m, the shortest allowed) and its watch, opened first and checked last. */
let expiring: { watch: OpenWatch; expiresAt: number };

async function login(username: string, password: string, extra: Record<string, unknown> = {}): Promise<{ token: string; expiresAt: number; setCookie: string[] }> {
  const answer = await hub.login({ username, password, ...extra });
  expect(answer.status, answer.body).toBe(200);
  const body = answer.json<{ token: string; expires_at: string }>();
  registerSecret(body.token, `session of ${username} (abuse-sessions)`);
  return { token: body.token, expiresAt: Date.parse(body.expires_at), setCookie: ([] as string[]).concat(answer.headers['set-cookie'] ?? []) };
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function opened(...watches: OpenWatch[]): Promise<void> {
  await waitFor('the watches open', () => watches.every((w) => w.text().includes('watching since') || w.text() === '0 messages'), 10_000);
  // gRPC says nothing before the first change: give its call a moment to reach the hub.
  await sleep(1_000);
}

/** Waits for each watch to end and returns how long after `since` each did. */
async function endedWithin(since: number, ...watches: OpenWatch[]): Promise<number[]> {
  await waitFor('the watches ended', () => watches.every((w) => w.ended() > 0), BOUND + REVALIDATE + 10_000, 20);
  return watches.map((w) => w.ended() - since);
}

beforeAll(async () => {
  assertBuilt();
  [pki, ldap] = await Promise.all([makePki('sessions.sfleet'), LdapServer.create('sessions')]);
  admin = await pki.issue('client', 'admin');
  viewer = await pki.issue('client', 'viewer');
  hub = new LoginHub(
    mkdtempSync(join(tmpdir(), 'sfleet-abuse-sessions-')),
    pki,
    {
      auth: { session: { ttl: '1m', revalidate: `${REVALIDATE / 1000}s` } },
      sso: {
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
      rbac: {
        bindings: [
          { client: 'admin', role: 'admin' },
          { client: 'viewer', role: 'viewer' },
          ...['erin', 'frank', 'gina'].map((user) => ({ user, role: 'viewer' })),
          { group: 'hpc-users', role: 'viewer' },
        ],
      },
    },
    { ...process.env, SFLEET_TEST_LDAP_BIND_PW: LDAP_PASSWORDS.service },
  );
  for (const user of ['erin', 'frank', 'gina']) await sfleet(['user', 'add', user, '--data-dir', hub.dataDir], { ...process.env, SFLEET_USER_PASSWORD: PASSWORD });
  await hub.start();
  const frank = await login('frank', PASSWORD);
  expiring = { watch: sseWatch(hub, pki.ca, bearer(frank.token)), expiresAt: frank.expiresAt };
});

afterAll(async () => {
  await hub?.stop();
  await ldap?.stop();
});

describe('abuse: sessions that end', () => {
  it("logout ends the session's SSE and gRPC watches within 5 s, with the reason as the stream's last word", async () => {
    const { token } = await login('erin', PASSWORD);
    const sse = sseWatch(hub, pki.ca, bearer(token));
    const grpc = grpcWatch(hub, pki.ca, { cert: viewer, bearer: token });
    await opened(sse, grpc);
    const out = await hub.request('POST', '/api/v1/auth/logout', bearer(token));
    expect(out.status).toBe(204);
    for (const took of await endedWithin(Date.now(), sse, grpc)) expect(took).toBeLessThanOrEqual(BOUND);
    expect(sse.text()).toMatch(/event: error\ndata: .*SF_WATCH_ENDED.*session expired, revoked or unknown/);
    expect(grpc.error()?.details).toMatch(/session expired, revoked or unknown/);
    // And a new watch with it is refused.
    const again = await httpsCall(`${hub.httpUrl}/api/v1/watch`, { ca: pki.ca, headers: { authorization: `Bearer ${token}` }, timeoutMs: 10_000 });
    expect(again.status).toBe(401);
  });

  it("revoking an API token ends its watches within 5 s", async () => {
    const made = await httpsCall(`${hub.httpUrl}/api/v1/tokens`, { method: 'POST', body: { name: 'grafana', roles: ['viewer'] }, ca: pki.ca, cert: admin.cert, key: admin.key, timeoutMs: 10_000 });
    expect(made.status, made.body).toBe(201);
    const { id, token } = JSON.parse(made.body) as { id: string; token: string };
    registerSecret(token, 'API token grafana (abuse-sessions)');
    const sse = sseWatch(hub, pki.ca, bearer(token));
    const grpc = grpcWatch(hub, pki.ca, { cert: viewer, bearer: token });
    await opened(sse, grpc);
    const revoked = await httpsCall(`${hub.httpUrl}/api/v1/tokens/${id}`, { method: 'DELETE', ca: pki.ca, cert: admin.cert, key: admin.key, timeoutMs: 10_000 });
    expect(revoked.status, revoked.body).toBe(200);
    for (const took of await endedWithin(Date.now(), sse, grpc)) expect(took).toBeLessThanOrEqual(BOUND);
    expect(sse.text()).toMatch(/SF_WATCH_ENDED.*invalid, expired or revoked token/);
  });

  it("the dashboard's cookie logout needs an allowed Origin and the CSRF token: another site, the same host on another port, or no token are refused and end nothing", async () => {
    const { setCookie } = await login('gina', PASSWORD, { set_cookie: true });
    const cookie = setCookie.find((c) => c.startsWith('sfleet_session='))!.split(';', 1)[0];
    const csrf = setCookie.find((c) => c.startsWith('sfleet_csrf='))!.split(';', 1)[0].slice('sfleet_csrf='.length);
    const watch = sseWatch(hub, pki.ca, { headers: { cookie } });
    await opened(watch);
    const logout = (headers: Record<string, string>) => hub.request('POST', '/api/v1/auth/logout', { headers: { cookie, ...headers } });
    const own = `https://127.0.0.1:${hub.httpPort}`;
    const refusals: Record<string, string>[] = [{ origin: 'https://evil.example', 'x-csrf-token': csrf }, { origin: `https://127.0.0.1:${hub.httpPort + 1}`, 'x-csrf-token': csrf }, { origin: own }, {}];
    for (const headers of refusals) {
      const refused = await logout(headers);
      expect(refused.status).toBe(403);
      expect(refused.json()).toMatchObject({ code: 'SF_API_CROSS_SITE' });
    }
    // Refused, and audited as such; the session and its watch are untouched.
    expect(hub.auditRecords().filter((r) => r.action === 'auth:logout' && r.status === 403).length).toBeGreaterThanOrEqual(4);
    expect(watch.ended()).toBe(0);
    const out = await logout({ origin: own, 'x-csrf-token': csrf });
    expect(out.status).toBe(204);
    const cleared = ([] as string[]).concat(out.headers['set-cookie'] ?? []);
    expect(cleared).toEqual(expect.arrayContaining([expect.stringMatching(/^sfleet_session=; .*Max-Age=0/), expect.stringMatching(/^sfleet_csrf=; .*Max-Age=0/)]));
    const [took] = await endedWithin(Date.now(), watch);
    expect(took).toBeLessThanOrEqual(BOUND);
  });

  it('an LDAP user taken out of the group that gave her the watch loses it, and a removed account loses its session and watch, within auth.session.revalidate', async () => {
    const alice = await login('alice', LDAP_PASSWORDS.alice, { provider: 'ldap' });
    const bob = await login('bob', LDAP_PASSWORDS.bob, { provider: 'ldap' });
    const alices = sseWatch(hub, pki.ca, bearer(alice.token));
    const bobs = sseWatch(hub, pki.ca, bearer(bob.token));
    const bobsGrpc = grpcWatch(hub, pki.ca, { cert: viewer, bearer: bob.token });
    await opened(alices, bobs, bobsGrpc);
    await ldap.modify(`dn: cn=hpc-users,ou=groups,${LDAP_SUFFIX}\nchangetype: modify\ndelete: member\nmember: uid=alice,ou=people,${LDAP_SUFFIX}\n`);
    const [aliceTook] = await endedWithin(Date.now(), alices);
    expect(aliceTook).toBeLessThanOrEqual(REVALIDATE + BOUND);
    expect(alices.text()).toMatch(/SF_WATCH_ENDED/);
    // Her session stays (the account is there), with what her groups allow now: no watch.
    expect((await hub.request('GET', '/api/v1/watch', bearer(alice.token))).status).toBe(403);
    expect(bobs.ended()).toBe(0);

    await ldap.modify(`dn: uid=bob,ou=people,${LDAP_SUFFIX}\nchangetype: delete\n`);
    for (const took of await endedWithin(Date.now(), bobs, bobsGrpc)) expect(took).toBeLessThanOrEqual(REVALIDATE + BOUND);
    expect(bobs.text()).toMatch(/SF_WATCH_ENDED.*directory account no longer exists or is disabled/);
    const refused = await hub.request('GET', '/api/v1/clusters', bearer(bob.token));
    expect(refused.status).toBe(401);
    expect(hub.log()).toMatch(/session re-check: the directory account is gone or disabled/);
  });

  it('an expired session ends its watch at its expiry (its own timer, not the next re-check), within 5 s', async () => {
    const { watch, expiresAt } = expiring;
    expect(watch.text()).toContain('watching since');
    await waitFor("frank's session expired and his watch ended", () => watch.ended() > 0, Math.max(0, expiresAt - Date.now()) + BOUND + 10_000, 50);
    expect(watch.ended()).toBeGreaterThanOrEqual(expiresAt - 1_000);
    expect(watch.ended() - expiresAt).toBeLessThanOrEqual(BOUND);
    // The reason names the session's own expiry: the watch knew when its credential ends.
    const said = /SF_WATCH_ENDED.*the session expired at (\S+Z); log in again/.exec(watch.text());
    expect(said, watch.text()).not.toBeNull();
    expect(Math.abs(Date.parse(said![1]) - expiresAt)).toBeLessThanOrEqual(1_000);
  });
});
