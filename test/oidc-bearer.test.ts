// OIDC bearer tokens against a real hub process and a real OpenID Provider (oidc-provider over
// TLS, its own keys): tokens it issues are accepted and mapped to user, groups and project;
// every kind of bad token is refused with a clear reason; the issuer's key rollover reaches the
// hub without a restart.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_RESOURCE, newSigningKey, TestIdp, type IdpClient } from './harness/oidc-idp.js';
import { makePki, type TestPki } from './harness/pki.js';
import { waitFor } from './harness/wait.js';
import { assertBuilt, sfleet as sfleetCli } from './harness/sfleet-process.js';
import { StandaloneHub } from './harness/standalone-hub.js';

const accounts = {
  alice: { preferred_username: 'alice', groups: ['hpc-users', 'physics'], project: 'p-astro' },
  bob: { preferred_username: 'bob', groups: ['hpc-admins'] },
};
const sfleet: IdpClient = { client_id: 'sfleet', client_secret: 'sfleet-client-secret-0123456789', redirect_uris: ['https://127.0.0.1/unused'] };
const other: IdpClient = { client_id: 'other-app', client_secret: 'other-client-secret-0123456789', redirect_uris: ['https://other.example/cb'] };

let pki: TestPki;
let idp: TestIdp;
let hub: StandaloneHub;

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  idp = await new TestIdp(accounts, [sfleet, other]).start();
  hub = await new StandaloneHub(
    mkdtempSync(join(tmpdir(), `sfleet-oidc-${process.pid}-`)),
    pki,
    {
      sso: {
        oidc: {
          enabled: true,
          issuer: idp.issuer,
          client_id: '${OIDC_CLIENT_ID}',
          client_secret: '${OIDC_CLIENT_SECRET}',
          ca: idp.caFile,
          audience: ['sfleet', HUB_RESOURCE],
          clock_skew: '1s',
          jwks_refetch_cooldown: '100ms',
          claims: { user: 'preferred_username', groups: 'groups', project: 'project' },
        },
      },
    },
    { ...process.env, OIDC_CLIENT_ID: sfleet.client_id, OIDC_CLIENT_SECRET: sfleet.client_secret },
  ).start();
});

afterAll(async () => {
  await hub?.stop();
  await idp?.stop();
});

const problem = (res: { status: number; json: any; headers: Record<string, unknown> }) => ({ status: res.status, type: res.headers['content-type'], code: res.json?.code, detail: res.json?.detail });

