// kill -9 of a hub: the leader, a follower, the hub that owns the cluster.
import { sleep } from '../../../test/harness/index.js';
import { log, waitFor } from '../progress.js';
import type { Fleet, Hub } from '../fleet.js';
import type { Fault, Scenario } from './fault.js';
import { lastSeenMs } from './network.js';

export const killLeaderHub: Scenario = [
  'kill -9 leader hub',
  async (fleet): Promise<Fault> => {
    let victim: Hub | undefined;
    for (const h of fleet.hubs) if ((await h.leadingToken().catch(() => undefined)) !== undefined) victim = h;
    if (!victim) throw new Error('no hub leads before the fault');
    const v = victim;
    log(`  leader is ${v.id}`);
    return { kill: () => v.kill(), recovered: () => fleet.oneLeader(), restore: async () => void (await v.start()) };
  },
];

export const killFollowerHub: Scenario = [
  'kill -9 follower hub',
  async (fleet): Promise<Fault> => {
    const tokens = await Promise.all(fleet.hubs.map((h) => h.leadingToken().catch(() => undefined)));
    const v = fleet.hubs.find((_, i) => tokens[i] === undefined)!;
    log(`  follower is ${v.id}`);
    return { kill: () => v.kill(), recovered: () => fleet.oneLeader(), restore: async () => void (await v.start()) };
  },
];

export const killOwningHub: Scenario = [
  'kill -9 owning hub (agents on two hubs)',
  async (fleet: Fleet): Promise<Fault> => {
    const { hubs, agents, active } = fleet;
    // The standby is moved off the owning hub first (its link there blackholed), so the two
    // agents of the cluster stream to two hubs: only the owner's may be active.
    const ownerId = (await hubs.find((h) => h.alive)!.cluster())?.owner_hub;
    const owner = hubs.find((h) => h.id === ownerId && h.alive);
    if (!owner) throw new Error(`no live hub owns the cluster before the fault (owner_hub ${ownerId})`);
    const i = hubs.indexOf(owner);
    const standby = agents.find((x) => x !== active)!;
    const { net, delayer } = fleet.options;
    // Loopback: its proxy to the owner blackholed. Netns: its namespace drops the delayer's route to the owner.
    const route = delayer ? Number(delayer.endpoints[i].split(':').pop()) : undefined;
    const movedAt = Date.now();
    if (net && route !== undefined) net.fault(standby.name, ['delay'], { port: route });
    else standby.proxies[i].blackhole();
    const onOther = async (): Promise<boolean> => {
      if (!net) return standby.proxies.some((p, j) => j !== i && p.connections > 0);
      for (const h of hubs) if (h !== owner && h.alive && (await lastSeenMs(h, standby.name)) > movedAt) return true;
      return false;
    };
    await waitFor(`${standby.name} on another hub`, onOther, 20_000);
    await sleep(1_000);
    const views = await Promise.all(hubs.filter((h) => h.alive).map((h) => h.cluster()));
    if (!views.every((c) => c?.owner_hub === owner.id && c.agent === active.name)) throw new Error(`before the fault not every hub names ${owner.id}/${active.name}: ${JSON.stringify(views)}`);
    log(`  ${active.name} active on ${owner.id} (the owner), ${standby.name} standby on another hub`);
    return {
      kill: () => owner.kill(),
      // Another live hub owns the cluster, every live hub says so, and one leads.
      recovered: async () => {
        const live = hubs.filter((h) => h.alive);
        const cs = await Promise.all(live.map((h) => h.cluster()));
        return cs.every((c) => c?.connected && c.owner_hub && c.owner_hub !== owner.id && c.owner_hub === cs[0]?.owner_hub) && (await fleet.oneLeader());
      },
      restore: async () => {
        if (net) net.heal(standby.name);
        else standby.proxies[i].restore();
        await owner.start();
      },
    };
  },
];
