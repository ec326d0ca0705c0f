// Logins in a hub group (etcd + Redis from test/harness/ha-services.ts): a session opened on
// one hub works on the other and ends on both at logout (its watch open on the other hub too, at
// once: told over Redis, not at the next limits.session_recheck), a TOTP code spent on one hub is
// refused on the other, failures counted on one hub lock the user out on both, and two hubs
// racing on one session in Redis lose nothing and revive nothing.
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
import { waitFor } from './harness/wait.js';
import { sseWatch } from './harness/watch-streams.js';

let pki: TestPki;
let services: HaServices;
let a: LoginHub;
let b: LoginHub;
let secret: string;
/** Before hub A started: its first periodic re-check of open watches cannot come before this + RECHECK_MS. */
let aStarting = 0;
/** limits.session_recheck, longer than this file runs: a watch that ends did not wait for it. */
const RECHECK_MS = 10 * 60_000;
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
    limits: { session_recheck: `${RECHECK_MS / 1000}s` },
  };
  a = new LoginHub(join(dir, 'hub-a'), pki, extra);
  b = new LoginHub(join(dir, 'hub-b'), pki, extra);
  // Local users live in each hub's data_dir: the operator adds them on both (same TOTP secret).
  ({ secret } = await addTotpUser(a.dataDir, 'breakglass', PASSWORD));
  registerSecret(secret, 'TOTP secret of breakglass (login-clustered)');
  const { LocalUserStore } = await import('../hub/login/index.js');
  const record = new LocalUserStore(a.dataDir).get('breakglass')!;
  await new LocalUserStore(b.dataDir).add('breakglass', { password: PASSWORD, totpSecret: record.totp_secret });
  aStarting = Date.now();
  await Promise.all([a.start(), b.start()]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await services?.stop();
});

describe('logins across a hub group (sessions, TOTP replay and lockout in Redis)', () => {
  it('a session opened on hub A works on hub B and a logout on B ends it on A, its watch on A included', async () => {
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
    const watch = sseWatch(a, pki.ca, { headers: auth });
    await waitFor('the watch open on A', () => watch.text().includes('watching since'), 20_000);
    expect((await b.request('POST', '/api/v1/auth/logout', { headers: auth })).status).toBe(204);
    expect((await a.request('GET', '/api/v1/clusters', { headers: auth })).status).toBe(401);
    // Hub B told the group: A ended the watch with the reason, before its periodic re-check could
    // have run (the latency is measured by the watch-revocation bench).
    await waitFor('the watch on A ended', () => watch.ended(), 30_000, 20);
    expect(watch.ended()).toBeLessThan(aStarting + RECHECK_MS);
    expect(watch.text()).toMatch(/event: error\ndata: .*SF_WATCH_ENDED.*no longer holds/);
  });

  it('two hubs racing on one session in Redis: a rotation never brings back a session revoked meanwhile, and no update is lost', async () => {
    const { Redis } = await import('ioredis');
    const { RedisSharedKvStore, replicationKeys } = await import('../hub/replication/index.js');
    const { SharedSessionStore } = await import('../hub/login/sessions/index.js');
    const keys = replicationKeys('sfleet-race', 'login');
    const conns = [new Redis(services.redisUrl), new Redis(services.redisUrl)];
    try {
      const [kvA, kvB] = conns.map((c) => new RedisSharedKvStore(c, keys));
      const [hubA, hubB] = [new SharedSessionStore(kvA), new SharedSessionStore(kvB)];
      const carol = { name: 'carol', method: 'oidc' as const, role: 'user' as const, groups: [], attributes: {} };
      for (let round = 0; round < 10; round++) {
        const token = await hubA.create(carol, 60_000, 'rt-0');
        // Hub A rotates the refresh token (many re-checks at once) while hub B logs the session out.
        await Promise.all([...Array.from({ length: 20 }, (_, i) => hubA.setSecret(token, `rt-${i + 1}`)), hubB.revoke(token)]);
        expect(await hubB.get(token)).toBeUndefined();
        expect(await hubA.get(token)).toBeUndefined();
      }
      // Both hubs spend the same refresh token at once: one rotation is kept, read alike by both,
      // and a late one from the spent token does not replace it.
      const token = await hubA.create(carol, 60_000, 'rt-0');
      await Promise.all([hubA.setSecret(token, 'rt-a', 'rt-0'), hubB.setSecret(token, 'rt-b', 'rt-0')]);
      const kept = await hubA.secret(token);
      expect(['rt-a', 'rt-b']).toContain(kept);
      expect(await hubB.secret(token)).toBe(kept);
      await hubB.setSecret(token, 'rt-late', 'rt-0');
      expect(await hubA.secret(token)).toBe(kept);
      // The step under it: two hubs each adding 1 fifty times to one entry lose none of the 100.
      await kvA.set('counter', { n: 0 }, 60_000);
      const add = async (kv: typeof kvA): Promise<void> => {
        for (let i = 0; i < 50; i++) expect(await kv.modify<{ n: number }>('counter', (c) => ({ n: c.n + 1 }))).toBe(true);
      };
      await Promise.all([add(kvA), add(kvB)]);
      expect(await kvB.get('counter')).toEqual({ n: 100 });
      expect(await conns[0].pttl(keys.sharedKv('counter'))).toBeGreaterThan(0);
    } finally {
      for (const c of conns) c.disconnect();
    }
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
