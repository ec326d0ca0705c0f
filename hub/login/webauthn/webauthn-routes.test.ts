// The WebAuthn routes in-process (fastify inject): what a client sees before any authenticator
// signs anything (the signed ceremonies run in Chromium: test/webauthn-browser.test.ts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/logging/index.js';
import { buildHttpApi } from '../../api/rest/index.js';
import { CommandRouter } from '../../commands/index.js';
import { FleetState } from '../../fleet/index.js';
import { Authenticator, TokenStore } from '../../policy/index.js';
import { MemoryDedupeStore, MemorySharedKvStore } from '../../replication/index.js';
import { WatchFeed } from '../../watch/index.js';
import { authConfigSchema, webauthnProvider } from '../config.js';
import { LocalUserSessionVerifier } from '../logins.js';
import { newTotpSecret, TotpVerifier } from '../local/totp.js';
import { LocalUserStore } from '../local/user-store.js';
import { MemoryLoginLimiter } from '../login-limiter.js';
import { LoginLimits } from '../login-limits.js';
import { LoginService } from '../login-service.js';
import { MemorySessionStore, SessionVerifier } from '../sessions/index.js';
import { ChallengeStore } from './challenge-store.js';
import { WebauthnFactor } from './webauthn-factor.js';

const PASSWORD = 'a long enough password';
const WEBAUTHN = { type: 'webauthn', rp_id: 'fleet.example.com', origins: ['https://fleet.example.com:8443'] };

