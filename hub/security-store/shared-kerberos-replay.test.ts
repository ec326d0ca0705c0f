// The Kerberos replay cache of a hub group, against a real etcd: two hubs' acceptors (the same
// keytab, as behind a load balancer) with their own EtcdSecurityStore. An authenticator accepted
// by hub A is refused by hub B; of two hubs given one authenticator at once, one accepts it; with
// etcd down each hub keeps its own cache, and what A accepted meanwhile reaches B once etcd is back.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { PrivateEtcd } from '../../test/harness/private-etcd.js';
import { waitFor } from '../../test/harness/wait.js';
import { NegotiateAcceptor } from '../login/kerberos/acceptor.js';
import { KEYTAB, T0, token } from '../login/kerberos/token-fixture.js';
import { EtcdSecurityStore } from './etcd-security-store.js';
import { SharedKerberosReplay } from './shared-kerberos-replay.js';

let etcd: PrivateEtcd;
const clients: Etcd3[] = [];
const stores: EtcdSecurityStore[] = [];

function hub(): { store: EtcdSecurityStore; acceptor: NegotiateAcceptor } {
  const client = new Etcd3({ hosts: [etcd.endpoint], dialTimeout: 2_000 });
  clients.push(client);
  const store = new EtcdSecurityStore({ client, prefix: '/krb-test/', region: 'r1', dataDir: mkdtempSync(join(tmpdir(), 'krb-replay-')), logger: silentLogger(), retryMs: 300 });
  stores.push(store);
  const acceptor = new NegotiateAcceptor({ keytab: KEYTAB, clockSkewMs: 300_000, now: () => T0, replay: new SharedKerberosReplay(store, silentLogger()) });
  return { store, acceptor };
}

beforeAll(async () => {
  etcd = await PrivateEtcd.create('krb-replay');
}, 90_000);

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  for (const c of clients) c.close();
  await etcd?.stop();
});

describe('the Kerberos replay cache of a hub group (etcd)', () => {
  it('an authenticator accepted by hub A is refused by hub B, and by A; one given to both at once is accepted once', async () => {
    const a = hub();
    const b = hub();
    await Promise.all([a.store.start(10_000), b.store.start(10_000)]);
    expect(a.store.connected && b.store.connected).toBe(true);

    const t = token({ now: T0 + 1_000 });
    expect(await a.acceptor.accept(t)).toEqual({ name: 'alice', realm: 'EX.ORG' });
    await expect(b.acceptor.accept(t)).rejects.toThrow(/authenticator replayed/);
    await expect(a.acceptor.accept(t)).rejects.toThrow(/authenticator replayed/);
    // Another authenticator of the same client is a new login on either hub.
    expect((await b.acceptor.accept(token({ now: T0 + 2_000 }))).name).toBe('alice');

    for (let i = 0; i < 5; i++) {
      const same = token({ now: T0 + 10_000 + i * 1_000 });
      const results = await Promise.allSettled([a.acceptor.accept(same), b.acceptor.accept(same)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(String((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/authenticator replayed/);
    }
  }, 60_000);

  it('with etcd down each hub keeps its own cache; what A accepted meanwhile is refused by B once etcd is back', async () => {
    const a = hub();
    const b = hub();
    await Promise.all([a.store.start(10_000), b.store.start(10_000)]);
    const before = token({ now: T0 + 30_000 });
    expect((await a.acceptor.accept(before)).name).toBe('alice');
    // B's copy holds what A accepted before the outage.
    await waitFor('B\'s copy holds every authenticator A\'s does', () => b.store.entries('kerberos').length === a.store.entries('kerberos').length, 10_000, 50);

    await etcd.kill();
    await waitFor('both hubs see etcd down', () => !a.store.connected && !b.store.connected, 30_000, 50);
    // From the copy: refused on B without etcd.
    await expect(b.acceptor.accept(before)).rejects.toThrow(/authenticator replayed/);
    const during = token({ now: T0 + 40_000 });
    expect((await a.acceptor.accept(during)).name).toBe('alice');
    await expect(a.acceptor.accept(during)).rejects.toThrow(/authenticator replayed/);
    expect(a.store.pending).toBe(1);

    await etcd.start();
    await waitFor('A wrote its queued authenticator and B read it', () => a.store.pending === 0 && b.store.connected && b.store.entries('kerberos').length === a.store.entries('kerberos').length, 30_000, 50);
    await expect(b.acceptor.accept(during)).rejects.toThrow(/authenticator replayed/);
  }, 120_000);
});
