// A hub group shares its logins through the security store in etcd (hub/security-store), with no
// Redis: a local user added with `sfleet user add --data-dir` on hub A logs in on hub B; a TOTP
// enrolment made on A is required by B; an OIDC browser login started on A (state, nonce and PKCE
// verifier) finishes on B; two hubs accepting the same WebAuthn counter at once leave one refused;
// a user added on A while etcd is down logs in on A at once and on B once etcd is back; A restarted
// while etcd is down starts from its last copy and says it is degraded.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from './harness/browser.js';
import { HaServices } from './harness/ha-services.js';
import { addTotpUser, LoginHub } from './harness/login-hub.js';
import { TestIdp, type IdpClient } from './harness/oidc-idp.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { registerSecret } from './harness/run-logs.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';
import { silentLogger } from '../shared/logging/index.js';
import { LocalUserStore, newTotpSecret } from '../hub/login/index.js';
import { EtcdSecurityStore, SharedUserDirectory } from '../hub/security-store/index.js';

const PASSWORD = 'break the glass 2026';
registerSecret(PASSWORD, 'password of the local users (security-store-logins)');
let pki: TestPki;
let services: HaServices;
let idp: TestIdp;
let a: LoginHub;
let b: LoginHub;
let work: string;
let callbackOnB: string;
/** What `sfleet user add|passwd|remove --data-dir` runs, in process and at a low scrypt cost (the first user goes through the CLI itself). */
const users = (hub: LoginHub) => new LocalUserStore(hub.dataDir, { N: 1024, r: 8, p: 1 });

beforeAll(async () => {
  assertBuilt();
  [pki, services] = await Promise.all([makePki(), HaServices.create('seclogins')]);
  work = mkdtempSync(join(tmpdir(), `security-store-logins-${process.pid}-`));
  const [pa, pb, ga, gb] = [await freePort(), await freePort(), await freePort(), await freePort()];
  // Behind a load balancer the IdP sends the browser back to whichever hub: here always to B.
  callbackOnB = `https://localhost:${pb}/api/v1/auth/oidc/callback`;
  const client: IdpClient = { client_id: 'sfleet', client_secret: 'sfleet-client-secret-0123456789', redirect_uris: [callbackOnB] };
  idp = await new TestIdp({ alice: { preferred_username: 'alice', groups: ['hpc-users'] } }, [client]).start();
  const extra = {
    etcd: { endpoints: services.etcdEndpoints, lease_ttl: '3s' },
    auth: { mfa: { enabled: true } },
    sso: { oidc: { issuer: idp.issuer, client_id: client.client_id, client_secret: client.client_secret, ca: idp.caFile, scopes: ['openid', 'profile'], redirect_uri: callbackOnB } },
  };
  // Two hubs starting at once on a loaded machine: more than the default 30 s to be ready.
  a = new LoginHub(join(work, 'hub-a'), pki, extra, process.env, { readyTimeoutMs: 120_000 });
  b = new LoginHub(join(work, 'hub-b'), pki, extra, process.env, { readyTimeoutMs: 120_000 });
  [a.httpPort, a.grpcPort, b.httpPort, b.grpcPort] = [pa, ga, pb, gb];
  await Promise.all([a.start(), b.start()]);
}, 240_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await idp?.stop();
  await services?.stop();
});

/** A login with a generous timeout: a full-cost scrypt (the CLI's user, an unknown user) takes seconds on a loaded machine. */
function login(hub: LoginHub, body: Record<string, unknown>) {
  return hub.request('POST', '/api/v1/auth/login', { body, timeoutMs: 60_000 });
}

/** B's users.json holds the user once B's copy of the group has it (each hub writes the group's users there). */
async function waitUntilKnownTo(hub: LoginHub, user: string, check: (u: ReturnType<LocalUserStore['get']>) => boolean = (u) => u !== undefined): Promise<void> {
  await waitFor(`${user} reaches ${hub.dir}`, async () => check(new LocalUserStore(hub.dataDir).get(user)), 10_000, 100);
}

