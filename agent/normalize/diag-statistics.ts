// diag's scheduler, job and RPC statistics (GET /slurm/vX/diag `statistics`). The names are
// the same from v0.0.38 to v0.0.44; only the RPC lists grew fields (queued, dropped...) and
// `average_time` became {set, number} in v0.0.41, so the times come from `total_time`, which
// stays a flat integer (microseconds) in every version.
import type { ControllerDiag, RpcStat } from '../../shared/model/index.js';
import { num, str } from './slurm-values.js';

type Rec = Record<string, unknown>;

/** The busiest users the agent sends; the rest sum into one entry named "" (bounded deltas). */
export const MAX_RPC_USERS = 50;

/** The statistics of one diag answer, or undefined when it carries none of them (older or odd answers). */
export function diagStatistics(s: Rec): ControllerDiag | undefined {
  if (s.schedule_cycle_last === undefined && s.jobs_submitted === undefined && !Array.isArray(s.rpcs_by_message_type)) return undefined;
  const n = (key: string): number => num(s[key]) ?? 0;
  return {
    schedule_cycle_last_us: n('schedule_cycle_last'),
    schedule_cycle_mean_us: n('schedule_cycle_mean'),
    schedule_cycle_max_us: n('schedule_cycle_max'),
    schedule_cycles: n('schedule_cycle_total'),
    backfill_cycle_last_us: n('bf_cycle_last'),
    backfill_cycle_mean_us: n('bf_cycle_mean'),
    backfill_cycle_max_us: n('bf_cycle_max'),
    backfill_cycles: n('bf_cycle_counter'),
    backfilled_jobs: n('bf_backfilled_jobs'),
    jobs_submitted: n('jobs_submitted'),
    jobs_started: n('jobs_started'),
    jobs_completed: n('jobs_completed'),
    jobs_canceled: n('jobs_canceled'),
    jobs_failed: n('jobs_failed'),
    rpcs_by_type: rpcStats(s.rpcs_by_message_type, 'message_type', Infinity),
    rpcs_by_user: rpcStats(s.rpcs_by_user, 'user', MAX_RPC_USERS),
  };
}

/** One RPC list, busiest first, entries without a name or count dropped; past `max`, one "" entry holds the rest. */
function rpcStats(list: unknown, nameKey: string, max: number): RpcStat[] {
  if (!Array.isArray(list)) return [];
  const out: RpcStat[] = [];
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue;
    const r = item as Rec;
    // rpcs_by_user names a user slurmctld cannot resolve by its uid only.
    const name = str(r[nameKey]) || (nameKey === 'user' && num(r.user_id) !== undefined ? String(num(r.user_id)) : '');
    const count = num(r.count);
    if (name === '' || count === undefined) continue;
    out.push({ name, count, total_time_us: num(r.total_time) ?? 0 });
  }
  out.sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (out.length <= max) return out;
  const rest: RpcStat = { name: '', count: 0, total_time_us: 0 };
  for (const r of out.slice(max)) {
    rest.count += r.count;
    rest.total_time_us += r.total_time_us;
  }
  return [...out.slice(0, max), rest];
}
