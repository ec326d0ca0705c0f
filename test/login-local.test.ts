// Local (break-glass) users on a real standalone hub process: `sfleet user add --totp`,
// `sfleet login` with password and TOTP, the session in the contexts file, a replayed code,
// lockout, the session surviving a hub restart (file store), logout; service-account tokens
// with roles; oversize headers.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTotpUser, LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { registerSecret } from './harness/run-logs.js';

let pki: TestPki;
let hub: LoginHub;
let dir: string;
let secret: string;
let cliEnv: NodeJS.ProcessEnv;
const PASSWORD = 'break the glass 2026';
registerSecret(PASSWORD, 'password of breakglass (login-local)');
registerSecret('a brand new password', 'changed password of breakglass (login-local)');

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  dir = mkdtempSync(join(tmpdir(), `login-local-${process.pid}-`));
  hub = new LoginHub(join(dir, 'hub'), pki, {
    auth: { mfa: { enabled: true, providers: [{ type: 'totp', issuer: 'sfleet-test' }], required_for_local: true }, rate_limit: { max_failures_per_user: 3, window: '1m', lockout: '10m' } },
  });
  // The user exists before the hub starts, as an operator would set it up.
  const { output: add, uri, secret: totpSecret } = await addTotpUser(hub.dataDir, 'breakglass', PASSWORD, ['--issuer', 'sfleet-test', '--group', 'hpc-admins']);
  expect(uri).toMatch(/^otpauth:\/\/totp\/sfleet-test:breakglass\?/);
  secret = totpSecret;
  registerSecret(secret, 'TOTP secret of breakglass (login-local)');
  expect(add).toMatch(/user breakglass added with TOTP/);
  await hub.start();
  cliEnv = { ...process.env, SFLEET_CONFIG: join(dir, 'contexts.yaml'), SFLEET_HUB: hub.httpUrl, SFLEET_CA: pki.ca };
  delete cliEnv.SFLEET_TOKEN;
  delete cliEnv.SFLEET_CERT;
  delete cliEnv.SFLEET_KEY;
});

afterAll(async () => {
  await hub?.stop();
});

