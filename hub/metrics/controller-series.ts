// slurmctld's health as the agents report it (ControllerHealth: ping + diag). Labels: cluster
// and controller (one or two per cluster); RPCs add their message type (a few dozen in use) and
// the busiest users (top N per cluster, the rest as user="other"), so a fleet of busy clusters
// stays a few hundred series. diag's counts run since slurmctld last reset them (restart,
// midnight UTC, `sdiag --reset`): they are counters, and rate() takes a reset as one.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ControllerDiag, ControllerHealth, RpcStat } from '../../shared/model/index.js';
import type { FleetState } from '../fleet/index.js';

type Labels = { cluster: string; controller: string };
type Each = (fn: (labels: Labels, c: ControllerHealth) => void) => void;

const MICRO = 1e6;

export interface ControllerSeriesOptions {
  /** RPC users served per cluster; the rest sum into user="other". Default 10. */
  topRpcUsers?: number;
}

export function registerControllerMetrics(registry: Registry, state: FleetState, options: ControllerSeriesOptions = {}): void {
  const each: Each = (fn) => {
    for (const cluster of state.clusters.values()) for (const c of cluster.objects.controller.values()) fn({ cluster: cluster.name, controller: c.hostname }, c);
  };
  new Gauge({
    name: 'sfleet_controller_up',
    help: 'slurmctld answers ping (1) or not (0), by controller and mode (primary, backup)',
    labelNames: ['cluster', 'controller', 'mode'],
    registers: [registry],
    collect() {
      this.reset();
      each((l, c) => this.set({ ...l, mode: c.mode }, c.responding ? 1 : 0));
    },
  });
  const gauge = (name: string, help: string, read: (c: ControllerHealth) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['cluster', 'controller'],
      registers: [registry],
      collect() {
        this.reset();
        each((l, c) => {
          const v = read(c);
          if (v !== undefined) this.set(l, v);
        });
      },
    });
  gauge('sfleet_controller_ping_latency_seconds', 'Round trip of the last ping of slurmctld through slurmrestd', (c) => (c.latency_ms === undefined ? undefined : c.latency_ms / 1000));
  gauge('sfleet_controller_server_threads', 'slurmctld server threads in use (diag)', (c) => c.server_thread_count);
  gauge('sfleet_controller_agent_queue_size', 'slurmctld agent queue size: RPCs to slurmds waiting (diag)', (c) => c.agent_queue_size);
  registerDiagMetrics(registry, each, options.topRpcUsers ?? 10);
}

