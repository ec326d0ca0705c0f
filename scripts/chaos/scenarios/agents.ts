// Faults of the active agent: kill -9, a network cut between it and its hubs.
import { log } from '../progress.js';
import type { Fault, Scenario } from './fault.js';

export const killActiveAgent: Scenario = [
  'kill -9 active agent',
  async (fleet): Promise<Fault> => {
    const a = fleet.active;
    const other = fleet.agents.find((x) => x !== a)!;
    const epoch = (await fleet.hubs.find((h) => h.alive)!.cluster())!.epoch;
    log(`  active agent is ${a.name}`);
    return {
      kill: () => a.proc!.kill('SIGKILL'),
      recovered: () => fleet.tookOver(other, epoch),
      restore: async () => a.start(),
    };
  },
];

export const cutAgentNetwork: Scenario = [
  'network cut agent-hub (blackhole)',
  async (fleet): Promise<Fault> => {
    const a = fleet.active;
    const other = fleet.agents.find((x) => x !== a)!;
    const epoch = (await fleet.hubs.find((h) => h.alive)!.cluster())!.epoch;
    log(`  cutting ${a.name} off its hubs`);
    return {
      kill: async () => {
        for (const p of a.proxies) p.blackhole();
      },
      recovered: () => fleet.tookOver(other, epoch),
      restore: async () => {
        for (const p of a.proxies) p.restore();
      },
    };
  },
];