async function build(providers: Record<string, unknown>[]) {
  const dir = mkdtempSync(join(tmpdir(), 'webauthn-api-'));
  const config = authConfigSchema.parse({ mfa: { enabled: true, required_for_local: true, providers } });
  const users = new LocalUserStore(dir, { N: 1024, r: 8, p: 1 });
  const sessions = new MemorySessionStore();
  const once = new MemoryDedupeStore();
  const w = webauthnProvider(config);
  const webauthn = w ? new WebauthnFactor(w, users, new ChallengeStore(new MemorySharedKvStore(), once, w.challenge_ttl)) : undefined;
  const login = new LoginService({
    config,
    sessions,
    limiter: new MemoryLoginLimiter(),
    limits: new LoginLimits(config.rate_limit),
    ...(providers.some((p) => p.type === 'totp') ? { totp: new TotpVerifier(once, 1) } : {}),
    ...(webauthn ? { webauthn } : {}),
    localUsers: users,
    logger: silentLogger(),
  });
  const tokens = new TokenStore(dir);
  const state = new FleetState();
  const logins = { sessions, login, ...(webauthn ? { webauthn } : {}), verifiers: [new LocalUserSessionVerifier(new SessionVerifier(sessions), users)] };
  const { app } = await buildHttpApi({
    logger: silentLogger(),
    authenticator: new Authenticator(tokens, logins.verifiers),
    logins,
    state,
    commands: new CommandRouter({ timeoutMs: 1000 }),
    watch: new WatchFeed(state),
    readiness: () => ({ ready: true, checks: {} }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
  });
  /** A session of a local user logged in with password + TOTP. */
  const sessionOf = async (name: string) => `Bearer ${await sessions.create({ name, method: 'local', role: 'user', groups: [], attributes: {} }, 60_000)}`;
  const post = (url: string, body: unknown, authorization?: string) => app.inject({ method: 'POST', url, payload: body as object, headers: authorization ? { authorization } : {} });
  return { app, users, tokens, sessionOf, post };
}

describe('WebAuthn routes', () => {
  it('registration options need a session of a password login and name the relying party and the user', async () => {
    const { users, tokens, sessionOf, post } = await build([{ type: 'totp' }, WEBAUTHN]);
    await users.add('alice', { password: PASSWORD, totpSecret: newTotpSecret() });
    expect((await post('/api/v1/auth/webauthn/registration/options', {})).statusCode).toBe(401);
    const service = await post('/api/v1/auth/webauthn/registration/options', {}, `Bearer ${tokens.create('ci').token}`);
    expect(service.statusCode).toBe(400);
    expect(service.json().detail).toMatch(/for password logins \(local or LDAP users\), not for a token credential/);
    const ok = await post('/api/v1/auth/webauthn/registration/options', { name: 'yubikey' }, await sessionOf('alice'));
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ registration_id: expect.any(String), public_key: { rp: { id: 'fleet.example.com', name: 'sfleet' }, user: { name: 'alice' }, challenge: expect.any(String) } });
  });

  it("a registration is finished only once and only by the user who started it", async () => {
    const { users, sessionOf, post } = await build([{ type: 'totp' }, WEBAUTHN]);
    await users.add('alice', { password: PASSWORD, totpSecret: newTotpSecret() });
    await users.add('mallory', { password: PASSWORD, totpSecret: newTotpSecret() });
    const started = (await post('/api/v1/auth/webauthn/registration/options', {}, await sessionOf('alice'))).json<{ registration_id: string }>();
    const credential = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } };
    const stolen = await post('/api/v1/auth/webauthn/registration', { registration_id: started.registration_id, credential }, await sessionOf('mallory'));
    expect(stolen.statusCode).toBe(401);
    expect(stolen.json()).toMatchObject({ code: 'SF_AUTH_WEBAUTHN_CHALLENGE', detail: expect.stringMatching(/start the registration again/) });
    // Spent by the refused attempt: the pending registration cannot be used afterwards either.
    const late = await post('/api/v1/auth/webauthn/registration', { registration_id: started.registration_id, credential }, await sessionOf('alice'));
    expect(late.json()).toMatchObject({ code: 'SF_AUTH_WEBAUTHN_CHALLENGE' });
    expect(users.get('alice')?.webauthn).toBeUndefined();
  });

  it('a garbled attestation is refused with the reason, and nothing is stored', async () => {
    const { users, sessionOf, post } = await build([{ type: 'totp' }, WEBAUTHN]);
    await users.add('alice', { password: PASSWORD, totpSecret: newTotpSecret() });
    const started = (await post('/api/v1/auth/webauthn/registration/options', {}, await sessionOf('alice'))).json<{ registration_id: string }>();
    const credential = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: Buffer.from('{"type":"webauthn.create"}').toString('base64url'), attestationObject: 'oA' } };
    const res = await post('/api/v1/auth/webauthn/registration', { registration_id: started.registration_id, credential }, await sessionOf('alice'));
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'SF_AUTH_WEBAUTHN_REFUSED', detail: expect.stringMatching(/^the authenticator's answer was refused: /) });
    expect(users.get('alice')?.webauthn).toBeUndefined();
  });

  it('an unknown login_id is refused; without a webauthn provider the step says WebAuthn is off', async () => {
    const on = await build([WEBAUTHN]);
    const credential = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: {} };
    const unknown = await on.post('/api/v1/auth/login/webauthn', { login_id: 'x'.repeat(24), credential });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toMatchObject({ code: 'SF_AUTH_WEBAUTHN_CHALLENGE', detail: 'the WebAuthn challenge is unknown, expired or used already: log in again' });
    const off = await build([{ type: 'totp' }]);
    const res = await off.post('/api/v1/auth/login/webauthn', { login_id: 'x'.repeat(24), credential });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/WebAuthn is not enabled on this hub/);
  });

  it('with only webauthn listed, a TOTP enrolment is no second factor: a user without a key is refused', async () => {
    const { users, post } = await build([WEBAUTHN]);
    await users.add('alice', { password: PASSWORD, totpSecret: newTotpSecret() });
    const res = await post('/api/v1/auth/login', { username: 'alice', password: PASSWORD, totp: '123456' });
    expect(res.statusCode).toBe(401);
    expect(res.json().detail).toMatch(/a second factor is required for this user and none is enrolled/);
  });

  it('serves the login page and its script, with a content security policy', async () => {
    const { app } = await build([WEBAUTHN]);
    const page = await app.inject({ method: 'GET', url: '/login' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.body).toContain('<script src="/login.js"');
    const script = await app.inject({ method: 'GET', url: '/login.js' });
    expect(script.headers['content-type']).toMatch(/text\/javascript/);
    expect(script.body).toContain('navigator.credentials.get');
  });
});
