// Clustered hubs, item 1 of issue 3: membership, election and fencing in etcd. Three hubs run
// as child processes against a private 3-member etcd and Redis (scripts/services/start.sh on
// free ports); every failure is a kill -9 (or a freeze), every recovery is measured and
// printed ("[ha] ..."), and the fleet state is checked to converge after each.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { etcdConfigSchema } from '../hub/config/index.js';
import { createEtcdClient, EtcdLeadership, fencedPut, FencedOffError, type LeaderContext } from '../hub/leader/index.js';
import { RedisFence, replicationKeys } from '../hub/replication/index.js';
import { testLogger } from './harness/run-logs.js';
import { HaServices } from './harness/ha-services.js';
import { HubProcess } from './harness/ha-hubs.js';
import { makePki, type TestPki } from './harness/pki.js';
import { waitFor } from './harness/wait.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';

const REGION = 'ha-lead';
const TTL_MS = 3_000;
let services: HaServices;
let pki: TestPki;
let dir: string;
let hubs: HubProcess[] = [];
let agent: RunningAgent | undefined;
const source = new ScriptedSource('beta');

function cliEnv(h: HubProcess): NodeJS.ProcessEnv {
  return { ...process.env, SFLEET_HUB: h.httpUrl, SFLEET_CA: pki.ca, SFLEET_CERT: pki.client.cert, SFLEET_KEY: pki.client.key, HOME: dir };
}

/** Polls until exactly one of `candidates` says it leads; returns it, its token and the time taken. */
async function oneLeader(candidates: HubProcess[], timeoutMs = 15_000): Promise<{ hub: HubProcess; token: number; ms: number }> {
  const t0 = Date.now();
  let found: { hub: HubProcess; token: number } | undefined;
  await waitFor(
    'one leader',
    async () => {
      const tokens = await Promise.all(candidates.map((h) => h.leadingToken().catch(() => undefined)));
      const leading = candidates.map((hub, i) => ({ hub, token: tokens[i] })).filter((x) => x.token !== undefined);
      if (leading.length > 1) throw new Error(`two leaders at once: ${leading.map((l) => l.hub.opts.id).join(', ')}`);
      found = leading[0] as { hub: HubProcess; token: number } | undefined;
      return !!found;
    },
    timeoutMs,
    50,
  );
  return { ...found!, ms: Date.now() - t0 };
}

async function converged(expectCount: number, among: HubProcess[], timeoutMs = 20_000): Promise<number> {
  const t0 = Date.now();
  await waitFor(
    `${expectCount} jobs on ${among.map((h) => h.opts.id).join(', ')}`,
    async () => {
      const lists = await Promise.all(among.map((h) => h.jobs()));
      return lists.every((l) => l.length === expectCount && JSON.stringify(l) === JSON.stringify(lists[0]));
    },
    timeoutMs,
    100,
  );
  return Date.now() - t0;
}

async function memberIds(h: HubProcess): Promise<string[]> {
  const r = await h.client().json<{ items: { hub_id: string }[] }>('GET', '/api/v1/hubs');
  return r.items.map((m) => m.hub_id);
}

beforeAll(async () => {
  assertBuilt();
  services = await HaServices.create('ha-lead');
  pki = await makePki();
  dir = mkdtempSync(join(tmpdir(), 'ha-lead-'));
  source.model.job = Array.from({ length: 20 }, (_, i) => makeJob('beta', 1 + i));
  const mk = (id: string): HubProcess => new HubProcess({ id, region: REGION, dir, pki, etcdEndpoints: services.etcdEndpoints, redisUrl: services.redisUrl });
  hubs = [mk('hub-1'), mk('hub-2'), mk('hub-3')];
  await hubs[0].start(); // first: it becomes the leader
  await Promise.all([hubs[1].start(), hubs[2].start()]);
  agent = await startTestAgent(
    {
      cluster: 'beta',
      name: 'head1',
      endpoints: hubs.map((h) => h.grpcAddress),
      backoff: ['100ms', '500ms'],
      tls: await pki.agent('beta', 'agent-beta'),
      spoolDir: mkdtempSync(join(tmpdir(), 'ha-spool-')),
    },
    { logger: testLogger('ha-leadership'), source },
  );
  await converged(20, hubs);
});

afterAll(async () => {
  await agent?.close();
  for (const h of hubs) await h.kill();
  await services?.stop();
});

