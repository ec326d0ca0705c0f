// The login endpoints in-process (fastify inject) with local users: what a client sees.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { buildHttpApi } from '../api/rest/index.js';
import { AuditLog, auditConfigSchema } from '../audit/index.js';
import { CommandRouter } from '../commands/index.js';
import { authConfigSchema } from './config.js';
import { FleetState } from '../fleet/index.js';
import { Authenticator, TokenStore } from '../policy/index.js';
import { MemoryDedupeStore } from '../replication/index.js';
import { WatchFeed } from '../watch/index.js';
import { newTotpSecret, TotpVerifier } from './local/totp.js';
import { LocalUserStore } from './local/user-store.js';
import { LocalUserSessionVerifier } from './logins.js';
import { MemorySessionStore, SessionVerifier } from './sessions/index.js';
import { MemoryLoginLimiter } from './login-limiter.js';
import { LoginLimits } from './login-limits.js';
import { LoginService } from './login-service.js';

async function build(auth: Record<string, unknown> = {}, opts: { rbac?: boolean } = { rbac: true }) {
  const dir = mkdtempSync(join(tmpdir(), 'login-api-'));
  const config = authConfigSchema.parse(auth);
  const users = new LocalUserStore(dir, { N: 1024, r: 8, p: 1 });
  const sessions = new MemorySessionStore();
  // The real audit log: every login answer is recorded there by the HTTP audit hook.
  const audit = new AuditLog(auditConfigSchema.parse({ dir: join(dir, 'audit') }), { hubId: 'h', dataDir: dir, logger: silentLogger() });
  await audit.open();
  const login = new LoginService({
    config,
    sessions,
    limiter: new MemoryLoginLimiter(),
    limits: new LoginLimits(config.rate_limit),
    totp: new TotpVerifier(new MemoryDedupeStore(), 1),
    localUsers: users,
    logger: silentLogger(),
    ...(opts.rbac ? { rolesOf: (p: { name: string }) => (p.name === 'operator' ? ['fleet-admin'] : []) } : {}),
  });
  const state = new FleetState();
  const verifiers = [new LocalUserSessionVerifier(new SessionVerifier(sessions), users)];
  const { app } = await buildHttpApi({
    logger: silentLogger(),
    authenticator: new Authenticator(new TokenStore(dir), verifiers),
    logins: { sessions, login, verifiers },
    state,
    commands: new CommandRouter({ timeoutMs: 1000 }),
    watch: new WatchFeed(state),
    readiness: () => ({ ready: true, checks: {} }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    audit,
  });
  const post = (body: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: body as object, headers });
  const logins = () => audit.query({ action: 'auth:*', limit: 100 }).items;
  return { app, users, audit, logins, post };
}