function registerDiagMetrics(registry: Registry, each: Each, topUsers: number): void {
  const diagGauge = (name: string, help: string, read: (d: ControllerDiag) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['cluster', 'controller'],
      registers: [registry],
      collect() {
        this.reset();
        each((l, c) => c.diag && this.set(l, read(c.diag)));
      },
    });
  const diagCounter = (name: string, help: string, read: (d: ControllerDiag) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['cluster', 'controller'],
      registers: [registry],
      collect() {
        this.reset();
        each((l, c) => c.diag && this.inc(l, read(c.diag)));
      },
    });
  diagGauge('sfleet_controller_schedule_cycle_last_seconds', 'Duration of the last main scheduling cycle (diag)', (d) => d.schedule_cycle_last_us / MICRO);
  diagGauge('sfleet_controller_schedule_cycle_mean_seconds', 'Mean duration of the main scheduling cycles since the reset (diag)', (d) => d.schedule_cycle_mean_us / MICRO);
  diagGauge('sfleet_controller_schedule_cycle_max_seconds', 'Longest main scheduling cycle since the reset (diag)', (d) => d.schedule_cycle_max_us / MICRO);
  diagCounter('sfleet_controller_schedule_cycles_total', 'Main scheduling cycles (diag; resets with slurmctld statistics)', (d) => d.schedule_cycles);
  diagGauge('sfleet_controller_backfill_cycle_last_seconds', 'Duration of the last backfill scheduling cycle (diag)', (d) => d.backfill_cycle_last_us / MICRO);
  diagGauge('sfleet_controller_backfill_cycle_mean_seconds', 'Mean duration of the backfill cycles since the reset (diag)', (d) => d.backfill_cycle_mean_us / MICRO);
  diagGauge('sfleet_controller_backfill_cycle_max_seconds', 'Longest backfill cycle since the reset (diag)', (d) => d.backfill_cycle_max_us / MICRO);
  diagCounter('sfleet_controller_backfill_cycles_total', 'Backfill scheduling cycles (diag; resets with slurmctld statistics)', (d) => d.backfill_cycles);
  diagCounter('sfleet_controller_backfilled_jobs_total', 'Jobs started by the backfill scheduler (diag; resets with slurmctld statistics)', (d) => d.backfilled_jobs);
  new Counter({
    name: 'sfleet_controller_jobs_total',
    help: 'Jobs submitted, started, completed, canceled and failed, by event (diag; resets with slurmctld statistics)',
    labelNames: ['cluster', 'controller', 'event'],
    registers: [registry],
    collect() {
      this.reset();
      each((l, c) => {
        const d = c.diag;
        if (!d) return;
        this.inc({ ...l, event: 'submitted' }, d.jobs_submitted);
        this.inc({ ...l, event: 'started' }, d.jobs_started);
        this.inc({ ...l, event: 'completed' }, d.jobs_completed);
        this.inc({ ...l, event: 'canceled' }, d.jobs_canceled);
        this.inc({ ...l, event: 'failed' }, d.jobs_failed);
      });
    },
  });
  const rpc = (by: 'type' | 'user', list: (d: ControllerDiag) => RpcStat[]) => {
    const prefix = by === 'type' ? 'sfleet_controller_rpcs' : 'sfleet_controller_user_rpcs';
    const what = by === 'type' ? 'by message type' : `by user (the ${topUsers} busiest per cluster, the rest as "other")`;
    const rows = (d: ControllerDiag) => (by === 'type' ? list(d) : topN(list(d), topUsers));
    new Counter({
      name: `${prefix}_total`,
      help: `RPCs slurmctld served ${what} (diag)`,
      labelNames: ['cluster', 'controller', by],
      registers: [registry],
      collect() {
        this.reset();
        each((l, c) => c.diag && rows(c.diag).forEach((r) => this.inc({ ...l, [by]: r.name }, r.count)));
      },
    });
    new Counter({
      name: `${prefix.replace(/_rpcs$/, '_rpc')}_time_seconds_total`,
      help: `Time slurmctld spent serving RPCs ${what} (diag)`,
      labelNames: ['cluster', 'controller', by],
      registers: [registry],
      collect() {
        this.reset();
        each((l, c) => c.diag && rows(c.diag).forEach((r) => this.inc({ ...l, [by]: r.name }, r.total_time_us / MICRO)));
      },
    });
  };
  rpc('type', (d) => d.rpcs_by_type);
  rpc('user', (d) => d.rpcs_by_user);
}

/** The `n` busiest named entries; the rest (and the agent's own "" remainder) as "other". */
function topN(list: RpcStat[], n: number): RpcStat[] {
  const named = list.filter((r) => r.name !== '').sort((a, b) => b.count - a.count);
  const out = named.slice(0, n);
  const rest = [...named.slice(n), ...list.filter((r) => r.name === '')];
  if (rest.length === 0) return out;
  const other: RpcStat = { name: 'other', count: 0, total_time_us: 0 };
  for (const r of rest) {
    other.count += r.count;
    other.total_time_us += r.total_time_us;
  }
  // A user named "other" shares the row rather than making a second one.
  const same = out.find((r) => r.name === 'other');
  if (same) return out.map((r) => (r === same ? { name: 'other', count: r.count + other.count, total_time_us: r.total_time_us + other.total_time_us } : r));
  return [...out, other];
}
