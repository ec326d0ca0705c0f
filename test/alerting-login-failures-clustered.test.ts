// Issue 13, login_failures in a hub group (etcd, no Redis): wrong logins from one address spread
// over two hubs count together. Each hub alone sees 4 (below the threshold of 6); the leader's rule
// reads the login limiter's shared counters in the security store and fires with all 8.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaServices } from './harness/ha-services.js';
import { httpsCall } from './harness/hub-child.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

let pki: TestPki;
let services: HaServices;
let a: LoginHub;
let b: LoginHub;

interface AlertView { state: string; labels: Record<string, string>; annotations: { summary: string } }
async function loginAlerts(hub: LoginHub): Promise<AlertView[]> {
  const r = await httpsCall(`${hub.httpUrl}/api/v1/alerts`, { method: 'GET', ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 10_000 });
  expect(r.status).toBe(200);
  return (JSON.parse(r.body) as { items: AlertView[] }).items.filter((x) => x.labels.alertname === 'login_failures');
}

beforeAll(async () => {
  assertBuilt();
  [pki, services] = await Promise.all([makePki(), HaServices.create('loginalerts')]);
  const dir = mkdtempSync(join(tmpdir(), `login-alerts-${process.pid}-`));
  const extra = {
    etcd: { endpoints: services.etcdEndpoints, lease_ttl: '3s' },
    // Each guess is another user: no per-user lockout gets in the way of the count.
    auth: { rate_limit: { max_failures_per_user: 50, max_failures_per_source: 100, max_failures_per_ip: 1000, window: '10m', lockout: '5m' } },
    alerting: { evaluation_interval: '1s', rules: { login_failures: { threshold: 6 } } },
  };
  a = new LoginHub(join(dir, 'hub-a'), pki, extra);
  b = new LoginHub(join(dir, 'hub-b'), pki, extra);
  await Promise.all([a.start(), b.start()]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await services?.stop();
});

describe('login_failures across a hub group', () => {
  it('4 wrong logins on each hub from one address: the leader fires with the group\'s 8', async () => {
    for (let i = 0; i < 4; i++) {
      for (const hub of [a, b]) expect((await hub.login({ username: `guess-${i}`, password: 'wrong' })).status).toBe(401);
    }
    // The leader may fire as soon as the group's count crosses 6 (its rule runs every second while
    // the logins go on); the summary is re-rendered on each evaluation and must reach all 8.
    let fired: AlertView | undefined;
    await waitFor('login_failures firing on the leader with the group\'s 8', async () => {
      fired = [...(await loginAlerts(a)), ...(await loginAlerts(b))].find((x) => x.state === 'firing');
      return fired !== undefined && /^8 failed logins from /.test(fired.annotations.summary);
    }, 30_000, 500).catch((e: unknown) => { throw new Error(`${(e as Error).message}; last seen: ${JSON.stringify(fired ?? null)}`); });
    expect(fired!.labels.source).toMatch(/127\.0\.0\.1$/);
    expect(fired!.annotations.summary).toMatch(/^8 failed logins from /);
  }, 120_000);
});
