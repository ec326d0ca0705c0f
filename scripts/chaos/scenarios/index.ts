// The scenarios in the order they run (each starts from the fleet the previous one left).
// Loopback mode (only where `ip netns add` is refused): the kills and the TCP-proxy blackholes.
// Netns mode: the same kills on namespaced processes, then the network faults (nftables inside
// the namespaces, the delayer; they replace the proxy blackhole), most important first.
import { cutAgentNetwork, killActiveAgent } from './agents.js';
import type { Scenario } from './fault.js';
import { killFollowerHub, killLeaderHub, killOwningHub } from './hubs.js';
import { agentCutFromHubs, hubCutFromRedis, latency, leaderCutFromEtcd, leaderDeafToEtcd, packetLoss } from './network.js';
import { regionCut } from './region.js';
import { killEtcdLeader, killRedis } from './services.js';

export type { Fault, NetworkFault, Scenario, ScenarioContext } from './fault.js';

export const scenarios: Scenario[] = [killLeaderHub, killFollowerHub, killEtcdLeader, killRedis, killActiveAgent, cutAgentNetwork, killOwningHub];

export const netnsScenarios: Scenario[] = [
  killLeaderHub,
  killFollowerHub,
  killEtcdLeader,
  killRedis,
  killActiveAgent,
  killOwningHub,
  leaderCutFromEtcd,
  agentCutFromHubs,
  hubCutFromRedis,
  leaderDeafToEtcd,
  packetLoss,
  latency,
  regionCut,
];