describe('logins shared by a hub group through the security store (etcd, no Redis)', () => {
  it('a user added on A logs in on B with password and TOTP; a TOTP enrolment on A is required by B', async () => {
    const { secret } = await addTotpUser(a.dataDir, 'alice', PASSWORD);
    registerSecret(secret, 'TOTP secret of alice (security-store-logins)');
    await waitUntilKnownTo(b, 'alice');
    const withoutCode = await login(b, { username: 'alice', password: PASSWORD });
    expect(withoutCode.status).toBe(401);
    expect(withoutCode.json()).toMatchObject({ code: 'SF_AUTH_MFA_REQUIRED' });
    const ok = await login(b, { username: 'alice', password: PASSWORD, totp: await generate({ secret }) });
    expect(ok.status, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ user: 'alice' });

    // bob has a password only; TOTP enrolled later on A is then asked for by B.
    await users(a).add('bob', { password: PASSWORD });
    await waitUntilKnownTo(b, 'bob');
    expect((await login(b, { username: 'bob', password: PASSWORD })).status).toBe(200);
    const bobSecret = newTotpSecret();
    await users(a).update('bob', { totpSecret: bobSecret });
    registerSecret(bobSecret, 'TOTP secret of bob (security-store-logins)');
    await waitUntilKnownTo(b, 'bob', (u) => u?.totp_secret === bobSecret);
    const refused = await login(b, { username: 'bob', password: PASSWORD });
    expect(refused.status).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'SF_AUTH_MFA_REQUIRED' });
    expect((await login(b, { username: 'bob', password: PASSWORD, totp: await generate({ secret: bobSecret }) })).status).toBe(200);

    // Removed on B, the user can log in on neither hub.
    expect(users(b).remove('bob')).toBe(true);
    await waitUntilKnownTo(a, 'bob', (u) => u === undefined);
    expect((await login(a, { username: 'bob', password: PASSWORD, totp: await generate({ secret: bobSecret }) })).status).toBe(401);
    // Secrets stay out of the logs.
    for (const hub of [a, b]) for (const s of [PASSWORD, secret, bobSecret]) expect(hub.log()).not.toContain(s);
  });

  it('an OIDC login started on A finishes on B (state, nonce and PKCE verifier from the store), once', async () => {
    const browser = new Browser([pki.ca, idp.caFile]);
    const start = await browser.fetch(`${a.httpUrl}/api/v1/auth/oidc/login`);
    expect(start.status).toBe(302);
    const callback = await idp.signIn(browser, start.location!, 'alice', callbackOnB);
    expect(callback.startsWith(`${callbackOnB}?`)).toBe(true);
    const done = await browser.fetch(callback, { headers: { accept: 'application/json' } });
    expect(done.status, done.body).toBe(200);
    const body = JSON.parse(done.body) as { user: string; session_token: string };
    registerSecret(body.session_token, 'OIDC session token of alice (security-store-logins)');
    expect(body.user).toBe('alice');
    expect((await b.request('GET', '/api/v1/auth/whoami', { headers: { authorization: `Bearer ${body.session_token}` } })).json()).toMatchObject({ name: 'alice', method: 'oidc' });
    // The state is spent region-wide: the same callback is refused.
    const replay = await browser.fetch(callback, { headers: { accept: 'application/json' } });
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.body).detail).toMatch(/^OIDC login state unknown, used or expired/);
  });

  it('two hubs accepting the same WebAuthn counter at once: one is refused (compare-and-set in etcd)', async () => {
    const stores = ['x', 'y'].map((id) => {
      const dataDir = mkdtempSync(join(work, `cas-${id}-`));
      const store = new EtcdSecurityStore({ client: new Etcd3({ hosts: services.etcdEndpoints }), prefix: '/cas-test/', region: 'r1', dataDir, logger: silentLogger(), retryMs: 60_000 });
      return { store, users: new SharedUserDirectory(store, new LocalUserStore(dataDir, { N: 1024, r: 8, p: 1 }), silentLogger()) };
    });
    await Promise.all(stores.map((s) => s.store.start(10_000)));
    try {
      const [x, y] = stores;
      await x.users.addWebauthnCredential('carol', { id: 'key-1', public_key: 'pk', counter: 5, transports: [], name: 'key', created_at: new Date().toISOString() });
      await waitFor('y sees the key', async () => y.users.get('carol')?.webauthn?.[0]?.counter === 5, 5_000, 20);
      for (let round = 0; round < 5; round++) {
        const counter = 6 + round;
        const results = await Promise.all([x.users.useWebauthnCredential('carol', 'key-1', counter), y.users.useWebauthnCredential('carol', 'key-1', counter)]);
        expect(results.filter(Boolean)).toHaveLength(1);
      }
      await waitFor('both copies hold the last counter', async () => stores.every((s) => s.users.get('carol')?.webauthn?.[0]?.counter === 10), 5_000, 20);
      // An older counter is refused on either side.
      expect(await y.users.useWebauthnCredential('carol', 'key-1', 9)).toBe(false);
    } finally {
      await Promise.all(stores.map((s) => s.store.close()));
      for (const s of stores) s.users.close();
    }
  });

  it('while etcd is down both hubs answer from their last copy; a user added on A meanwhile logs in on A at once and on B once etcd is back; A restarted meanwhile starts degraded', async () => {
    await users(a).add('erin', { password: PASSWORD });
    await waitUntilKnownTo(b, 'erin');
    await Promise.all(['etcd1', 'etcd2', 'etcd3'].map((m) => services.kill(m as 'etcd1')));
    expect((await login(b, { username: 'erin', password: PASSWORD })).status).toBe(200);
    await users(a).add('dave', { password: PASSWORD });
    expect((await login(a, { username: 'dave', password: PASSWORD })).status).toBe(200);
    expect((await login(b, { username: 'dave', password: PASSWORD })).status).toBe(401);
    // A restarts while etcd is still down: it starts from its last copy (no crash loop) and says it is degraded.
    await a.stop();
    await a.start();
    const health = (await a.request('GET', '/healthz')).json<{ status: string; reasons: string[] }>();
    expect(health.status).toBe('degraded');
    expect(health.reasons).toContainEqual(expect.stringMatching(/^security store: etcd cannot be reached; logins, tokens and revocations answer from this hub's last copy/));
    expect(a.log()).toContain('etcd does not answer: this hub starts degraded from its last copy');
    expect((await login(a, { username: 'erin', password: PASSWORD })).status).toBe(200);
    expect((await login(a, { username: 'dave', password: PASSWORD })).status).toBe(200);
    const back = Date.now();
    await services.start();
    await waitUntilKnownTo(b, 'dave');
    console.log(`a user added during the outage reached B ${Date.now() - back} ms after etcd was started again`);
    expect((await login(b, { username: 'dave', password: PASSWORD })).status).toBe(200);
    expect(a.log()).toContain('a change in users.json waits for the shared security store');
    await waitFor('A is healthy again', async () => (await a.request('GET', '/healthz')).json<{ status: string }>().status === 'ok', 30_000, 200);
  });
});
