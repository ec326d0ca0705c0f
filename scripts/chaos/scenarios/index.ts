// The scenarios in the order they run (each starts from the fleet the previous one left).
// Loopback mode: the kills and the TCP-proxy blackholes. Netns mode: the network faults
// (nftables inside the namespaces, the delayer), most important first.
import { cutAgentNetwork, killActiveAgent } from './agents.js';
import type { Scenario } from './fault.js';
import { killFollowerHub, killLeaderHub, killOwningHub } from './hubs.js';
import { agentCutFromHubs, hubCutFromRedis, latency, leaderCutFromEtcd, leaderDeafToEtcd, packetLoss } from './network.js';
import { regionCut } from './region.js';
import { killEtcdLeader, killRedis } from './services.js';

export type { Fault, NetworkFault, Scenario, ScenarioContext } from './fault.js';

export const scenarios: Scenario[] = [killLeaderHub, killFollowerHub, killEtcdLeader, killRedis, killActiveAgent, cutAgentNetwork, killOwningHub];

export const netnsScenarios: Scenario[] = [
  leaderCutFromEtcd,
  agentCutFromHubs,
  hubCutFromRedis,
  leaderDeafToEtcd,
  packetLoss,
  latency,
  regionCut,
];
