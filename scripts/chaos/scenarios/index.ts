// The scenarios in the order they run (each starts from the fleet the previous one left).
import { cutAgentNetwork, killActiveAgent } from './agents.js';
import type { Scenario } from './fault.js';
import { killFollowerHub, killLeaderHub, killOwningHub } from './hubs.js';
import { killEtcdLeader, killRedis } from './services.js';

export type { Fault, Scenario } from './fault.js';

export const scenarios: Scenario[] = [killLeaderHub, killFollowerHub, killEtcdLeader, killRedis, killActiveAgent, cutAgentNetwork, killOwningHub];