describe('POST /api/v1/auth/login (local users)', () => {
  it('gives a session token that works as a bearer until logout; unknown user and wrong password look the same', async () => {
    const { app, users, audit, logins, post } = await build();
    await users.add('breakglass', { password: 'a long enough password', groups: ['hpc-admins'] });
    const ok = await post({ username: 'breakglass', password: 'a long enough password' });
    expect(ok.statusCode).toBe(200);
    const body = ok.json<{ token: string; user: string; groups: string[]; mfa: boolean; provider: string; expires_at: string }>();
    expect(body).toMatchObject({ user: 'breakglass', groups: ['hpc-admins'], mfa: false, provider: 'local' });
    expect(body.token).toMatch(/^sfs_/);
    const auth = { authorization: `Bearer ${body.token}` };
    expect((await app.inject({ method: 'GET', url: '/api/v1/clusters', headers: auth })).statusCode).toBe(200);

    const wrong = await post({ username: 'breakglass', password: 'not the password' });
    const unknown = await post({ username: 'nobody', password: 'not the password' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().detail).toBe(wrong.json().detail);
    expect(wrong.json()).toMatchObject({ code: 'SF_AUTH_LOGIN_FAILED', detail: 'login failed: unknown user or wrong password' });
    expect(logins().map((a) => [a.action, a.user, a.outcome, a.status, a.reason])).toEqual([
      ['auth:login', 'breakglass', 'success', 200, null],
      ['auth:login', 'breakglass', 'failed', 401, 'login failed: unknown user or wrong password'],
      ['auth:login', 'nobody', 'failed', 401, 'login failed: unknown user or wrong password'],
    ]);
    expect(JSON.stringify(logins())).not.toMatch(/not the password|a long enough password/);

    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: auth })).statusCode).toBe(204);
    const after = await app.inject({ method: 'GET', url: '/api/v1/clusters', headers: auth });
    expect(after.statusCode).toBe(401);
    expect(after.json().detail).toMatch(/session expired, revoked or unknown/);
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: auth })).statusCode).toBe(401);
    expect(logins().slice(3).map((a) => [a.action, a.user, a.outcome, a.status])).toEqual([
      ['auth:logout', 'breakglass', 'success', 204],
      ['auth:logout', null, 'failed', 401],
    ]);
    await app.close();
    await audit.close();
  });

  it("a removed local user's sessions end at once", async () => {
    const { app, users, post } = await build();
    await users.add('temp', { password: 'a long enough password' });
    const auth = { authorization: `Bearer ${(await post({ username: 'temp', password: 'a long enough password' })).json().token}` };
    expect((await app.inject({ method: 'GET', url: '/api/v1/clusters', headers: auth })).statusCode).toBe(200);
    users.remove('temp');
    const r = await app.inject({ method: 'GET', url: '/api/v1/clusters', headers: auth });
    expect(r.statusCode).toBe(401);
    expect(r.json().detail).toBe('this local user was removed: the session has ended');
    await app.close();
  });

  it('refuses injection-shaped and malformed input with 400 and a clear message', async () => {
    const { app, post } = await build();
    const nul = await post({ username: 'alice\u0000', password: 'x' });
    expect(nul.statusCode).toBe(400);
    expect(nul.json().detail).toMatch(/invalid user name/);
    expect((await post({ username: 'x'.repeat(300), password: 'x' })).statusCode).toBe(400);
    expect((await post({ username: 'alice', password: 'x', extra: 1 })).statusCode).toBe(400);
    expect((await post({ username: 'alice' })).statusCode).toBe(400);
    // Filter metacharacters are just characters of a name nobody has.
    expect((await post({ username: '*)(uid=*', password: 'x' })).json().code).toBe('SF_AUTH_LOGIN_FAILED');
    await app.close();
  });

  it('locks a user name out after max failures: 429 with Retry-After, even with the right password', async () => {
    const { app, users, post } = await build({ rate_limit: { max_failures_per_user: 3, window: '1m', lockout: '5m' } });
    await users.add('breakglass', { password: 'a long enough password' });
    for (let i = 0; i < 3; i++) expect((await post({ username: 'breakglass', password: `wrong ${i}` })).statusCode).toBe(401);
    const locked = await post({ username: 'breakglass', password: 'a long enough password' });
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['retry-after']).toBe('300');
    expect(locked.json()).toMatchObject({ code: 'SF_AUTH_LOCKED_OUT', retry_after: 300 });
    await app.close();
  });

  it('locks a source address out after max failures across user names (password spraying)', async () => {
    const { app, post } = await build({ rate_limit: { max_failures_per_user: 100, max_failures_per_ip: 4, window: '1m', lockout: '1m' } });
    for (let i = 0; i < 4; i++) expect((await post({ username: `user${i}`, password: 'Winter2026!' })).statusCode).toBe(401);
    const r = await post({ username: 'user9', password: 'Winter2026!' });
    expect(r.statusCode).toBe(429);
    await app.close();
  });

  it('asks for a TOTP code when MFA is required, accepts it once and refuses it replayed', async () => {
    const { app, users, logins, post } = await build({ mfa: { enabled: true, required_for_local: true } });
    const secret = newTotpSecret();
    await users.add('breakglass', { password: 'a long enough password', totpSecret: secret });
    await users.add('unenrolled', { password: 'a long enough password' });
    const need = await post({ username: 'breakglass', password: 'a long enough password' });
    expect(need.statusCode).toBe(401);
    expect(need.json()).toMatchObject({ code: 'SF_AUTH_MFA_REQUIRED', mfa: 'totp' });
    const code = await generate({ secret });
    const ok = await post({ username: 'breakglass', password: 'a long enough password', totp: code });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().mfa).toBe(true);
    const replay = await post({ username: 'breakglass', password: 'a long enough password', totp: code });
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({ code: 'SF_AUTH_TOTP_REPLAYED', detail: expect.stringMatching(/used already/) });
    expect(logins().at(-1)).toMatchObject({ action: 'auth:login', user: 'breakglass', outcome: 'failed', status: 401, reason: expect.stringMatching(/used already/) });
    const none = await post({ username: 'unenrolled', password: 'a long enough password' });
    expect(none.statusCode).toBe(401);
    expect(none.json().detail).toMatch(/second factor is required.*none is enrolled/);
    await app.close();
  });

  it('requires MFA by RBAC role or directory group when configured, not for others', async () => {
    const { app, users, post } = await build({ mfa: { enabled: true, required_roles: ['fleet-admin'], required_groups: ['hpc-admins'] } });
    await users.add('operator', { password: 'a long enough password' });
    await users.add('admin', { password: 'a long enough password', groups: ['hpc-admins'] });
    await users.add('viewer', { password: 'a long enough password', groups: ['hpc-users'] });
    expect((await post({ username: 'operator', password: 'a long enough password' })).json().detail).toMatch(/second factor is required/);
    expect((await post({ username: 'admin', password: 'a long enough password' })).json().detail).toMatch(/second factor is required/);
    expect((await post({ username: 'viewer', password: 'a long enough password' })).statusCode).toBe(200);
    await app.close();
  });

  it('without RBAC role lookups, required_roles makes every user give a code (nobody can be ruled out)', async () => {
    const { app, users, post } = await build({ mfa: { enabled: true, required_roles: ['fleet-admin'] } }, { rbac: false });
    await users.add('viewer', { password: 'a long enough password' });
    expect((await post({ username: 'viewer', password: 'a long enough password' })).json().detail).toMatch(/second factor is required/);
    await app.close();
  });
});
