// Network faults of the netns mode (fleet.options.net): nftables rules inside one namespace, or
// the delayer's 200 ms. Each holds for a while under Slurm churn, then heals; recovery counts
// from the heal. Targets (issue 11): lease TTL + 2 s for hub/etcd/Redis faults, 2 s agent-hub.
import { readFileSync } from 'node:fs';
import type { Fleet, Hub } from '../fleet.js';
import type { Netns } from '../netns/net.js';
import { log } from '../progress.js';
import type { Fault, Scenario } from './fault.js';

const ETCD = ['etcd1', 'etcd2', 'etcd3'];
const LEASE_TTL_MS = 3_000; // fleet.ts: etcd.lease_ttl
const HUB_TARGET_MS = LEASE_TTL_MS + 2_000;
const AGENT_TARGET_MS = 2_000;

function netOf(fleet: Fleet): Netns {
  const net = fleet.options.net;
  if (!net) throw new Error('a network scenario needs the netns mode');
  return net;
}

async function leader(fleet: Fleet): Promise<Hub> {
  for (const h of fleet.liveHubs()) if ((await h.leadingToken()) !== undefined) return h;
  throw new Error('no hub leads before the fault');
}

/** Every live hub answers /readyz 200 with etcd ok, Redis ok and fresh replication. */
async function allHealthy(fleet: Fleet): Promise<boolean> {
  for (const h of fleet.liveHubs()) {
    const r = await h.readyz().catch(() => undefined);
    if (!r || r.checks.etcd !== 'ok' || (r.checks.redis !== undefined && r.checks.redis !== 'ok') || (r.checks.replication !== undefined && r.checks.replication !== 'fresh')) return false;
  }
  return fleet.oneLeader();
}

/**
 * From the victim's own log: how long after its last lease renewal (by its monotonic clock) it
 * stopped its singletons ("no longer the leader" with the reason "lease not renewed for N ms").
 */
