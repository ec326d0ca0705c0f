// Logins in a hub group (etcd + Redis from test/harness/ha-services.ts): a session opened on
// one hub works on the other and ends on both at logout, a TOTP code spent on one hub is
// refused on the other, and failures counted on one hub lock the user out on both.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaServices } from './harness/ha-services.js';
import { addTotpUser, LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { registerSecret } from './harness/run-logs.js';

let pki: TestPki;
let services: HaServices;
let a: LoginHub;
let b: LoginHub;
let secret: string;
const PASSWORD = 'break the glass 2026';
registerSecret(PASSWORD, 'password of breakglass (login-clustered)');

beforeAll(async () => {
  assertBuilt();
  [pki, services] = await Promise.all([makePki(), HaServices.create('login')]);
  const dir = mkdtempSync(join(tmpdir(), `login-clustered-${process.pid}-`));
  const extra = {
    etcd: { endpoints: services.etcdEndpoints, lease_ttl: '3s' },
    redis: { url: services.redisUrl },
    auth: { mfa: { enabled: true, required_for_local: true }, rate_limit: { max_failures_per_user: 4, max_failures_per_source: 10, window: '1m', lockout: '2m' } },
  };
  a = new LoginHub(join(dir, 'hub-a'), pki, extra);
  b = new LoginHub(join(dir, 'hub-b'), pki, extra);
  // Local users live in each hub's data_dir: the operator adds them on both (same TOTP secret).
  ({ secret } = await addTotpUser(a.dataDir, 'breakglass', PASSWORD));
  registerSecret(secret, 'TOTP secret of breakglass (login-clustered)');
  const { LocalUserStore } = await import('../hub/login/index.js');
  const record = new LocalUserStore(a.dataDir).get('breakglass')!;
  await new LocalUserStore(b.dataDir).add('breakglass', { password: PASSWORD, totpSecret: record.totp_secret });
  await Promise.all([a.start(), b.start()]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await services?.stop();
});

describe('logins across a hub group (sessions, TOTP replay and lockout in Redis)', () => {
  it('a session opened on hub A works on hub B and a logout on B ends it on A', async () => {
    const code = await generate({ secret });
    registerSecret(code, 'TOTP code of breakglass (login-clustered)');
    const login = await a.login({ username: 'breakglass', password: PASSWORD, totp: code });
    expect(login.status).toBe(200);
    const auth = { authorization: `Bearer ${login.json<{ token: string }>().token}` };
    expect((await b.request('GET', '/api/v1/clusters', { headers: auth })).status).toBe(200);
    // The same code on the other hub: spent region-wide.
    const replay = await b.login({ username: 'breakglass', password: PASSWORD, totp: code });
    expect(replay.status).toBe(401);
    expect(replay.json()).toMatchObject({ code: 'SF_AUTH_TOTP_REPLAYED' });
    expect((await b.request('POST', '/api/v1/auth/logout', { headers: auth })).status).toBe(204);
    expect((await a.request('GET', '/api/v1/clusters', { headers: auth })).status).toBe(401);
  });

  it('failures on both hubs add up to one lockout that both hubs enforce', async () => {
    for (const hub of [a, b, a, b]) expect((await hub.login({ username: 'target', password: 'guess' })).status).toBe(401);
    for (const hub of [a, b]) {
      const r = await hub.login({ username: 'target', password: 'guess' });
      expect(r.status).toBe(429);
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(100);
    }
  });
});
