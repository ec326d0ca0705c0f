// kill -9 of a backing service: the etcd raft leader, Redis.
import { sleep } from '../../../test/harness/index.js';
import { log, waitFor } from '../progress.js';
import { CLUSTER } from '../fleet.js';
import type { Fault, Scenario } from './fault.js';

export const killEtcdLeader: Scenario = [
  'kill -9 etcd raft leader',
  async (fleet): Promise<Fault> => {
    const { services } = fleet;
    // A loaded machine may be between two raft elections at this moment: ask for a while, each
    // member with a generous deadline, before calling the cluster leaderless.
    const m = await waitFor('an etcd raft leader before the fault', () => services.findEtcdLeader(3_000), 20_000, 200);
    log(`  raft leader is ${m}`);
    return {
      kill: () => services.kill(m),
      recovered: async () => (await services.findEtcdLeader(1_000)) !== undefined && (await fleet.oneLeader()),
      restore: () => services.start(120_000),
    };
  },
];

export const killRedis: Scenario = [
  'kill -9 redis',
  async (fleet): Promise<Fault> => ({
    kill: async () => {
      await fleet.services.kill('redis');
      await sleep(2_000); // an outage, not a blip
      await fleet.services.start(120_000);
    },
    recovered: async () => {
      for (const h of fleet.hubs.filter((x) => x.alive)) if ((await h.raw(`/api/v1/jobs?cluster=${CLUSTER}&limit=1`)).headers['x-sfleet-freshness'] !== 'fresh') return false;
      return true;
    },
    restore: async () => undefined,
  }),
];
