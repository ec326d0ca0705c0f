// The simulated cluster: slurmctld's job queue and node table plus slurmdbd's accounts, driven by
// tick(now). Pure: no I/O and no timers; the caller brings the clock and the seed, so the same seed
// and the same tick times give the same cluster. Each tick costs O(what changed · log n): timed
// events (job ends, purges, node recoveries, begin times) sit in heaps and the scheduler finds
// nodes through per-partition buckets of free CPUs instead of scanning every node or job.
//
// The engine composes its parts over one shared EngineState (state.ts): the scheduler, the job
// lifecycle, node health and the initial jobs. It owns the order they run in, within a tick and
// at start, and that order is the order of the seeded random draws: keep it.
import { compressHostlist } from '../../shared/model/index.js';
import { slurmError } from './command-errors.js';
import { populate } from './initial-jobs.js';
import { JobLifecycle } from './job-lifecycle.js';
import { NodeHealth } from './node-health.js';
import type { SimClock, SimCommand, SimEngineOptions, ResolvedEngineOptions, SubmitSpec, TickSummary } from './options.js';
import { resolveEngineOptions } from './options.js';
import { Scheduler } from './scheduler.js';
import { EngineState } from './state.js';
import type {
  JobState,
  LastUpdate,
  NodeBaseState,
  SimAccount,
  SimAssociation,
  SimJob,
  SimNode,
  SimPartition,
  SimQos,
  SimReservation,
  SimUser,
} from './types.js';

export class SimEngine {
  readonly options: ResolvedEngineOptions;
  readonly cluster: string;
  readonly users: readonly SimUser[];
  readonly accounts: readonly SimAccount[];
  readonly qos: readonly SimQos[];
  readonly associations: SimAssociation[];
  readonly partitions: SimPartition[];
  readonly reservations: SimReservation[];
  readonly nodes: SimNode[];
  readonly lastUpdate: LastUpdate;
  /** The second slurmctld "started" (for diag's req_time_start and the like). */
  readonly startedAt: number;
  /** Jobs ever started/completed/canceled/failed/submitted, for diag. */
  readonly stats: EngineState['stats'];

  private readonly s: EngineState;
  private readonly scheduler: Scheduler;
  private readonly lifecycle: JobLifecycle;
  private readonly health: NodeHealth;

  constructor(opts: SimEngineOptions, deps: { clock: SimClock }) {
    const s = new EngineState(resolveEngineOptions(opts), deps.clock);
    this.s = s;
    this.scheduler = new Scheduler(s);
    this.lifecycle = new JobLifecycle(s, this.scheduler);
    this.health = new NodeHealth(s, this.lifecycle);
    // The tables the renderers read are the state's own objects, not copies.
    this.options = s.options;
    this.cluster = s.cluster;
    this.users = s.users;
    this.accounts = s.accounts;
    this.qos = s.qos;
    this.associations = s.associations;
    this.partitions = s.partitions;
    this.reservations = s.reservations;
    this.nodes = s.nodes;
    this.lastUpdate = s.lastUpdate;
    this.startedAt = s.startedAt;
    this.stats = s.stats;
    // At start: broken nodes, then the jobs already held, then one scheduling pass.
    const now = s.now;
    this.health.breakSomeNodes(now);
    for (const node of s.nodes) s.freeCpus.refile(node);
    populate(s, this.scheduler, this.lifecycle, now);
    this.scheduler.schedule(now);
    s.lastUpdate.jobs = now;
    s.lastUpdate.nodes = now;
    s.lastUpdate.partitions = now;
  }

  // ---- reading ---------------------------------------------------------------------------

  /** Seconds of the last tick (slurmctld's "now"). */
  get now(): number {
    return this.s.now;
  }

  get jobCount(): number {
    return this.s.jobs.size;
  }

  /** All jobs slurmctld holds, ascending id (finished ones until purged). */
  jobs(): IterableIterator<SimJob> {
    return this.s.jobs.values();
  }

  job(id: number): SimJob | undefined {
    return this.s.jobs.get(id);
  }

  node(name: string): SimNode | undefined {
    return this.s.nodeByName.get(name);
  }

  partition(name: string): SimPartition | undefined {
    return this.s.partition(name);
  }

  countByState(state: JobState): number {
    return this.s.stateCounts[state];
  }

  nodeState(node: SimNode): { base: NodeBaseState; flags: string[] } {
    const flags: string[] = [];
    if (node.drain) flags.push('DRAIN');
    if (node.down) return { base: 'DOWN', flags };
    const base: NodeBaseState = node.allocCpus === 0 ? 'IDLE' : node.allocCpus >= node.cpus ? 'ALLOCATED' : 'MIXED';
    return { base, flags };
  }

  /** Compact host list of a job's nodes ("cn[001-004]"), "" when it never ran. */
  jobNodeList(job: SimJob): string {
    return job.alloc.length === 0 ? '' : compressHostlist(job.alloc.map((a) => this.nodes[a.node].name));
  }

  /** The array's pending tasks as Slurm prints them ("5-100%4"), "" when none. */
  arrayTaskString(job: SimJob): string {
    if (job.arrayJobId === 0 || job.arrayTaskId !== null || job.arrayNext > job.arrayEnd) return '';
    const range = job.arrayNext === job.arrayEnd ? `${job.arrayNext}` : `${job.arrayNext}-${job.arrayEnd}`;
    return job.arrayMaxTasks > 0 ? `${range}%${job.arrayMaxTasks}` : range;
  }

