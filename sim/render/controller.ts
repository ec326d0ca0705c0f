// /ping and /diag, per API version.
import { num, type RenderContext } from './common.js';

export function controllerHost(cluster: string): string {
  return `${cluster}-ctl`;
}

export function renderPing(ctx: RenderContext): Record<string, unknown> {
  const n = ctx.v.n;
  const hostname = controllerHost(ctx.engine.cluster);
  if (n === 38) return { hostname, ping: 'UP', status: 0, mode: 'primary' };
  const latency = 800 + (ctx.engine.now % 700);
  if (n >= 42) return { hostname, pinged: 'UP', responding: true, latency, mode: 'primary', primary: true };
  return { hostname, pinged: 'UP', latency, mode: 'primary' };
}

export function renderDiag(ctx: RenderContext): Record<string, unknown> {
  const n = ctx.v.n;
  const e = ctx.engine;
  // req_time is slurmctld's clock at the request: clients use it as their next update_time.
  const now = e.clockSecond();
  const time = (t: number) => (n >= 40 ? num(t) : t);
  const cycles = Math.max(1, now - e.startedAt);
  const s: Record<string, unknown> = {};
  if (n === 38) {
    s.rpcs_by_message_type = rpcsByType(ctx);
    s.rpcs_by_user = [{ user: 'root', user_id: 0, count: 60, average_time: 393, total_time: 23_580 }];
  }
  Object.assign(s, {
    parts_packed: 1,
    req_time: time(now),
    req_time_start: time(e.startedAt),
    server_thread_count: 3,
    agent_queue_size: 0,
    agent_count: 0,
    agent_thread_count: 0,
    dbd_agent_queue_size: 0,
    gettimeofday_latency: 14,
    schedule_cycle_max: 4_120,
    schedule_cycle_last: 310,
  });
  if (n >= 41) s.schedule_cycle_sum = 310 * cycles;
  Object.assign(s, {
    schedule_cycle_total: cycles,
    schedule_cycle_mean: 310,
    schedule_cycle_mean_depth: 12,
    schedule_cycle_per_minute: 60,
  });
  if (n >= 41) s.schedule_cycle_depth = 12 * cycles;
  if (n >= 40) s.schedule_exit = { end_job_queue: cycles, default_queue_depth: 0, max_job_start: 0, max_rpc_cnt: 0, max_sched_time: 0, licenses: 0 };
  Object.assign(s, {
    schedule_queue_length: e.countByState('PENDING'),
    jobs_submitted: e.stats.submitted,
    jobs_started: e.stats.started,
    jobs_completed: e.stats.completed,
    jobs_canceled: e.stats.canceled,
    jobs_failed: e.stats.failed,
    jobs_pending: e.countByState('PENDING'),
    jobs_running: e.countByState('RUNNING'),
    job_states_ts: time(now),
    bf_backfilled_jobs: 0,
    bf_last_backfilled_jobs: 0,
    bf_backfilled_het_jobs: 0,
    bf_cycle_counter: Math.floor(cycles / 30),
    bf_cycle_mean: 0,
  });
  if (n === 38) {
    Object.assign(s, { bf_depth_mean: 0, bf_depth_mean_try: 0, bf_cycle_last: 0, bf_cycle_max: 0 });
  } else {
    Object.assign(s, { bf_depth_mean: 0, bf_depth_mean_try: 0, bf_cycle_sum: 0, bf_cycle_last: 0 });
    if (n >= 41) s.bf_cycle_max = 0;
    if (n >= 41) s.bf_exit = bfExit();
    Object.assign(s, { bf_last_depth: 0, bf_last_depth_try: 0, bf_depth_sum: 0, bf_depth_try_sum: 0 });
  }
  Object.assign(s, { bf_queue_len: 0, bf_queue_len_mean: 0 });
  if (n >= 39) s.bf_queue_len_sum = 0;
  s.bf_table_size = 0;
  if (n >= 41) s.bf_table_size_sum = 0;
  Object.assign(s, { bf_table_size_mean: 0, bf_when_last_cycle: time(now - (now % 30)), bf_active: false });
  if (n === 40) s.bf_exit = bfExit();
  if (n >= 39) {
    s.rpcs_by_message_type = rpcsByType(ctx);
    s.rpcs_by_user = rpcsByUser(ctx);
  }
  if (n >= 41) {
    s.pending_rpcs = [];
    s.pending_rpcs_by_hostlist = [];
  }
  return s;
}

function bfExit(): Record<string, number> {
  return { end_job_queue: 0, bf_max_job_start: 0, bf_max_job_test: 0, bf_max_time: 0, bf_node_space_size: 0, state_changed: 0 };
}

function rpcsByType(ctx: RenderContext): Record<string, unknown>[] {
  const rows: [string, number, number][] = [
    ['REQUEST_PING', 1008, 115],
    ['REQUEST_JOB_INFO', 2003, 16_000],
    ['REQUEST_NODE_INFO', 2007, 293],
    ['REQUEST_PARTITION_INFO', 2009, 126],
  ];
  const count = Math.max(1, ctx.engine.now - ctx.engine.startedAt);
  return rows.map(([message_type, type_id, avg]) => {
    const r: Record<string, unknown> = { message_type, type_id, count, average_time: avg, total_time: avg * count };
    if (ctx.v.n >= 41) {
      r.average_time = num(avg);
      r.queued = 0;
      r.dropped = 0;
      r.cycle_last = 0;
      r.cycle_max = 0;
    }
    return r;
  });
}

function rpcsByUser(ctx: RenderContext): Record<string, unknown>[] {
  const count = Math.max(1, ctx.engine.now - ctx.engine.startedAt) * 4;
  const r: Record<string, unknown> = { user: 'root', user_id: 0, count, average_time: 393, total_time: 393 * count };
  if (ctx.v.n >= 41) r.average_time = num(393);
  return [r];
}
