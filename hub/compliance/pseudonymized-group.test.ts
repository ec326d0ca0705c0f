// GDPR erasure in a hub group, against a real etcd: hub A pseudonymises alice; the list is the
// group's (each hub's EtcdSecurityStore), so hub B, taking over a cluster after a failover, stores
// the runs its backfill brings for alice under her pseudonym. A hub that joins the group later
// brings the users it had listed alone.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryJob } from '../../shared/history/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { PrivateEtcd } from '../../test/harness/private-etcd.js';
import { waitFor } from '../../test/harness/wait.js';
import { EtcdSecurityStore } from '../security-store/etcd-security-store.js';
import { Pseudonymizer } from './pseudonym.js';
import { PseudonymizedUsers } from './pseudonymized-users.js';

const pseudonymizer = new Pseudonymizer(Buffer.from('the group key'));
const job = (user: string): HistoryJob => ({
  cluster: 'east', job_id: 1, submit_time: 0, start_time: null, end_time: 1, name: `${user}-run`, user, account: 'a', partition: 'p', qos: 'q',
  state: 'COMPLETED', exit_code: 0, exit_signal: 0, alloc_tres: '', cpus: 1, gpus: 0, memory_mb: 1, node_count: 1, node_list: 'n1', nodes: ['n1'],
});

let etcd: PrivateEtcd;
const clients: Etcd3[] = [];
const stores: EtcdSecurityStore[] = [];

async function hub(): Promise<{ store: EtcdSecurityStore; users: PseudonymizedUsers }> {
  const client = new Etcd3({ hosts: [etcd.endpoint], dialTimeout: 2_000 });
  clients.push(client);
  const dir = mkdtempSync(join(tmpdir(), 'pseudo-group-'));
  const store = new EtcdSecurityStore({ client, prefix: '/pseudo-test/', region: 'r1', dataDir: dir, logger: silentLogger(), retryMs: 300 });
  stores.push(store);
  const users = await PseudonymizedUsers.load(join(dir, 'pseudonymized.json'), pseudonymizer);
  return { store, users };
}

beforeAll(async () => {
  etcd = await PrivateEtcd.create('pseudo-group');
}, 90_000);

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  for (const c of clients) c.close();
  await etcd?.stop();
});

describe('GDPR pseudonyms in a hub group (etcd)', () => {
  it('a user pseudonymised on hub A is masked in what hub B stores; a hub joining later brings its own list', async () => {
    const a = await hub();
    const b = await hub();
    await Promise.all([a.store.start(10_000), b.store.start(10_000)]);
    await a.users.share(a.store);
    await b.users.share(b.store);

    const alice = await a.users.add('alice');
    await waitFor("alice's pseudonym on hub B", () => b.store.get('pseudonyms', alice) !== undefined, 10_000, 50);
    expect(b.users.mask(job('alice'))).toMatchObject({ user: alice, name: `${alice}-run` });
    expect(b.users.mask(job('bob'))).toMatchObject({ user: 'bob', name: 'bob-run' });
    // The store holds the pseudonym, never the name.
    expect(JSON.stringify(b.store.entries('pseudonyms'))).not.toContain('alice');

    // Hub C pseudonymised carol while alone; joining the group brings her to A and B.
    const c = await hub();
    const carol = await c.users.add('carol');
    await c.store.start(10_000);
    await c.users.share(c.store);
    await waitFor("carol's pseudonym on hub A", () => a.store.get('pseudonyms', carol) !== undefined, 10_000, 50);
    expect(a.users.mask(job('carol')).user).toBe(carol);
    expect(c.users.mask(job('alice')).user).toBe(alice);
  }, 60_000);
});