  counts(): {
    jobs: Record<JobState, number> & { total: number };
    nodes: { total: number; idle: number; mixed: number; allocated: number; down: number; drain: number; cpus: number; alloc_cpus: number };
  } {
    const nodes = { total: this.nodes.length, idle: 0, mixed: 0, allocated: 0, down: 0, drain: 0, cpus: 0, alloc_cpus: 0 };
    for (const node of this.nodes) {
      const { base } = this.nodeState(node);
      if (base === 'IDLE') nodes.idle++;
      else if (base === 'MIXED') nodes.mixed++;
      else if (base === 'ALLOCATED') nodes.allocated++;
      else nodes.down++;
      if (node.drain) nodes.drain++;
      nodes.cpus += node.cpus;
      nodes.alloc_cpus += node.allocCpus;
    }
    return { jobs: { ...this.s.stateCounts, total: this.s.jobs.size }, nodes };
  }

  // ---- time ------------------------------------------------------------------------------

  /** Advances the cluster to `nowMs` (default: the clock). Going back in time does nothing. */
  tick(nowMs: number = this.s.clockMs()): TickSummary {
    const summary: TickSummary = { arrived: 0, started: 0, finished: 0, purged: 0, nodeFailures: 0, nodeRecoveries: 0 };
    const dtMs = nowMs - this.s.lastTickMs;
    if (dtMs < 0) return summary;
    this.s.lastTickMs = nowMs;
    const now = Math.floor(nowMs / 1000);

    summary.finished = this.lifecycle.finishDue(now);
    summary.nodeRecoveries = this.health.recoverDue(now);
    summary.nodeFailures = this.health.failRandomNodes(dtMs, now);
    const arrivals = this.s.rng.poisson((this.options.arrivalPerMin * dtMs) / 60_000);
    for (let i = 0; i < arrivals; i++) {
      this.lifecycle.submit(this.lifecycle.randomSpec(), now);
      summary.arrived++;
    }
    this.scheduler.admitDue(now);
    summary.started = this.scheduler.schedule(now);
    summary.purged = this.lifecycle.purgeDue(now);
    return summary;
  }

  /** Changes the arrival and failure rates while running (demos, tests). */
  setRates(rates: { arrivalPerMin?: number; nodeFailurePerHour?: number }): void {
    if (rates.arrivalPerMin !== undefined) {
      if (!(rates.arrivalPerMin >= 0)) throw new Error(`arrivalPerMin must be >= 0 (got ${rates.arrivalPerMin})`);
      this.options.arrivalPerMin = rates.arrivalPerMin;
    }
    if (rates.nodeFailurePerHour !== undefined) {
      if (!(rates.nodeFailurePerHour >= 0)) throw new Error(`nodeFailurePerHour must be >= 0 (got ${rates.nodeFailurePerHour})`);
      this.options.nodeFailurePerHour = rates.nodeFailurePerHour;
    }
  }

  /** slurmctld's wall clock in whole seconds (never before the last tick): what diag's req_time says. */
  clockSecond(): number {
    return this.s.clockSecond();
  }

  // ---- commands --------------------------------------------------------------------------

  /** Submits a job (or an array); returns its id. Throws SimCommandError for a bad request. */
  submit(spec: SubmitSpec, nowS?: number): number {
    return this.lifecycle.submit(spec, nowS ?? this.s.clockSecond());
  }

  /** Runs one command as the agent's scontrol/scancel would; throws SimCommandError when Slurm would refuse. */
  command(cmd: SimCommand): void {
    switch (cmd.kind) {
      case 'cancel':
        return this.cancel(parseJobId(cmd.target));
      case 'hold':
        return this.hold(parseJobId(cmd.target));
      case 'release':
        return this.release(parseJobId(cmd.target));
      case 'requeue':
        return this.requeue(parseJobId(cmd.target));
      case 'drain':
        return this.drain(cmd.target, cmd.reason ?? '');
      case 'resume':
        return this.resume(cmd.target);
      default:
        throw new Error(`unknown command kind "${String((cmd as { kind: unknown }).kind)}"`);
    }
  }

  cancel(id: number): void {
    this.lifecycle.cancel(id, this.s.clockSecond());
  }

  hold(id: number, by: 'user' | 'admin' = 'user'): void {
    this.lifecycle.hold(id, by, this.s.clockSecond());
  }

  release(id: number): void {
    this.lifecycle.release(id, this.s.clockSecond());
  }

  /** `scontrol update jobid=N priority=P`: 0 holds (JobHeldAdmin), anything else sets it (and releases). */
  setPriority(id: number, priority: number): void {
    if (priority <= 0) return this.hold(id, 'admin');
    this.lifecycle.setPriority(id, priority, this.s.clockSecond());
  }

  /** `scontrol requeue`: a running or finished job goes back to PENDING (BeginTime for a few seconds). */
  requeue(id: number): void {
    this.lifecycle.requeue(id, this.s.clockSecond());
  }

  drain(name: string, reason: string): void {
    this.health.drain(name, reason, this.s.clockSecond());
  }

  /** `scontrol update nodename=X state=down reason=...`: DOWN until resumed, running jobs NODE_FAIL. */
  down(name: string, reason: string): void {
    this.health.down(name, reason, this.s.clockSecond());
  }

  resume(name: string): void {
    this.health.resume(name, this.s.clockSecond());
  }
}

function parseJobId(target: string): number {
  const id = /^\d+$/.test(target.trim()) ? Number(target.trim()) : Number.NaN;
  if (!Number.isSafeInteger(id)) throw slurmError('INVALID_JOB_ID', `Unable to find JobId=${target}`);
  return id;
}
