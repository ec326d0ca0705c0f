// The login limiter stands before the directory: against a real OpenLDAP (slapd), 40 concurrent
// wrong logins for one directory user make at most 5 binds (counted by slapd itself, cn=Monitor),
// so a flood through the hub cannot lock the real directory account; a right password sent
// inside a burst gets no further than the limit allows, and none while the user is locked out.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsCall } from './harness/hub-child.js';
import { LDAP_PASSWORDS, LDAP_SUFFIX, LdapServer } from './harness/ldap.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { assertBuilt } from './harness/sfleet-process.js';

let pki: TestPki;
let ldap: LdapServer;
let hub: LoginHub;

beforeAll(async () => {
  assertBuilt();
  [pki, ldap] = await Promise.all([makePki(), LdapServer.create('limits')]);
  const dir = mkdtempSync(join(tmpdir(), `ldap-limits-${process.pid}-`));
  hub = new LoginHub(join(dir, 'hub'), pki, {
    // Directory users only, bound directly (no service account): one login that reaches the
    // directory is exactly one bind.
    auth: { local: { enabled: false }, rate_limit: { max_failures_per_user: 5, max_failures_per_source: 100, max_failures_per_ip: 1000, window: '5m', lockout: '5m' } },
    sso: { ldap: { url: ldap.url, user_dn_template: `uid={username},ou=people,${LDAP_SUFFIX}`, timeout: '5s', connect_timeout: '2s' } },
  });
  await hub.start();
});

afterAll(async () => {
  await hub?.stop();
  await ldap?.stop();
});

/** `n` concurrent logins as `user`; `right` names the indexes that send the right password. */
async function burst(user: 'alice' | 'bob', n: number, right: number[] = []): Promise<{ statuses: number[]; binds: number }> {
  const before = await ldap.binds();
  const answers = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      httpsCall(`${hub.httpUrl}/api/v1/auth/login`, { method: 'POST', body: { username: user, password: right.includes(i) ? LDAP_PASSWORDS[user] : `wrong-${i}` }, ca: pki.ca, timeoutMs: 60_000 }),
    ),
  );
  // The second reading's own bind is not the hub's.
  return { statuses: answers.map((a) => a.status), binds: (await ldap.binds()) - before - 1 };
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

describe('login limits before the directory (real slapd)', () => {
  it('40 concurrent wrong logins for one directory user make at most 5 binds; then the right password is refused without a bind', async () => {
    const { statuses, binds } = await burst('alice', 40);
    console.log(`40 wrong logins for alice: ${count(statuses, 401)} x 401, ${count(statuses, 429)} x 429, ${binds} binds on slapd`);
    expect(count(statuses, 401) + count(statuses, 429)).toBe(40);
    expect(binds).toBeGreaterThanOrEqual(1);
    expect(binds).toBeLessThanOrEqual(5);
    // Every attempt that was checked made its one bind; the others none.
    expect(binds).toBe(count(statuses, 401));
    // Locked out: a burst with the right password in it gets nowhere and costs the directory nothing.
    const locked = await burst('alice', 10, [0, 5]);
    expect(locked.statuses).toEqual(Array(10).fill(429));
    expect(locked.binds).toBe(0);
  });

  it('a right password inside a burst of wrong ones gets no further than the limit allows', async () => {
    const { statuses, binds } = await burst('bob', 40, [17]);
    console.log(`39 wrong + 1 right login for bob: ${count(statuses, 200)} x 200, ${count(statuses, 401)} x 401, ${count(statuses, 429)} x 429, ${binds} binds`);
    // Whatever got a slot made one bind, the right one included; no more than the limit got one.
    expect(count(statuses, 200) + count(statuses, 401)).toBe(binds);
    expect(binds).toBeLessThanOrEqual(5);
    expect(statuses[17] === 200 || statuses[17] === 429).toBe(true);
    expect(count(statuses, 200) + count(statuses, 401) + count(statuses, 429)).toBe(40);
  });
});
