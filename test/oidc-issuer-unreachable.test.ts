// An OIDC issuer that is down does not take the hub down: the hub starts, says so in /readyz,
// answers OIDC tokens with a clear 503 while other sign-in methods keep working, and picks the
// issuer up once it answers. Later outages: cached keys keep verifying; a key it cannot fetch
// is a 503 naming the issuer, not a crash.
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSigningKey, TestIdp, type IdpClient } from './harness/oidc-idp.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { StandaloneHub } from './harness/standalone-hub.js';

const sfleet: IdpClient = { client_id: 'sfleet', client_secret: 'sfleet-client-secret-0123456789', redirect_uris: ['https://127.0.0.1/unused'] };

let pki: TestPki;
let idpPki: TestPki;
let idp: TestIdp;
let hub: StandaloneHub;
let untrusting: StandaloneHub;
let silentHub: StandaloneHub;
let silent: Server;
const silentSockets: Socket[] = [];

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  idpPki = await makePki('idp.test');
  idp = new TestIdp({ alice: { preferred_username: 'alice' } }, [sfleet], await freePort());
  const dir = mkdtempSync(join(tmpdir(), `sfleet-oidc-down-${process.pid}-`));
  const oidc = { issuer: `https://127.0.0.1:${idp.port}`, client_id: 'sfleet', client_secret: sfleet.client_secret, retry_max_delay: '500ms', jwks_refetch_cooldown: '100ms' };
  hub = new StandaloneHub(join(dir, 'hub'), pki, { sso: { oidc: { ...oidc, ca: idpPki.ca, timeout: '2s' } } });
  // The same issuer, but its TLS certificate is not trusted (no `ca`: the system store).
  untrusting = new StandaloneHub(join(dir, 'untrusting'), pki, { sso: { oidc } });
  // An issuer that accepts connections and never answers.
  silent = createServer((socket) => silentSockets.push(socket));
  const silentPort = await freePort();
  await new Promise<void>((resolve) => silent.listen(silentPort, '127.0.0.1', resolve));
  silentHub = new StandaloneHub(join(dir, 'silent'), pki, { sso: { oidc: { ...oidc, issuer: `https://127.0.0.1:${silentPort}`, ca: idpPki.ca, timeout: '500ms' } } });
  await Promise.all([hub.start(), untrusting.start(), silentHub.start()]);
});

afterAll(async () => {
  await hub?.stop();
  await untrusting?.stop();
  await silentHub?.stop();
  for (const socket of silentSockets) socket.destroy();
  silent?.close();
  await idp?.stop();
});

async function someJwt(): Promise<string> {
  const key = await newSigningKey('k');
  return new SignJWT({ preferred_username: 'alice' }).setProtectedHeader({ alg: 'RS256', kid: 'k' }).setIssuer(`https://127.0.0.1:${idp.port}`).setAudience('sfleet').setExpirationTime('5m').sign(await importJWK(key, 'RS256'));
}

describe('OIDC issuer unreachable', () => {
  it('at startup: the hub serves, /readyz names the problem, OIDC tokens get a clear 503, client certificates still work', async () => {
    const ready = await hub.get('/readyz', { clientCert: true });
    expect(ready.status).toBe(200);
    expect(ready.json.checks.oidc).toMatch(/^issuer unreachable: https:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration: connect ECONNREFUSED 127\.0\.0\.1:\d+; retrying$/);

    const res = await hub.get('/api/v1/jobs', { bearer: await someJwt() });
    expect(res.status).toBe(503);
    expect(res.json.code).toBe('SF_AUTH_IDP_UNAVAILABLE');
    expect(res.json.detail).toMatch(new RegExp(`^OIDC issuer https://127\\.0\\.0\\.1:${idp.port} is unreachable: .*ECONNREFUSED`));

    const login = await hub.get('/api/v1/auth/oidc/login');
    expect(login.status).toBe(503);

    expect((await hub.get('/api/v1/jobs', { clientCert: true })).status).toBe(200);
    expect((await hub.get('/api/v1/jobs', { bearer: 'garbage' })).status).toBe(401);
  });

  it('an issuer that never answers is reported after sso.oidc.timeout', async () => {
    // The first discovery attempt is still waiting out its 500 ms right after the hub starts.
    const silent = /^issuer unreachable: https:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration: no answer within 500ms; retrying$/;
    const status = await waitFor('the timeout reported', async () => {
      const s = (await silentHub.get('/readyz', { clientCert: true })).json.checks.oidc as string;
      return silent.test(s) && s;
    }, 15_000, 100);
    expect(status).toMatch(silent);
    const res = await silentHub.get('/api/v1/jobs', { bearer: await someJwt() });
    expect(res.status).toBe(503);
    expect(res.json.detail).toMatch(/is unreachable: .*no answer within 500ms$/);
  });

  it('picks the issuer up once it answers, without a restart', async () => {
    await idp.start(undefined, idpPki);
    await waitFor('the hub to discover the issuer', async () => (await hub.get('/readyz', { clientCert: true })).json.checks.oidc === `ready (issuer ${idp.issuer})`, 15_000, 200);
    const tokens = await idp.tokensFor('alice', sfleet);
    expect((await hub.get('/api/v1/auth/whoami', { bearer: tokens.id_token })).json).toMatchObject({ name: 'alice', method: 'oidc' });
  });

  it('an issuer whose TLS certificate is not trusted is reported as such', async () => {
    // Runs while the issuer is up: the hub reaches it, but refuses its certificate.
    const untrusted = /^issuer unreachable: https:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration: (self-signed certificate in certificate chain|unable to verify the first certificate|unable to get local issuer certificate); retrying$/;
    const status = await waitFor('a TLS refusal', async () => {
      const s = (await untrusting.get('/readyz', { clientCert: true })).json.checks.oidc as string;
      return untrusted.test(s) && s;
    }, 15_000, 200);
    expect(status).toMatch(untrusted);
    expect((await untrusting.get('/api/v1/jobs', { bearer: await someJwt() })).status).toBe(503);
  });

  it('later: cached keys keep verifying while the issuer is down; a new key that cannot be fetched is a 503', async () => {
    const cached = await idp.tokensFor('alice', sfleet);
    expect((await hub.get('/api/v1/jobs', { bearer: cached.id_token })).status).toBe(200);
    await idp.rotateKeys({ keepOld: true });
    const unseen = await idp.tokensFor('alice', sfleet);
    await idp.stop();

    expect((await hub.get('/api/v1/jobs', { bearer: cached.id_token })).status).toBe(200);
    const res = await hub.get('/api/v1/jobs', { bearer: unseen.id_token });
    expect(res.status).toBe(503);
    expect(res.json.detail).toMatch(new RegExp(`^cannot fetch the signing keys of OIDC issuer https://127\\.0\\.0\\.1:${idp.port}: .*ECONNREFUSED`));
    expect((await hub.get('/readyz', { clientCert: true })).json.checks.oidc).toMatch(/^ready \(issuer https:\/\/127\.0\.0\.1:\d+; last key refresh failed: .*ECONNREFUSED/);
    expect((await hub.get('/api/v1/jobs', { clientCert: true })).status).toBe(200);
  });
});