function stepDownMs(h: Hub, fromByte: number): number | undefined {
  const text = readFileSync(h.logFile, 'utf8').slice(fromByte);
  for (const line of text.split('\n')) {
    if (!line.includes('no longer the leader')) continue;
    const m = /(\d+) ms/.exec(line);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** The leader hub cut from every etcd member (both ways, or only what comes back) but not from agents. */
function leaderFromEtcd(name: string, dir: { out: boolean; in: boolean }): Scenario {
  return [
    name,
    async (fleet): Promise<Fault> => {
      const net = netOf(fleet);
      const v = await leader(fleet);
      const logFrom = readFileSync(v.logFile).length;
      let cutAt = 0;
      let seenStop: number | undefined;
      log(`  leader is ${v.id}: dropping ${dir.out ? 'to' : ''}${dir.out && dir.in ? '/' : ''}${dir.in ? 'from' : ''} etcd in its namespace`);
      return {
        kill: async () => {
          net.fault(v.id, ETCD, dir);
          cutAt = Date.now();
        },
        recovered: () => allHealthy(fleet),
        restore: async () => undefined,
        network: {
          during: async () => {
            if (seenStop === undefined && (await v.leadingToken()) === undefined) seenStop = Date.now() - cutAt;
            const others = await Promise.all(fleet.liveHubs().filter((h) => h !== v).map((h) => h.leadingToken()));
            return seenStop !== undefined && others.some((t) => t !== undefined);
          },
          heal: async () => net.heal(v.id),
          targetMs: HUB_TARGET_MS,
          report: async () => {
            const after = stepDownMs(v, logFrom);
            const bound = Math.round((2 / 3) * LEASE_TTL_MS);
            return {
              stepdown_after_renewal_ms: after ?? -1,
              stepdown_after_cut_ms: seenStop ?? -1,
              stepdown_target_ms: bound,
              ...(after === undefined ? { error: `${v.id} logged no step-down` } : after > bound ? { error: `${v.id} stopped its singletons ${after} ms after its last renewal (target ${bound})` } : {}),
            };
          },
        },
      };
    },
  ];
}

export const leaderCutFromEtcd = leaderFromEtcd('netns: leader hub cut from etcd, not from agents', { out: true, in: true });
export const leaderDeafToEtcd = leaderFromEtcd('netns: asymmetric, leader hub sends to etcd but hears nothing back', { out: false, in: true });

export const agentCutFromHubs: Scenario = [
  'netns: active agent cut from its hubs (both ways)',
  async (fleet): Promise<Fault> => {
    const net = netOf(fleet);
    const a = fleet.active;
    const other = fleet.agents.find((x) => x !== a)!;
    const epoch = (await fleet.liveHubs()[0].cluster())!.epoch;
    let healedAt = 0;
    log(`  cutting ${a.name} off the hubs in its namespace`);
    return {
      kill: async () => net.fault(a.name, ['delay', 'hub-1', 'hub-2', 'hub-3'], {}),
      // The cut agent is heard again by some hub after the heal (a heartbeat on its stream).
      recovered: async () => {
        for (const h of fleet.liveHubs()) if ((await lastSeenMs(h, a.name)) > healedAt) return fleet.tookOver(other, epoch);
        return false;
      },
      restore: async () => undefined,
      network: {
        during: () => fleet.tookOver(other, epoch),
        heal: async () => {
          net.heal(a.name);
          healedAt = Date.now();
        },
        targetMs: AGENT_TARGET_MS,
      },
    };
  },
];

/** sfleet_agent_last_seen_timestamp_seconds of `agent` on hub `h` in ms (0 when not streaming there). */
export async function lastSeenMs(h: Hub, agent: string): Promise<number> {
  const text = (await h.raw('/metrics').catch(() => ({ body: '' }))).body;
  const line = text.split('\n').find((l) => l.startsWith('sfleet_agent_last_seen_timestamp_seconds{') && l.includes(`agent="${agent}"`));
  return line ? Number(line.split(' ').pop()) * 1000 : 0;
}

export const hubCutFromRedis: Scenario = [
  'netns: owning hub cut from Redis, not from etcd',
  async (fleet): Promise<Fault> => {
    const net = netOf(fleet);
    const ownerId = (await fleet.liveHubs()[0].cluster())?.owner_hub;
    const v = fleet.hubs.find((h) => h.id === ownerId) ?? fleet.hubs[0];
    log(`  cutting ${v.id} (owner ${ownerId}) off Redis`);
    return {
      kill: async () => net.fault(v.id, ['redis'], {}),
      recovered: () => allHealthy(fleet),
      restore: async () => undefined,
      network: {
        during: async () => (await v.readyz()).checks.redis !== 'ok',
        holdMs: 3_000,
        heal: async () => net.heal(v.id),
        targetMs: HUB_TARGET_MS,
      },
    };
  },
];

export const packetLoss: Scenario = [
  'netns: 5% packet loss agent-hub and hub-etcd for 20 s',
  async (fleet): Promise<Fault> => {
    const net = netOf(fleet);
    const victims = [...fleet.agents.map((a) => [a.name, ['delay']] as const), ...fleet.hubs.map((h) => [h.id, ETCD] as const)];
    return {
      kill: async () => {
        for (const [name, peers] of victims) net.fault(name, [...peers], { lossPercent: 5 });
        log(`  ${victims.length} namespaces drop 5%: ${net.rules('hub-1').replace(/\s+/g, ' ').trim()}`);
      },
      recovered: () => allHealthy(fleet),
      restore: async () => undefined,
      network: {
        holdMs: 20_000,
        heal: async () => {
          for (const [name] of victims) net.heal(name);
        },
        targetMs: AGENT_TARGET_MS,
      },
    };
  },
];

export const latency: Scenario = [
  'netns: 200 ms latency agent-hub (user-space delayer) for 10 s',
  async (fleet): Promise<Fault> => {
    const delayer = fleet.options.delayer;
    if (!delayer) throw new Error('the latency scenario needs the delayer (netns mode)');
    let marker = '';
    return {
      kill: async () => {
        delayer.set(true);
        marker = String(fleet.engine.submit({ name: 'chaos-delayed' }));
      },
      recovered: () => allHealthy(fleet),
      restore: async () => undefined,
      network: {
        // Under the delay, a job submitted to Slurm still reaches every hub.
        during: async () => {
          for (const h of fleet.liveHubs()) if (!(await h.jobs()).jobs.has(marker)) return false;
          return true;
        },
        holdMs: 10_000,
        heal: async () => delayer.set(false),
        targetMs: AGENT_TARGET_MS,
      },
    };
  },
];
