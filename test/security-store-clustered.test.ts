// A hub group shares its security state through etcd (hub/security-store): a token made with
// `sfleet token create` on hub A works on hub B; revoked on A it is refused by B; a client
// certificate revoked in A's data directory is refused by B; while etcd is down both hubs answer
// from their last copy, a revocation made meanwhile is kept by A and reaches B once etcd is back,
// and a new token is refused (503) rather than made on one hub only.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaServices } from './harness/ha-services.js';
import { GroupHub } from './harness/hub-group.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { registerSecret } from './harness/run-logs.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

let pki: TestPki;
let services: HaServices;
let a: GroupHub;
let b: GroupHub;

beforeAll(async () => {
  assertBuilt();
  [pki, services] = await Promise.all([makePki(), HaServices.create('secstore')]);
  const dir = mkdtempSync(join(tmpdir(), `secstore-${process.pid}-`));
  const group = { region: 'r1', pki, etcdEndpoints: services.etcdEndpoints, config: { etcd: { lease_ttl: '3s' } } };
  a = new GroupHub('hub-a', dir, group);
  b = new GroupHub('hub-b', dir, group);
  await Promise.all([a.start(), b.start()]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await services?.stop();
});

/** The sfleet CLI against a running hub, as the tester's client certificate (an admin: no rbac section). */
function cli(hub: GroupHub, args: string[]): Promise<string> {
  return sfleet([...args, '--hub', hub.httpUrl, '--ca', pki.ca, '--cert', pki.client.cert, '--key', pki.client.key], { PATH: process.env.PATH, HOME: tmpdir() });
}

async function createToken(hub: GroupHub, name: string): Promise<{ id: string; token: string }> {
  const out = (await cli(hub, ['token', 'create', '--name', name, '--role', 'viewer'])).trim().split('\n');
  const token = out.pop()!;
  registerSecret(token, `API token ${name} (security-store-clustered)`);
  return { id: /^token ([a-f0-9]{16}) /.exec(out[0])![1], token };
}

async function withToken(hub: GroupHub, token: string): Promise<number> {
  return (await httpsCall(`${hub.httpUrl}/api/v1/clusters`, { ca: pki.ca, headers: { authorization: `Bearer ${token}` }, timeoutMs: 5_000 })).status;
}

describe('a hub group shares tokens and revocations (etcd)', () => {
  it('a token made on A works on B; revoked on A it is refused by B within 5 s', async () => {
    const { id, token } = await createToken(a, 'grafana');
    await waitFor('B accepts the token made on A', async () => (await withToken(b, token)) === 200, 5_000, 50);
    expect(await cli(b, ['token', 'list', '-o', 'json'])).toContain(id);
    const revokedAt = Date.now();
    await cli(a, ['token', 'revoke', id]);
    expect(await withToken(a, token)).toBe(401);
    await waitFor('B refuses the token revoked on A', async () => (await withToken(b, token)) === 401, 5_000, 20);
    console.log(`token revocation A -> B: ${Date.now() - revokedAt} ms (CLI round trip included)`);
    // Audited on the hub that did it, without the secret.
    const records = a.auditRecords().filter((r) => r.action === 'tokens:create' || r.action === 'tokens:revoke');
    expect(records.map((r) => [r.action, r.outcome])).toEqual([
      ['tokens:create', 'success'],
      ['tokens:revoke', 'success'],
    ]);
    // The secret is everything after "sft_<id>_": base64url, so it may itself hold "_".
    const secret = token.replace(/^sft_[a-f0-9]{16}_/, '');
    expect(secret).toHaveLength(43);
    expect(JSON.stringify(a.auditRecords())).not.toContain(secret);
  });

  it('a client certificate revoked in A\'s data directory is refused by B', async () => {
    const mallory = await pki.issue('client', 'mallory');
    const asMallory = () => httpsCall(`${b.httpUrl}/api/v1/clusters`, { ca: pki.ca, cert: mallory.cert, key: mallory.key, timeoutMs: 5_000 }).then((r) => r.status);
    expect(await asMallory()).toBe(200);
    await sfleet(['ca', 'revoke', '--cert', mallory.cert, '--data-dir', a.dataDir, '--reason', 'left the team'], process.env);
    await waitFor('B refuses the certificate revoked on A', async () => (await asMallory()) === 401, 5_000, 50);
  });

  it('with etcd down both hubs answer from their last copy; a revocation made meanwhile reaches B once etcd is back; a new token waits for etcd', async () => {
    const { id, token } = await createToken(a, 'ci-bot');
    await waitFor('B accepts the new token', async () => (await withToken(b, token)) === 200, 5_000, 50);
    await Promise.all(['etcd1', 'etcd2', 'etcd3'].map((m) => services.kill(m as 'etcd1')));
    // The last copy answers: the token still works on both, the one revoked before is still refused.
    expect(await withToken(a, token)).toBe(200);
    expect(await withToken(b, token)).toBe(200);
    // Revoked on A during the outage: kept on A (refused there at once), B cannot know yet.
    await cli(a, ['token', 'revoke', id]);
    expect(await withToken(a, token)).toBe(401);
    expect(await withToken(b, token)).toBe(200);
    // A new token cannot be made on one hub only.
    await expect(createToken(b, 'later')).rejects.toThrow(/SF_SECURITY_STORE_UNAVAILABLE|shared security store/);
    const back = Date.now();
    await services.start();
    await waitFor('B refuses the token revoked during the outage', async () => (await withToken(b, token)) === 401, 30_000, 100);
    console.log(`revocation made during the outage reached B ${Date.now() - back} ms after etcd was started again`);
    expect(await withToken(a, token)).toBe(401);
    expect(a.log()).toContain('a change kept during the outage is written to etcd');
  });
});