describe('membership and leadership in etcd', () => {
  it('one leader per region; `sfleet hubs` lists every member with its health', async () => {
    const { hub: leader } = await oneLeader(hubs);
    expect(leader).toBe(hubs[0]);
    // Every member healthy, hub-1 with the agent (records refresh every lease_ttl / 3).
    await waitFor(
      'three healthy members',
      async () => {
        const r = await hubs[1].client().json<{ items: { health: string; ingesting: string[] }[] }>('GET', '/api/v1/hubs');
        return r.items.length === 3 && r.items.every((m) => m.health === 'ok') && r.items[0].ingesting.includes('beta');
      },
      10_000,
      100,
    );
    const answer = JSON.parse(await sfleet(['hubs', '-o', 'json'], cliEnv(hubs[1]))) as {
      mode: string;
      etcd: string;
      leader: string;
      items: { hub_id: string; leader: boolean; health: string; ready: boolean; redis: string; http_url: string; ingesting: string[] }[];
    };
    expect(answer).toMatchObject({ mode: 'clustered', etcd: 'ok', leader: 'hub-1' });
    expect(answer.items.map((m) => [m.hub_id, m.leader, m.health, m.redis]), JSON.stringify(answer.items)).toEqual([
      ['hub-1', true, 'ok', 'ok'],
      ['hub-2', false, 'ok', 'ok'],
      ['hub-3', false, 'ok', 'ok'],
    ]);
    expect(answer.items[0].http_url).toBe(hubs[0].httpUrl);
    expect(answer.items[0].ingesting).toEqual(['beta']);
    const table = await sfleet(['hubs'], cliEnv(hubs[2]));
    expect(table).toMatch(/^HUB\s+LEADER\s+HEALTH/);
    expect(table).toMatch(/hub-1\s+yes\s+ok/);
    expect(table).toMatch(/region ha-lead \(clustered\), leader: hub-1, etcd: ok/);
    expect(await sfleet(['hubs', '-o', 'yaml'], cliEnv(hubs[2]))).toMatch(/leader: hub-1/);
    // Only the leader runs the singletons.
    expect(await hubs[0].metric('sfleet_hub_singletons_running', 'singleton="replication-compaction"')).toBe(1);
    expect(await hubs[1].metric('sfleet_hub_singletons_running', 'singleton="replication-compaction"')).toBe(0);
    expect(await hubs[1].metric('sfleet_hub_leader')).toBe(0);
  });

  it('kill -9 of the leader hub: another leads within the lease TTL + 1 s with a newer token; the state converges', async () => {
    const old = await oneLeader(hubs);
    await old.hub.kill('SIGKILL');
    const killedAt = Date.now();
    const survivors = hubs.filter((h) => h !== old.hub);
    const next = await oneLeader(survivors);
    const handover = Date.now() - killedAt;
    console.log(`[ha] leader hub kill -9: ${next.hub.opts.id} leads ${handover} ms later (lease TTL ${TTL_MS} ms), token ${old.token} -> ${next.token}`);
    expect(handover).toBeLessThan(TTL_MS + 1_000);
    expect(next.token).toBeGreaterThan(old.token);
    // The agent moves to another hub; what changes meanwhile reaches every survivor.
    source.model.job.push(makeJob('beta', 100), makeJob('beta', 101));
    const ms = await converged(22, survivors);
    console.log(`[ha] leader hub kill -9: the survivors agree on the new state ${Date.now() - killedAt} ms after the kill (${ms} ms after the handover)`);
    // The killed hub comes back as a follower and catches up.
    const t0 = Date.now();
    await old.hub.start();
    await converged(22, hubs);
    console.log(`[ha] leader hub kill -9: restarted, it rejoined and converged in ${Date.now() - t0} ms`);
    expect((await oneLeader(hubs)).hub).toBe(next.hub);
  });

  it('kill -9 of a follower hub: the leader keeps leading; the member is gone within the TTL + 1 s and rejoins', async () => {
    const leader = await oneLeader(hubs);
    const follower = hubs.find((h) => h !== leader.hub)!;
    await follower.kill('SIGKILL');
    const t0 = Date.now();
    await waitFor('member gone', async () => !(await memberIds(leader.hub)).includes(follower.opts.id), 10_000, 50);
    const gone = Date.now() - t0;
    console.log(`[ha] follower hub kill -9: gone from the member list after ${gone} ms; leader unchanged (token ${leader.token})`);
    expect(gone).toBeLessThan(TTL_MS + 1_000);
    const again = await oneLeader(hubs.filter((h) => h !== follower));
    expect([again.hub, again.token]).toEqual([leader.hub, leader.token]);
    source.model.job.push(makeJob('beta', 102));
    const t1 = Date.now();
    await follower.start();
    await waitFor('member back', async () => (await memberIds(leader.hub)).includes(follower.opts.id), 10_000, 100);
    await converged(23, hubs);
    console.log(`[ha] follower hub kill -9: restarted, listed again and converged in ${Date.now() - t1} ms`);
  });

  it('kill -9 of the etcd raft leader: writes stall briefly (tuned client), one hub still leads, the member rejoins', async () => {
    const cfg = etcdConfigSchema.parse({ endpoints: services.etcdEndpoints });
    const tuned = await createEtcdClient(cfg);
    const defaults = new Etcd3({ hosts: services.etcdEndpoints });
    const probe = async (client: Etcd3, name: string, stopAt: number): Promise<number> => {
      let last = Date.now();
      let worst = 0;
      while (Date.now() < stopAt) {
        try {
          await client.put(`probe/${name}`).value(String(Date.now()));
          worst = Math.max(worst, Date.now() - last);
          last = Date.now();
        } catch {
          // a failed write counts as stalled until the next one lands
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      return Math.max(worst, Date.now() - last);
    };
    try {
      const before = await oneLeader(hubs);
      const member = await services.etcdLeader();
      const stopAt = Date.now() + 12_000;
      const probes = Promise.all([probe(tuned, 'tuned', stopAt), probe(defaults, 'defaults', stopAt)]);
      await new Promise((r) => setTimeout(r, 1_000));
      await services.kill(member);
      const killedAt = Date.now();
      const after = await oneLeader(hubs);
      const [tunedStall, defaultStall] = await probes;
      console.log(
        `[ha] etcd raft leader (${member}) kill -9: longest write stall ${tunedStall} ms with the tuned client, ${defaultStall} ms with etcd3's defaults; ` +
          `hub leader ${before.hub.opts.id}/${before.token} -> ${after.hub.opts.id}/${after.token} (${after.ms} ms to confirm)`,
      );
      expect(tunedStall).toBeLessThan(4_000);
      // The new raft leader answers: the hubs' leases and records are alive.
      await waitFor('three members after the raft election', async () => (await memberIds(after.hub)).length === 3, 10_000, 100);
      source.model.job.push(makeJob('beta', 103));
      await converged(24, hubs);
      const t0 = Date.now();
      await services.start(); // restarts the killed member with its data
      console.log(`[ha] etcd raft leader kill -9: member restarted and healthy in ${Date.now() - t0} ms (${Date.now() - killedAt} ms after the kill)`);
      expect(await services.etcdLeader()).toMatch(/^etcd[123]$/);
    } finally {
      tuned.close();
      defaults.close();
    }
  });

  it('a frozen leader (SIGSTOP) is replaced; after SIGCONT it stands down and never leads beside the new one', async () => {
    const old = await oneLeader(hubs);
    old.hub.signal('SIGSTOP');
    const frozenAt = Date.now();
    let next: Awaited<ReturnType<typeof oneLeader>>;
    try {
      next = await oneLeader(hubs.filter((h) => h !== old.hub));
      console.log(`[ha] frozen leader: ${next.hub.opts.id} leads ${Date.now() - frozenAt} ms after the freeze, token ${old.token} -> ${next.token}`);
      // The new leader raised the Redis fence to its token before its singletons started.
      const redis = new Redis(services.redisUrl).on('error', () => undefined);
      try {
        expect(Number(await redis.get(replicationKeys('sfleet', REGION).fence))).toBeGreaterThanOrEqual(next.token);
      } finally {
        redis.disconnect();
      }
    } finally {
      old.hub.signal('SIGCONT');
    }
    const resumedAt = Date.now();
    // It finds its lease lapsed and stops leading; at no sample do two hubs lead.
    await waitFor('old leader stands down', async () => (await old.hub.leadingToken()) === undefined, 5_000, 20);
    console.log(`[ha] frozen leader: stood down ${Date.now() - resumedAt} ms after SIGCONT`);
    for (let i = 0; i < 10; i++) {
      const l = await oneLeader(hubs);
      expect(l.hub).toBe(next.hub);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it("a deposed leader's fenced writes are refused by etcd and by Redis (compare-and-swap on the token)", async () => {
    const cfg = etcdConfigSchema.parse({ endpoints: services.etcdEndpoints, lease_ttl: '3s' });
    const region = 'ha-fence';
    const clients = await Promise.all([createEtcdClient(cfg), createEtcdClient(cfg)]);
    const redis = new Redis(services.redisUrl).on('error', () => undefined);
    const keys = replicationKeys('sfleet', region);
    const fence = new RedisFence(redis, keys);
    const contexts: LeaderContext[] = [];
    const make = (id: string, client: Etcd3): EtcdLeadership => {
      const l = new EtcdLeadership(cfg, {
        client,
        logger: testLogger('ha-leadership'),
        identity: { hub_id: id, region, http_url: '', grpc_address: '', version: 'test' },
        health: () => ({ ready: true, redis: 'ok', stale_clusters: [], ingesting: [] }),
        fences: [fence],
      });
      l.runner.register({ name: 'capture', run: async (ctx) => void contexts.push(ctx) });
      return l;
    };
    const a = make('fence-a', clients[0]);
    const b = make('fence-b', clients[1]);
    try {
      a.start();
      await waitFor('a leads', () => a.status().leading, 10_000, 20);
      b.start();
      await waitFor('b is a member', async () => (await a.members()).items.length === 2, 10_000, 50);
      const stale = contexts.find((c) => c.hubId === 'fence-a')!;
      await stale.put('probe', 'written while leading'); // lands while it leads
      await fence.exec(stale.token, [['SET', `${keys.fence}:probe`, 'a']]);
      // Depose a behind its back: its lease ends in etcd (as after a long pause), b takes over.
      const ns = clients[0].namespace('/sfleet/');
      const [electionKey] = await ns.getAll().prefix(`election/${region}/`).sort('Create', 'Ascend').limit(1).keys();
      await clients[0].leaseClient.leaseRevoke({ ID: electionKey.split('/').pop()! });
      await waitFor('b leads', () => b.status().leading, 10_000, 20);
      const newToken = b.status().token!;
      expect(newToken).toBeGreaterThan(stale.token);
      // The stale leader's late writes, straight at the stores (no local check): refused.
      await expect(fencedPut(ns, electionKey, stale.token, `singleton/${region}/probe`, 'late write')).rejects.toBeInstanceOf(FencedOffError);
      await expect(fence.exec(stale.token, [['SET', `${keys.fence}:probe`, 'late']])).rejects.toThrow(/Redis refused a write of fencing token \d+: token \d+ has written since/);
      expect(await redis.get(`${keys.fence}:probe`)).toBe('a');
      expect(await ns.get(`singleton/${region}/probe`).string()).toBe('written while leading');
      // Through its context too (local check or store check, whichever sees it first).
      await expect(stale.put('probe', 'late write')).rejects.toMatchObject({ code: 'SF_LEADER_FENCED' });
      // The new leader writes fine.
      const fresh = contexts.find((c) => c.hubId === 'fence-b')!;
      await fresh.put('probe', 'new leader');
      await fence.exec(fresh.token, [['SET', `${keys.fence}:probe`, 'b']]);
      expect(await redis.get(`${keys.fence}:probe`)).toBe('b');
    } finally {
      await a.close();
      await b.close();
      for (const c of clients) c.close();
      redis.disconnect();
    }
  });

  it('with etcd down the hubs keep ingesting and serving but run no singleton, and say so; a leader returns with etcd', async () => {
    const downAt = Date.now();
    await Promise.all((['etcd1', 'etcd2', 'etcd3'] as const).map((m) => services.kill(m)));
    await waitFor(
      'every hub reports etcd unreachable and leads nothing',
      async () => {
        const r = await Promise.all(hubs.map((h) => h.readyz()));
        return r.every((x) => x.status === 'ready' && x.checks.etcd.startsWith('unreachable') && x.checks.singletons.startsWith('not run here'));
      },
      TTL_MS + 5_000,
      100,
    );
    console.log(`[ha] etcd down: every hub stopped its singletons and reported it ${Date.now() - downAt} ms after`);
    for (const h of hubs) {
      expect(await h.metric('sfleet_hub_leader')).toBe(0);
      expect(await h.metric('sfleet_hub_etcd_up')).toBe(0);
      expect(await h.metric('sfleet_hub_singletons_running', 'singleton="replication-compaction"')).toBe(0);
    }
    const answer = await hubs[0].client().json<{ error?: string; items: unknown[] }>('GET', '/api/v1/hubs');
    expect(answer.error).toMatch(/etcd unreachable/);
    // Ingest and replication go on without etcd.
    source.model.job.push(makeJob('beta', 104));
    await converged(25, hubs);
    const t0 = Date.now();
    await services.start();
    const back = await oneLeader(hubs, 20_000);
    console.log(`[ha] etcd down: etcd restarted in ${back.ms > 0 ? Date.now() - t0 - back.ms : 0} ms; ${back.hub.opts.id} leads ${Date.now() - t0} ms after the restart began`);
    await waitFor('singletons run again', async () => (await back.hub.metric('sfleet_hub_singletons_running', 'singleton="replication-compaction"')) === 1, 10_000, 100);
  });
});