describe('OIDC bearer tokens', () => {
  it('accepts the ID token and the JWT access token the provider issues, mapping claims to user, groups and project', async () => {
    const tokens = await idp.tokensFor('alice', sfleet);
    expect(decodeJwt(tokens.access_token).aud).toBe(HUB_RESOURCE);
    for (const token of [tokens.id_token, tokens.access_token]) {
      const jobs = await hub.get('/api/v1/jobs', { bearer: token });
      expect(jobs.status, jobs.body).toBe(200);
      const me = await hub.get('/api/v1/auth/whoami', { bearer: token });
      expect(me.json).toMatchObject({ name: 'alice', method: 'oidc', kind: 'user', groups: ['hpc-users', 'physics'], attributes: { project: 'p-astro' } });
    }
    const bob = await idp.tokensFor('bob', sfleet);
    expect((await hub.get('/api/v1/auth/whoami', { bearer: bob.id_token })).json).toMatchObject({ name: 'bob', groups: ['hpc-admins'], attributes: {} });
    // The checks are for fleet-wide callers (issue 14: anonymous /readyz says ready or not only).
    expect((await hub.get('/readyz')).json).toEqual({ status: 'ready' });
    expect((await hub.get('/readyz', { clientCert: true })).json.checks.oidc).toBe(`ready (issuer ${idp.issuer})`);
  });

  it('works from the CLI: sfleet --token <OIDC token>, and a refused token reads as its reason', async () => {
    const tokens = await idp.tokensFor('alice', sfleet);
    const env = { ...process.env, SFLEET_HUB: hub.url, SFLEET_CA: pki.ca, SFLEET_TOKEN: tokens.access_token };
    expect(JSON.parse(await sfleetCli(['jobs', '-o', 'json'], env))).toEqual([]);
    const foreign = await idp.tokensFor('alice', other);
    await expect(sfleetCli(['jobs'], { ...env, SFLEET_TOKEN: foreign.id_token })).rejects.toThrow(/token audience "other-app" is not this hub/);
  });

  it('refuses a token issued to another application (wrong audience)', async () => {
    const tokens = await idp.tokensFor('alice', other);
    const res = await hub.get('/api/v1/jobs', { bearer: tokens.id_token });
    expect(problem(res)).toEqual({
      status: 401,
      type: 'application/problem+json; charset=utf-8',
      code: 'SF_AUTH_UNAUTHENTICATED',
      detail: `token audience "other-app" is not this hub (expected one of ["sfleet","${HUB_RESOURCE}"])`,
    });
  });

  it('refuses an expired token, naming when it expired', async () => {
    idp.tokenTtl = 1;
    let tokens;
    try {
      tokens = await idp.tokensFor('alice', sfleet);
    } finally {
      idp.tokenTtl = 3600;
    }
    const exp = decodeJwt(tokens.id_token).exp!;
    // Past exp plus the configured 1s skew.
    await waitFor('the token to expire', () => Date.now() > (exp + 1) * 1000 + 100, 10_000, 100);
    const res = await hub.get('/api/v1/jobs', { bearer: tokens.id_token });
    expect(problem(res)).toMatchObject({ status: 401, detail: `token expired at ${new Date(exp * 1000).toISOString()}` });
  });

  it('refuses a token from another issuer even when it is signed with a key this issuer publishes', async () => {
    const impostor = await new TestIdp(accounts, [sfleet], 0, 'idp').start(idp.keys);
    try {
      const tokens = await impostor.tokensFor('alice', sfleet);
      const res = await hub.get('/api/v1/jobs', { bearer: tokens.id_token });
      expect(problem(res)).toMatchObject({ status: 401, detail: `token issuer "${impostor.issuer}" is not the configured OIDC issuer "${idp.issuer}"` });
    } finally {
      await impostor.stop();
    }
  });

  it('refuses alg "none", HMAC-signed tokens, foreign keys and garbage', async () => {
    const genuine = await idp.tokensFor('alice', sfleet);
    const claims = decodeJwt(genuine.id_token);
    const { kid } = decodeProtectedHeader(genuine.id_token);

    const unsigned = new UnsecuredJWT(claims).encode();
    expect(problem(await hub.get('/api/v1/jobs', { bearer: unsigned }))).toMatchObject({ status: 401, detail: 'unsigned JWT (alg "none") refused: tokens must be signed by the OIDC issuer' });

    // HS256 "signed" with the issuer's public key material: the classic key-confusion attack.
    const hmac = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(JSON.stringify(idp.keys[0].n)));
    expect(problem(await hub.get('/api/v1/jobs', { bearer: hmac }))).toMatchObject({ status: 401, detail: "JWT signed with HS256 (a shared secret) refused: only the OIDC issuer's public-key signatures are accepted" });

    const foreign = await newSigningKey('attacker-key');
    const foreignKey = await importJWK(foreign, 'RS256');
    const unknownKid = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'attacker-key' }).sign(foreignKey);
    expect(problem(await hub.get('/api/v1/jobs', { bearer: unknownKid }))).toMatchObject({ status: 401, detail: 'token signed by a key the OIDC issuer does not publish (kid "attacker-key")' });
    const stolenKid = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(foreignKey);
    expect(problem(await hub.get('/api/v1/jobs', { bearer: stolenKid }))).toMatchObject({ status: 401, detail: `token signature does not verify with the OIDC issuer's key (kid "${kid}")` });

    // A genuine token with one claim changed: the signature no longer covers it.
    const [h, , s] = genuine.id_token.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, preferred_username: 'root' })).toString('base64url')}.${s}`;
    expect(problem(await hub.get('/api/v1/jobs', { bearer: tampered }))).toMatchObject({ status: 401, detail: `token signature does not verify with the OIDC issuer's key (kid "${kid}")` });

    expect(problem(await hub.get('/api/v1/jobs', { bearer: 'eyJnot-json.eyJ.x' }))).toMatchObject({ status: 401, code: 'SF_AUTH_UNAUTHENTICATED', detail: expect.stringMatching(/^malformed JWT: /) });
    expect(problem(await hub.get('/api/v1/jobs', { bearer: 'garbage' }))).toMatchObject({ status: 401, detail: 'invalid, expired or revoked token' });

    // Nothing of that broke anything: the genuine token still works.
    expect((await hub.get('/api/v1/jobs', { bearer: genuine.id_token })).status).toBe(200);
  });

  it('follows a key rollover at the issuer without a restart', async () => {
    const before = await idp.tokensFor('alice', sfleet);
    expect((await hub.get('/api/v1/jobs', { bearer: before.id_token })).status).toBe(200);

    const fresh = await idp.rotateKeys({ keepOld: true });
    // The hub refetches the key set for an unknown key id at most once per jwks_refetch_cooldown
    // (100 ms here): a token of a key it has not seen, sooner than that after its last fetch, is
    // refused by design. A real rollover is minutes apart; wait the cooldown out.
    await new Promise((r) => setTimeout(r, 150));
    const after = await idp.tokensFor('alice', sfleet);
    expect(decodeProtectedHeader(after.id_token).kid).toBe(fresh.kid);
    expect((await hub.get('/api/v1/jobs', { bearer: after.id_token })).status).toBe(200);
    expect((await hub.get('/api/v1/jobs', { bearer: before.id_token })).status).toBe(200);

    // The old key retired: its tokens stop working once the hub refetches the key set.
    await idp.rotateKeys({ keepOld: false });
    await new Promise((r) => setTimeout(r, 150));
    const latest = await idp.tokensFor('alice', sfleet);
    expect((await hub.get('/api/v1/jobs', { bearer: latest.id_token })).status).toBe(200);
    const old = await hub.get('/api/v1/jobs', { bearer: before.id_token });
    expect(problem(old)).toMatchObject({ status: 401, detail: `token signed by a key the OIDC issuer does not publish (kid "${decodeProtectedHeader(before.id_token).kid}")` });
  });
});
