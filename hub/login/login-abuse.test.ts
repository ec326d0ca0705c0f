// The login limiter and MFA-as-enrolled through the real login endpoint (fastify inject, the
// audit hook, real scrypt hashes in the hash pool's threads).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { buildHttpApi } from '../api/rest/index.js';
import { AuditLog, auditConfigSchema } from '../audit/index.js';
import { CommandRouter } from '../commands/index.js';
import { FleetState } from '../fleet/index.js';
import { Authenticator, TokenStore } from '../policy/index.js';
import { MemoryDedupeStore } from '../replication/index.js';
import { WatchFeed } from '../watch/index.js';
import { authConfigSchema } from './config.js';
import { newTotpSecret, TotpVerifier } from './local/totp.js';
import { LocalUserStore } from './local/user-store.js';
import { MemoryLoginLimiter } from './login-limiter.js';
import { LoginLimits } from './login-limits.js';
import { LoginService } from './login-service.js';
import { LocalUserSessionVerifier } from './logins.js';
import { MemorySessionStore, SessionVerifier } from './sessions/index.js';

const PASSWORD = 'correct horse battery';

async function build(auth: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'login-abuse-'));
  const config = authConfigSchema.parse(auth);
  const users = new LocalUserStore(dir, { N: 2048, r: 8, p: 1 });
  const sessions = new MemorySessionStore();
  const audit = new AuditLog(auditConfigSchema.parse({ dir: join(dir, 'audit') }), { hubId: 'h', dataDir: dir, logger: silentLogger() });
  await audit.open();
  const login = new LoginService({ config, sessions, limiter: new MemoryLoginLimiter(), limits: new LoginLimits(config.rate_limit), totp: new TotpVerifier(new MemoryDedupeStore(), 1), localUsers: users, logger: silentLogger() });
  const state = new FleetState();
  const verifiers = [new LocalUserSessionVerifier(new SessionVerifier(sessions), users)];
  const tokens = new TokenStore(dir);
  const { app } = await buildHttpApi({
    logger: silentLogger(),
    authenticator: new Authenticator(tokens, verifiers),
    logins: { sessions, login, verifiers },
    state,
    commands: new CommandRouter({ timeoutMs: 1000 }),
    watch: new WatchFeed(state),
    readiness: () => ({ ready: true, checks: {} }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    audit,
  });
  const post = (body: object, ip = '192.0.2.10') => app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: body, remoteAddress: ip });
  const admin = { authorization: `Bearer ${tokens.create('root').token}` };
  return { app, users, audit, post, admin };
}

