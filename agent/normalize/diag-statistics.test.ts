import { describe, expect, it } from 'vitest';
import { adapterFor, SUPPORTED_VERSIONS } from './index.js';
import { MAX_RPC_USERS } from './diag-statistics.js';

/** A diag answer as the v0.0.41..v0.0.44 specs write it (no recorded one exists): times {set, number}, RPC lists with queued/dropped. */
function diag41(users: number): unknown {
  return {
    meta: { slurm: { release: '25.11.0' } },
    errors: [],
    statistics: {
      req_time: { set: true, infinite: false, number: 1_796_586_671 },
      server_thread_count: 4, agent_queue_size: 2, jobs_running: 1, jobs_pending: 5,
      schedule_cycle_last: 812, schedule_cycle_mean: 640, schedule_cycle_max: 9100, schedule_cycle_sum: 40_000, schedule_cycle_total: 62,
      bf_cycle_last: 15_000, bf_cycle_mean: 12_000, bf_cycle_max: 80_000, bf_cycle_counter: 9, bf_backfilled_jobs: 3,
      jobs_submitted: 40, jobs_started: 35, jobs_completed: 30, jobs_canceled: 2, jobs_failed: 1,
      rpcs_by_message_type: [
        { type_id: 2003, message_type: 'REQUEST_JOB_INFO', count: 5, queued: 0, dropped: 0, cycle_last: 0, cycle_max: 0, total_time: 5000, average_time: { set: true, infinite: false, number: 1000 } },
        { type_id: 1008, message_type: 'REQUEST_PING', count: 90, queued: 0, dropped: 0, cycle_last: 0, cycle_max: 0, total_time: 9000, average_time: { set: true, infinite: false, number: 100 } },
        { type_id: 1, message_type: '', count: 3, total_time: 3 },
      ],
      rpcs_by_user: Array.from({ length: users }, (_, i) => ({ user_id: 1000 + i, user: i === 0 ? '' : `u${i}`, count: 1000 - i, total_time: 10 * (1000 - i), average_time: { set: true, infinite: false, number: 10 } })),
      pending_rpcs: [],
      pending_rpcs_by_hostlist: [],
    },
  };
}

describe('diag statistics', () => {
  it('reads the v0.0.41+ shapes: total_time flat, average_time ignored, busiest RPC type first, nameless entries dropped', () => {
    for (const v of SUPPORTED_VERSIONS.filter((x) => x >= 'v0.0.41')) {
      const { diag, server_thread_count } = adapterFor(v).diag(diag41(3));
      expect(server_thread_count).toBe(4);
      expect(diag).toMatchObject({
        schedule_cycle_last_us: 812, schedule_cycle_mean_us: 640, schedule_cycle_max_us: 9100, schedule_cycles: 62,
        backfill_cycle_last_us: 15_000, backfill_cycle_mean_us: 12_000, backfill_cycle_max_us: 80_000, backfill_cycles: 9, backfilled_jobs: 3,
        jobs_submitted: 40, jobs_started: 35, jobs_completed: 30, jobs_canceled: 2, jobs_failed: 1,
      });
      expect(diag!.rpcs_by_type).toEqual([{ name: 'REQUEST_PING', count: 90, total_time_us: 9000 }, { name: 'REQUEST_JOB_INFO', count: 5, total_time_us: 5000 }]);
      // A user slurmctld cannot name is its uid.
      expect(diag!.rpcs_by_user.map((u) => u.name)).toEqual(['1000', 'u1', 'u2']);
    }
  });

  it(`sends the ${MAX_RPC_USERS} busiest users and sums the rest into one entry named ""`, () => {
    const { diag } = adapterFor('v0.0.44').diag(diag41(MAX_RPC_USERS + 30));
    const users = diag!.rpcs_by_user;
    expect(users).toHaveLength(MAX_RPC_USERS + 1);
    const rest = users[MAX_RPC_USERS];
    expect(rest.name).toBe('');
    // users 50..79 have counts 950..921
    expect(rest.count).toBe(Array.from({ length: 30 }, (_, i) => 950 - i).reduce((a, b) => a + b, 0));
    expect(rest.total_time_us).toBe(rest.count * 10);
  });

  it('leaves the statistics out of an answer that has none, and skips odd list entries', () => {
    expect(adapterFor('v0.0.40').diag({ statistics: { server_thread_count: 1 } }).diag).toBeUndefined();
    const { diag } = adapterFor('v0.0.39').diag({ statistics: { jobs_submitted: -1, rpcs_by_message_type: [null, 7, { message_type: 'X' }, { message_type: 'Y', count: 2 }] } });
    expect(diag).toMatchObject({ jobs_submitted: 0, rpcs_by_type: [{ name: 'Y', count: 2, total_time_us: 0 }], rpcs_by_user: [] });
  });
});