describe('local users with TOTP on a real hub', () => {
  it('sfleet user list shows the user without its hash or secret', async () => {
    const out = await sfleet(['user', 'list', '--data-dir', hub.dataDir, '-o', 'json'], process.env);
    expect(JSON.parse(out)).toEqual([expect.objectContaining({ name: 'breakglass', password: true, totp: true, groups: ['hpc-admins'] })]);
    expect(out).not.toMatch(/scrypt|secret/);
  });

  it('sfleet login without a code is told a TOTP code is needed; with one it saves a session the next commands use', async () => {
    await expect(sfleet(['login', '-u', 'breakglass'], { ...cliEnv, SFLEET_PASSWORD: PASSWORD })).rejects.toThrow(/TOTP code is required.*SF_AUTH_MFA_REQUIRED/);
    const code = await generate({ secret });
    registerSecret(code, 'TOTP code of breakglass (login-local)');
    const out = await sfleet(['login', '-u', 'breakglass', '--totp', code], { ...cliEnv, SFLEET_PASSWORD: PASSWORD });
    expect(out).toMatch(/^logged in as breakglass \(local, TOTP\), groups hpc-admins; session expires \S+, saved in context default$/m);
    const contexts = parse(readFileSync(join(dir, 'contexts.yaml'), 'utf8')) as { 'current-context': string; contexts: { name: string; token: string; hub: string }[] };
    expect(contexts['current-context']).toBe('default');
    expect(contexts.contexts[0]).toMatchObject({ name: 'default', hub: hub.httpUrl, token: expect.stringMatching(/^sfs_/) });
    // No certificate, no token in the environment: the context's session is the credential.
    expect(await sfleet(['clusters', '-o', 'json'], cliEnv)).toMatch(/\[\]/);

    // The same code again, within its window: refused, and the hub says why.
    await expect(sfleet(['login', '-u', 'breakglass', '--totp', code], { ...cliEnv, SFLEET_PASSWORD: PASSWORD })).rejects.toThrow(/TOTP code was used already.*SF_AUTH_TOTP_REPLAYED/);
    expect(hub.auditRecords().at(-1)).toMatchObject({ action: 'auth:login', user: 'breakglass', outcome: 'failed', status: 401, reason: expect.stringMatching(/TOTP code was used already/) });
    expect(hub.log()).not.toContain(PASSWORD);
  });

  it('the session survives a hub restart (file store) and ends with sfleet logout', async () => {
    await hub.stop('SIGTERM');
    await hub.start();
    expect(await sfleet(['clusters', '-o', 'json'], cliEnv)).toMatch(/\[\]/);
    expect(readFileSync(join(hub.dataDir, 'sessions.json'), 'utf8')).not.toMatch(/sfs_/);
    const token = (parse(readFileSync(join(dir, 'contexts.yaml'), 'utf8')) as { contexts: { token: string }[] }).contexts[0].token;
    registerSecret(token, 'session token of breakglass (login-local)');
    expect(await sfleet(['logout'], cliEnv)).toMatch(/logged out \(context default\)/);
    const after = await hub.request('GET', '/api/v1/clusters', { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
    expect(after.json().detail).toMatch(/session expired, revoked or unknown/);
    await expect(sfleet(['clusters'], cliEnv)).rejects.toThrow(/authentication required/);
  });

  it('locks a user out after 3 failures: 429 with Retry-After, the right password included; other users unaffected', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await hub.login({ username: 'victim', password: `guess ${i}` });
      expect(r.status).toBe(401);
      expect(r.json()).toMatchObject({ code: 'SF_AUTH_LOGIN_FAILED', detail: 'login failed: unknown user or wrong password' });
    }
    const locked = await hub.login({ username: 'victim', password: 'guess 4' });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(590);
    expect(locked.json()).toMatchObject({ code: 'SF_AUTH_LOCKED_OUT', detail: expect.stringMatching(/too many failed logins: try again in \d+s/) });
    await expect(sfleet(['login', '-u', 'victim'], { ...cliEnv, SFLEET_PASSWORD: 'x' })).rejects.toThrow(/too many failed logins/);
    expect((await hub.login({ username: 'breakglass', password: PASSWORD })).json().code).toBe('SF_AUTH_MFA_REQUIRED');
  });

  it('refuses bad login input with 400 problem+json, and the hub keeps serving', async () => {
    const nul = await hub.login({ username: 'breakglass\u0000', password: PASSWORD });
    expect(nul.status).toBe(400);
    expect(nul.headers['content-type']).toMatch(/problem\+json/);
    expect(nul.json().detail).toMatch(/invalid user name/);
    const junk = await hub.request('POST', '/api/v1/auth/login', { body: 'not an object' });
    expect(junk.status).toBe(400);
    expect((await hub.request('GET', '/healthz')).status).toBe(200);
  });

  it('answers 431 to oversize headers without crashing', async () => {
    const big = await hub.request('GET', '/healthz', { headers: { 'x-padding': 'a'.repeat(20 * 1024) } });
    expect(big.status).toBe(431);
    expect(big.headers['content-type']).toBe('application/problem+json');
    expect(big.json()).toMatchObject({ code: 'SF_API_HEADERS_TOO_LARGE', detail: expect.stringMatching(/request headers too large/) });
    const manyBearer = await hub.request('GET', '/api/v1/clusters', { headers: { authorization: `Bearer sfs_${'a'.repeat(20 * 1024)}` } });
    expect(manyBearer.status).toBe(431);
    expect((await hub.request('GET', '/healthz')).status).toBe(200);
    expect(hub.log()).toMatch(/"code":"SF_API_HEADERS_TOO_LARGE","status":431,"remote_address":"127\.0\.0\.1".*"msg":"HTTP request refused before routing"/);
  });

  it('service-account tokens carry their roles, expire, and are revocable', async () => {
    const created = await sfleet(['token', 'create', '--name', 'ci-bot', '--role', 'viewer', '--role', 'operator', '--ttl', '1h', '--data-dir', hub.dataDir], process.env);
    expect(created).toMatch(/^token [0-9a-f]{16} for ci-bot \(roles viewer, operator\), expires \S+$/m);
    const token = created.trim().split('\n').at(-1)!;
    registerSecret(token, 'API token ci-bot (login-local)');
    expect(await sfleet(['clusters', '-o', 'json', '--token', token], cliEnv)).toMatch(/\[\]/);
    const list = JSON.parse(await sfleet(['token', 'list', '--data-dir', hub.dataDir, '-o', 'json'], process.env)) as { name: string; roles: string[] }[];
    expect(list).toEqual([expect.objectContaining({ name: 'ci-bot', roles: ['viewer', 'operator'] })]);
    // The secret part is everything after the second '_' (it may itself hold '_'): never stored, only its hash.
    expect(readFileSync(join(hub.dataDir, 'tokens.json'), 'utf8')).not.toContain(token.split('_').slice(2).join('_'));
    await sfleet(['token', 'revoke', 'ci-bot', '--data-dir', hub.dataDir], process.env);
    // The hub re-reads tokens.json at most once a second.
    await new Promise((r) => setTimeout(r, 1_100));
    await expect(sfleet(['clusters', '--token', token], cliEnv)).rejects.toThrow(/invalid, expired or revoked token/);
  });

  it('sfleet user passwd changes the password at once; sfleet user remove ends the user', async () => {
    await sfleet(['user', 'passwd', 'breakglass', '--data-dir', hub.dataDir], { ...process.env, SFLEET_USER_PASSWORD: 'a brand new password' });
    expect((await hub.login({ username: 'breakglass', password: PASSWORD })).json()).toMatchObject({ code: 'SF_AUTH_LOGIN_FAILED' });
    // The new password is right: the hub goes on to ask for the second factor.
    expect((await hub.login({ username: 'breakglass', password: 'a brand new password' })).json()).toMatchObject({ code: 'SF_AUTH_MFA_REQUIRED' });
    expect(await sfleet(['user', 'remove', 'breakglass', '--data-dir', hub.dataDir], process.env)).toMatch(/removed breakglass/);
    expect((await hub.login({ username: 'breakglass', password: 'a brand new password' })).json()).toMatchObject({ code: 'SF_AUTH_LOGIN_FAILED' });
    await expect(sfleet(['user', 'remove', 'breakglass', '--data-dir', hub.dataDir], process.env)).rejects.toThrow(/no local user "breakglass"/);
  });
});
