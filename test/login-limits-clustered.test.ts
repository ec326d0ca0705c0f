// The login limiter of a hub group counts in the group's shared security store (etcd, no Redis
// configured): wrong logins sent at once to both hubs count as one burst, at most the user's
// limit of them reach the password check, both hubs then refuse the user, a restarted hub still
// does, and an admin's unlock on one hub ends the lockout on the other.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaServices } from './harness/ha-services.js';
import { httpsCall } from './harness/hub-child.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { assertBuilt } from './harness/sfleet-process.js';

let pki: TestPki;
let services: HaServices;
let a: LoginHub;
let b: LoginHub;

beforeAll(async () => {
  assertBuilt();
  [pki, services] = await Promise.all([makePki(), HaServices.create('limits')]);
  const dir = mkdtempSync(join(tmpdir(), `login-limits-${process.pid}-`));
  const extra = {
    etcd: { endpoints: services.etcdEndpoints, lease_ttl: '3s' },
    auth: { rate_limit: { max_failures_per_user: 5, max_failures_per_source: 100, max_failures_per_ip: 1000, window: '5m', lockout: '5m' } },
  };
  a = new LoginHub(join(dir, 'hub-a'), pki, extra);
  b = new LoginHub(join(dir, 'hub-b'), pki, extra);
  await Promise.all([a.start(), b.start()]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await services?.stop();
});

describe('login limits shared by a hub group (security store in etcd)', () => {
  it('40 wrong logins at once across both hubs: at most 5 are checked, then both hubs refuse, also after a restart, until an admin unlocks', async () => {
    // The attempts that reach the check each hash a password (scrypt, 128 MiB, two worker threads
    // per hub): on a loaded machine that takes more than LoginHub's 10 s request timeout.
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const hub = i % 2 ? a : b;
        return httpsCall(`${hub.httpUrl}/api/v1/auth/login`, { method: 'POST', body: { username: 'target', password: `guess-${i}` }, ca: pki.ca, timeoutMs: 60_000 });
      }),
    );
    const statuses = answers.map((r) => r.status);
    const checked = statuses.filter((s) => s === 401).length;
    console.log(`40 concurrent wrong logins over 2 hubs: ${checked} checked (401), ${statuses.filter((s) => s === 429).length} refused before the check (429), in ${Date.now() - started} ms`);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    expect(checked).toBeGreaterThanOrEqual(1);
    expect(checked).toBeLessThanOrEqual(5);
    for (const hub of [a, b]) {
      const r = await hub.login({ username: 'target', password: 'guess' });
      expect(r.status).toBe(429);
      expect(r.json()).toMatchObject({ code: 'SF_AUTH_LOCKED_OUT' });
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(200);
    }
    // Another user is not affected.
    expect((await a.login({ username: 'bystander', password: 'guess' })).status).toBe(401);
    // A restart of B does not end the lockout.
    await b.stop();
    await b.start();
    expect((await b.login({ username: 'target', password: 'guess' })).status).toBe(429);
    // An admin (the tester's client certificate: no rbac section) unlocks on A; B lets the user try again.
    const unlock = await httpsCall(`${a.httpUrl}/api/v1/auth/users/target/unlock`, { method: 'POST', ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 10_000 });
    expect(unlock.status).toBeLessThan(300);
    expect((await b.login({ username: 'target', password: 'guess' })).status).toBe(401);
    expect(a.log() + b.log()).not.toContain('cannot be reached; this hub counts failed logins alone');
  });
});