describe('login limiter through the login endpoint', () => {
  it('40 concurrent wrong logins: only max_failures_per_user are checked; a correct password inside the burst gets no further', async () => {
    const { app, users, post, audit } = await build({ rate_limit: { max_failures_per_user: 5, max_failures_per_source: 100, max_failures_per_ip: 1000 } });
    await users.add('alice', { password: PASSWORD });
    // From 40 addresses (a botnet): the per-user limit alone holds them.
    const wrong = Array.from({ length: 40 }, (_, i) => post({ username: 'alice', password: `guess ${i}` }, `198.51.100.${i + 1}`));
    const right = post({ username: 'alice', password: PASSWORD }, '203.0.113.5');
    const answers = await Promise.all([...wrong, right]);
    const statuses = answers.slice(0, 40).map((r) => r.statusCode);
    // At most 5 attempts were let through to the password check; all the others were refused before it.
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(35);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    const good = answers[40];
    // The correct password either took one of the 5 slots (then it is a success and the 5 include it) or was refused like the rest.
    expect([200, 429]).toContain(good.statusCode);
    expect(statuses.filter((s) => s === 401).length + (good.statusCode === 200 ? 1 : 0)).toBeLessThanOrEqual(5);
    // Once the failures are in, the right password is refused too until the lockout ends (or an admin unlocks).
    expect((await post({ username: 'alice', password: PASSWORD }, '203.0.113.5')).statusCode).toBe(429);
    const records = audit.query({ action: 'auth:login', limit: 100 }).items;
    expect(records.length).toBe(42);
    await app.close();
  });

  it('per-source backoff comes before the user lockout: a noisy address is held back, the user still logs in from elsewhere; a trusted source is not backed off', async () => {
    const { app, users, post } = await build({ rate_limit: { max_failures_per_user: 6, max_failures_per_source: 2, trusted_sources: ['10.9.0.0/16'] } });
    await users.add('bob', { password: PASSWORD });
    for (let i = 0; i < 2; i++) expect((await post({ username: 'bob', password: 'nope' }, '192.0.2.66')).statusCode).toBe(401);
    expect((await post({ username: 'bob', password: 'nope' }, '192.0.2.66')).statusCode).toBe(429);
    expect((await post({ username: 'bob', password: PASSWORD }, '192.0.2.77')).statusCode).toBe(200);
    // The login node: many users behind one address, not backed off per source.
    for (let i = 0; i < 3; i++) expect((await post({ username: 'carol', password: 'nope' }, '10.9.1.1')).statusCode).toBe(401);
    await app.close();
  });

  it('an admin unlocks a locked-out user (audited)', async () => {
    const { app, users, post, admin, audit } = await build({ rate_limit: { max_failures_per_user: 2 } });
    await users.add('dave', { password: PASSWORD });
    for (let i = 0; i < 2; i++) await post({ username: 'dave', password: 'nope' }, `192.0.2.${i + 1}`);
    expect((await post({ username: 'dave', password: PASSWORD }, '192.0.2.9')).statusCode).toBe(429);
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/users/dave/unlock' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/users/dave/unlock', headers: admin })).statusCode).toBe(204);
    expect((await post({ username: 'dave', password: PASSWORD }, '192.0.2.9')).statusCode).toBe(200);
    // Both calls audited: the one without credentials refused, the admin's done.
    expect(audit.query({ action: 'logins:unlock', limit: 10 }).items.map((r) => [r.outcome, r.resource])).toEqual(expect.arrayContaining([['success', 'user:dave']]));
    expect(audit.query({ action: 'logins:unlock', limit: 10 }).items).toHaveLength(2);
    await app.close();
  });
});

describe('MFA as enrolled', () => {
  it('a user with TOTP enrolled needs it with mfa.enabled false; an admin exemption (audited) lifts that, and its end restores it', async () => {
    const { app, users, post, admin, audit } = await build({ mfa: { enabled: false } });
    const secret = newTotpSecret();
    await users.add('erin', { password: PASSWORD, totpSecret: secret });
    await users.add('frank', { password: PASSWORD });
    expect((await post({ username: 'frank', password: PASSWORD })).statusCode).toBe(200);
    const noCode = await post({ username: 'erin', password: PASSWORD });
    expect(noCode.statusCode).toBe(401);
    expect(noCode.json()).toMatchObject({ code: 'SF_AUTH_MFA_REQUIRED' });
    expect((await post({ username: 'erin', password: PASSWORD, totp: await generate({ secret }) })).statusCode).toBe(200);

    const exempt = (body: object) => app.inject({ method: 'PUT', url: '/api/v1/auth/users/erin/mfa-exemption', headers: admin, payload: body });
    expect((await exempt({ exempt: true })).statusCode).toBe(400);
    expect((await exempt({ exempt: true, reason: 'lost phone, ticket 4711' })).statusCode).toBe(200);
    expect((await post({ username: 'erin', password: PASSWORD })).statusCode).toBe(200);
    expect(users.get('erin')?.mfa_exempt).toMatchObject({ by: 'service:root', reason: 'lost phone, ticket 4711' });
    expect((await exempt({ exempt: false })).statusCode).toBe(200);
    expect((await post({ username: 'erin', password: PASSWORD })).json()).toMatchObject({ code: 'SF_AUTH_MFA_REQUIRED' });
    expect((await app.inject({ method: 'PUT', url: '/api/v1/auth/users/nobody/mfa-exemption', headers: admin, payload: { exempt: true, reason: 'x' } })).statusCode).toBe(404);
    expect(audit.query({ action: 'logins:exempt', limit: 10 }).items.map((r) => r.outcome)).toEqual(expect.arrayContaining(['success', 'failed']));
    await app.close();
  });
});
