// The simulated cluster: slurmctld's job queue and node table plus slurmdbd's accounts, driven by
// tick(now). Pure: no I/O and no timers; the caller brings the clock and the seed, so the same seed
// and the same tick times give the same cluster. Each tick costs O(what changed · log n): timed
// events (job ends, purges, node recoveries, begin times) sit in heaps and the scheduler finds
// nodes through per-partition buckets of free CPUs instead of scanning every node or job.
import { compressHostlist } from '../../shared/model/index.js';
import {
  ACCOUNTS,
  GROUP,
  NODE_FAILURE_REASONS,
  OUTCOMES,
  QOS,
  QOS_PRIORITY_BONUS,
  USERS,
  userByName,
} from './catalog.js';
import { Heap } from './heap.js';
import { Prng } from './prng.js';
import {
  FINISHED_STATES,
  type JobState,
  type LastUpdate,
  type NodeBaseState,
  type SimAccount,
  type SimAssociation,
  type SimJob,
  type SimNode,
  type SimPartition,
  type SimQos,
  type SimReservation,
  type SimUser,
} from './types.js';
import { slurmError } from './command-errors.js';
import { byTime, type QueueEntry, type TimedEntry } from './event-queue.js';
import type { SimClock, SimCommand, SimEngineOptions, ResolvedEngineOptions, SubmitSpec, TickSummary } from './options.js';
import { resolveEngineOptions } from './options.js';
import { buildAssociations, buildNodes, buildPartitions, buildReservations } from './cluster-layout.js';
import { randomJobSpec } from './workload.js';
import { FreeCpuIndex } from './free-cpu-index.js';

const REQUEUE_DELAY_S = 5;

export class SimEngine {
  readonly options: ResolvedEngineOptions;
  readonly cluster: string;
  readonly users: readonly SimUser[] = USERS;
  readonly accounts: readonly SimAccount[] = ACCOUNTS;
  readonly qos: readonly SimQos[] = QOS;
  readonly associations: SimAssociation[];
  readonly partitions: SimPartition[];
  readonly reservations: SimReservation[];
  readonly nodes: SimNode[];
  readonly lastUpdate: LastUpdate;
  /** The second slurmctld "started" (for diag's req_time_start and the like). */
  readonly startedAt: number;
  /** Jobs ever started/completed/canceled/failed/submitted, for diag. */
  readonly stats = { submitted: 0, started: 0, completed: 0, canceled: 0, failed: 0 };

  private readonly clock: SimClock;
  private readonly rng: Prng;
  private readonly jobMap = new Map<number, SimJob>();
  private readonly nodeByName = new Map<string, SimNode>();
  private readonly arrayTasks = new Map<number, Set<number>>();
  private readonly stateCounts: Record<JobState, number> = {
    PENDING: 0,
    RUNNING: 0,
    COMPLETED: 0,
    FAILED: 0,
    CANCELLED: 0,
    TIMEOUT: 0,
    NODE_FAIL: 0,
  };
  /** Schedulable nodes by free CPUs, per partition. */
  private readonly freeCpus: FreeCpuIndex;
  private readonly pendingQueue = new Heap<QueueEntry>((a, b) => a.priority > b.priority || (a.priority === b.priority && a.id < b.id));
  private readonly endQueue = new Heap<TimedEntry>(byTime);
  private readonly purgeQueue = new Heap<TimedEntry>(byTime);
  private readonly beginQueue = new Heap<TimedEntry>(byTime);
  private readonly recoverQueue = new Heap<TimedEntry>(byTime);
  private nextJobId = 1001;
  private lastTickMs: number;
  private debugName: string;

  constructor(opts: SimEngineOptions, deps: { clock: SimClock }) {
    this.options = resolveEngineOptions(opts);
    this.cluster = this.options.cluster;
    this.clock = deps.clock;
    this.rng = new Prng(this.options.seed);
    this.lastTickMs = this.clock.now();
    const now = Math.floor(this.lastTickMs / 1000);
    this.startedAt = now;
    this.lastUpdate = { jobs: now, nodes: now, partitions: now };
    this.nodes = buildNodes(this.options, this.rng, now);
    for (const node of this.nodes) this.nodeByName.set(node.name, node);
    this.partitions = buildPartitions(this.nodes);
    this.debugName = this.partitions[0].name;
    this.freeCpus = new FreeCpuIndex(this.partitions, this.options.cpusPerNode);
    this.reservations = buildReservations(this.nodes, now);
    this.associations = buildAssociations();
    this.breakSomeNodes(now);
    for (const node of this.nodes) this.freeCpus.refile(node);
    this.populate(now);
    this.schedule(now);
    this.lastUpdate.jobs = now;
    this.lastUpdate.nodes = now;
    this.lastUpdate.partitions = now;
  }

  // ---- reading ---------------------------------------------------------------------------

  /** Seconds of the last tick (slurmctld's "now"). */
  get now(): number {
    return Math.floor(this.lastTickMs / 1000);
  }

  get jobCount(): number {
    return this.jobMap.size;
  }

  /** All jobs slurmctld holds, ascending id (finished ones until purged). */
  jobs(): IterableIterator<SimJob> {
    return this.jobMap.values();
  }

  job(id: number): SimJob | undefined {
    return this.jobMap.get(id);
  }

  node(name: string): SimNode | undefined {
    return this.nodeByName.get(name);
  }

  partition(name: string): SimPartition | undefined {
    return this.partitions.find((p) => p.name === name);
  }

  countByState(state: JobState): number {
    return this.stateCounts[state];
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
    return { jobs: { ...this.stateCounts, total: this.jobMap.size }, nodes };
  }

  // ---- time ------------------------------------------------------------------------------

  /** Advances the cluster to `nowMs` (default: the clock). Going back in time does nothing. */
  tick(nowMs: number = this.clock.now()): TickSummary {
    const summary: TickSummary = { arrived: 0, started: 0, finished: 0, purged: 0, nodeFailures: 0, nodeRecoveries: 0 };
    const dtMs = nowMs - this.lastTickMs;
    if (dtMs < 0) return summary;
    this.lastTickMs = nowMs;
    const now = Math.floor(nowMs / 1000);

    for (let e = this.endQueue.peek(); e && e.t <= now; e = this.endQueue.peek()) {
      this.endQueue.pop();
      const job = this.jobMap.get(e.id);
      if (!job || job.seq !== e.seq || job.state !== 'RUNNING') continue;
      this.finishRunning(job, e.t, now);
      summary.finished++;
    }
    for (let e = this.recoverQueue.peek(); e && e.t <= now; e = this.recoverQueue.peek()) {
      this.recoverQueue.pop();
      const node = this.nodes[e.id];
      if (node.seq !== e.seq || !node.down) continue;
      node.down = false;
      if (!node.drain) this.setNodeReason(node, '', '', 0);
      node.bootTime = e.t;
      node.slurmdStartTime = e.t;
      this.freeCpus.refile(node);
      this.markNodes(now);
      summary.nodeRecoveries++;
    }
    const failures = this.rng.poisson((this.options.nodeFailurePerHour * dtMs) / 3_600_000);
    for (let i = 0; i < failures; i++) if (this.failRandomNode(now)) summary.nodeFailures++;
    const arrivals = this.rng.poisson((this.options.arrivalPerMin * dtMs) / 60_000);
    for (let i = 0; i < arrivals; i++) {
      this.submit(this.randomSpec(), now);
      summary.arrived++;
    }
    for (let e = this.beginQueue.peek(); e && e.t <= now; e = this.beginQueue.peek()) {
      this.beginQueue.pop();
      const job = this.jobMap.get(e.id);
      if (!job || job.seq !== e.seq || job.state !== 'PENDING' || job.held) continue;
      this.enqueue(job);
    }
    summary.started = this.schedule(now);
    for (let e = this.purgeQueue.peek(); e && e.t <= now; e = this.purgeQueue.peek()) {
      this.purgeQueue.pop();
      const job = this.jobMap.get(e.id);
      if (!job || job.seq !== e.seq || !FINISHED_STATES.has(job.state)) continue;
      this.purge(job, now);
      summary.purged++;
    }
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

  // ---- commands --------------------------------------------------------------------------

  /** Submits a job (or an array); returns its id. Throws SimCommandError for a bad request. */
  submit(spec: SubmitSpec, nowS?: number): number {
    const now = nowS ?? this.currentSecond();
    const job = this.makeJob(spec, now);
    this.addJob(job);
    this.stats.submitted++;
    if (job.held) {
      job.stateReason = job.held === 'user' ? 'JobHeldUser' : 'JobHeldAdmin';
      job.priority = 0;
    } else this.enqueue(job);
    this.markJobs(now);
    return job.id;
  }

  /** Runs one command as the agent's scontrol/scancel would; throws SimCommandError when Slurm would refuse. */
  command(cmd: SimCommand): void {
    switch (cmd.kind) {
      case 'cancel':
        return this.cancel(this.parseJobId(cmd.target));
      case 'hold':
        return this.hold(this.parseJobId(cmd.target));
      case 'release':
        return this.release(this.parseJobId(cmd.target));
      case 'requeue':
        return this.requeue(this.parseJobId(cmd.target));
      case 'drain':
        return this.drain(cmd.target, cmd.reason ?? '');
      case 'resume':
        return this.resume(cmd.target);
      default:
        throw new Error(`unknown command kind "${String((cmd as { kind: unknown }).kind)}"`);
    }
  }

  cancel(id: number): void {
    const now = this.currentSecond();
    const job = this.mustJob(id);
    const targets = [job];
    if (job.arrayJobId === job.id) {
      for (const taskId of this.arrayTasks.get(job.id) ?? []) {
        const task = this.jobMap.get(taskId);
        if (task && task !== job) targets.push(task);
      }
    }
    const live = targets.filter((j) => !FINISHED_STATES.has(j.state));
    if (live.length === 0) throw slurmError('ALREADY_DONE', `Kill job error on job id ${id}: already completed`);
    for (const j of live) {
      if (j.state === 'RUNNING') this.endJob(j, 'CANCELLED', now, now, 0, 15, 'None');
      else this.endJob(j, 'CANCELLED', now, now, 0, 0, 'None');
      this.stats.canceled++;
    }
  }

  hold(id: number, by: 'user' | 'admin' = 'user'): void {
    const now = this.currentSecond();
    const job = this.mustJob(id);
    if (job.state !== 'PENDING') throw slurmError('JOB_NOT_PENDING', `Unable to hold JobId=${id}: not pending`);
    job.held = by;
    job.priority = 0;
    job.stateReason = by === 'user' ? 'JobHeldUser' : 'JobHeldAdmin';
    job.seq++;
    this.markJobs(now);
  }

  release(id: number): void {
    const now = this.currentSecond();
    const job = this.mustJob(id);
    if (job.state !== 'PENDING') throw slurmError('JOB_NOT_PENDING', `Unable to release JobId=${id}: not pending`);
    if (!job.held) return;
    job.held = '';
    job.priority = job.basePriority;
    job.stateReason = job.eligibleTime > now ? 'BeginTime' : 'None';
    this.queuePending(job, now);
    this.markJobs(now);
  }

  /** `scontrol update jobid=N priority=P`: 0 holds (JobHeldAdmin), anything else sets it (and releases). */
  setPriority(id: number, priority: number): void {
    if (priority <= 0) return this.hold(id, 'admin');
    const now = this.currentSecond();
    const job = this.mustJob(id);
    if (job.state !== 'PENDING') throw slurmError('JOB_NOT_PENDING', `Unable to change priority of JobId=${id}: not pending`);
    job.basePriority = priority;
    job.priority = priority;
    if (job.held) {
      job.held = '';
      job.stateReason = job.eligibleTime > now ? 'BeginTime' : 'None';
    }
    this.queuePending(job, now);
    this.markJobs(now);
  }

  /** `scontrol requeue`: a running or finished job goes back to PENDING (BeginTime for a few seconds). */
  requeue(id: number): void {
    const now = this.currentSecond();
    const job = this.mustJob(id);
    if (job.state === 'PENDING') throw slurmError('JOB_PENDING', `Unable to requeue JobId=${id}: job is pending`);
    if (job.state === 'RUNNING') this.releaseResources(job, now);
    this.stateCounts[job.state]--;
    this.stateCounts.PENDING++;
    job.state = 'PENDING';
    job.stateReason = 'BeginTime';
    job.restartCount++;
    job.alloc = [];
    job.startTime = 0;
    job.endTime = 0;
    job.exitCode = 0;
    job.exitSignal = 0;
    job.eligibleTime = now + REQUEUE_DELAY_S;
    this.queuePending(job, now);
    this.markJobs(now);
  }

  drain(name: string, reason: string): void {
    const now = this.currentSecond();
    const node = this.mustNode(name);
    node.drain = true;
    this.setNodeReason(node, reason || 'drained by sfleet', 'root', now);
    this.freeCpus.refile(node);
    this.markNodes(now);
  }

  /** `scontrol update nodename=X state=down reason=...`: DOWN until resumed, running jobs NODE_FAIL. */
  down(name: string, reason: string): void {
    const now = this.currentSecond();
    const node = this.mustNode(name);
    this.takeDown(node, reason || 'set down by sfleet', 'root', now);
  }

  resume(name: string): void {
    const now = this.currentSecond();
    const node = this.mustNode(name);
    node.drain = false;
    if (node.down) {
      node.down = false;
      node.seq++;
      node.bootTime = now;
      node.slurmdStartTime = now;
    }
    this.setNodeReason(node, '', '', 0);
    this.freeCpus.refile(node);
    this.markNodes(now);
  }

  /** One node down and one drained from the start (on clusters of 8+ nodes), as on any real site. */
  private breakSomeNodes(now: number): void {
    if (this.nodes.length < 8) return;
    const down = this.nodes[this.nodes.length - 1 - this.rng.int(0, Math.floor(this.nodes.length / 8))];
    down.down = true;
    this.setNodeReason(down, 'Not responding', 'slurm', now - this.rng.int(60, 600));
    down.seq++;
    this.recoverQueue.push({ t: now + this.rng.int(600, 3600), id: down.index, seq: down.seq });
    let drained = this.nodes[this.rng.int(0, this.nodes.length - 1)];
    if (drained === down) drained = this.nodes[(down.index + 1) % this.nodes.length];
    drained.drain = true;
    this.setNodeReason(drained, 'disk replacement scheduled', 'root', now - this.rng.int(600, 7200));
  }

  /** The jobs slurmctld already holds at start: recent finished ones, running ones, a pending queue. */
  private populate(now: number): void {
    const n = this.options.jobs;
    const span = 7200;
    for (let i = 0; i < n; i++) {
      const submit = now - span + Math.floor((i * span) / Math.max(1, n));
      const spec = this.randomSpec();
      const r = this.rng.next();
      const canHaveFinished = submit < now - 120 && this.options.minJobAgeS > 30;
      if (r < 0.08 && canHaveFinished && !spec.array) {
        this.addFinishedHistory(spec, submit, now);
        continue;
      }
      if (r < 0.11 && !spec.array) spec.hold = true;
      const job = this.makeJob(spec, submit);
      job.stateReason = 'Priority';
      this.addJob(job);
      this.stats.submitted++;
      if (job.held) {
        job.stateReason = job.held === 'user' ? 'JobHeldUser' : 'JobHeldAdmin';
        job.priority = 0;
        continue;
      }
      // Started some time between submission and now, still running now.
      this.tryStart(job, now);
      for (const runner of this.runningOf(job)) {
        const started = this.rng.int(submit, now);
        const runFor = runner.outcome === 'TIMEOUT' ? runner.timeLimitMin * 60 : runner.durationS;
        runner.startTime = Math.min(started, now);
        runner.lastSchedEval = runner.startTime;
        let end = runner.startTime + runFor;
        if (end <= now) {
          runner.startTime = Math.max(submit, now - Math.floor(runFor / 2));
          end = runner.startTime + runFor;
        }
        if (end <= now) end = now + 1;
        runner.endTime = runner.startTime + runner.timeLimitMin * 60;
        runner.seq++;
        this.endQueue.push({ t: end, id: runner.id, seq: runner.seq });
      }
      if (job.state === 'PENDING') this.enqueue(job);
    }
  }

  /** The job itself if it just started, or the array tasks split off it (fresh ones only). */
  private runningOf(job: SimJob): SimJob[] {
    if (job.state === 'RUNNING') return [job];
    const out: SimJob[] = [];
    for (const id of this.arrayTasks.get(job.id) ?? []) {
      const task = this.jobMap.get(id);
      if (task && task.state === 'RUNNING' && task.startTime >= this.now) out.push(task);
    }
    return out;
  }

  private addFinishedHistory(spec: SubmitSpec, submit: number, now: number): void {
    const job = this.makeJob(spec, submit);
    const state = this.rng.weighted<JobState>([
      ['COMPLETED', 70],
      ['FAILED', 12],
      ['CANCELLED', 10],
      ['TIMEOUT', 8],
    ]);
    const latestEnd = now - 1;
    const earliestEnd = Math.min(latestEnd, Math.max(submit + 60, now - this.options.minJobAgeS + 10));
    const end = this.rng.int(earliestEnd, latestEnd);
    const runFor = state === 'TIMEOUT' ? job.timeLimitMin * 60 : Math.min(job.durationS, end - submit);
    job.startTime = Math.max(submit, end - runFor);
    job.lastSchedEval = job.startTime;
    job.alloc = this.historicAlloc(job);
    job.state = state;
    job.endTime = end;
    if (state === 'FAILED') {
      job.exitCode = job.failExitCode;
      job.stateReason = 'NonZeroExitCode';
    } else if (state === 'TIMEOUT') {
      job.exitSignal = 15;
      job.stateReason = 'TimeLimit';
    } else if (state === 'CANCELLED') {
      job.exitSignal = 15;
      job.stateReason = 'None';
    } else job.stateReason = 'None';
    this.jobMap.set(job.id, job);
    this.stateCounts[state]++;
    this.stats.submitted++;
    this.stats.started++;
    if (state === 'COMPLETED') this.stats.completed++;
    else if (state === 'CANCELLED') this.stats.canceled++;
    else this.stats.failed++;
    job.seq++;
    this.purgeQueue.push({ t: end + this.options.minJobAgeS, id: job.id, seq: job.seq });
  }

  /** Where a job that ended before the simulation started ran (its cores are free now). */
  private historicAlloc(job: SimJob): SimJob['alloc'] {
    const part = this.partition(job.partition) as SimPartition;
    const first = this.rng.int(0, part.nodes.length - 1);
    const out: SimJob['alloc'] = [];
    for (let k = 0; k < job.nodeCount && k < part.nodes.length; k++) {
      const node = this.nodes[part.nodes[(first + k) % part.nodes.length]];
      const per = job.nodeCount > 1 ? node.cpus : job.cpus;
      const offset = job.nodeCount > 1 ? 0 : this.rng.int(0, node.cpus - per);
      out.push({ node: node.index, cores: Array.from({ length: per }, (_, c) => offset + c) });
    }
    return out;
  }

  // ---- job life --------------------------------------------------------------------------

  private randomSpec(): SubmitSpec {
    return randomJobSpec(this.rng, this.options, this.debugName, this.nodes.length);
  }

  private makeJob(spec: SubmitSpec, now: number): SimJob {
    const userName = spec.user ?? 'alice';
    const user = userByName(userName);
    const account = spec.account ?? user?.accounts[0] ?? 'research';
    if (!ACCOUNTS.some((a) => a.name === account)) throw slurmError('INVALID_ACCOUNT', `Invalid account "${account}"`);
    if (user && !user.accounts.includes(account)) throw slurmError('INVALID_ACCOUNT', `User ${userName} has no association with account ${account}`);
    const partName = spec.partition ?? 'batch';
    const part = this.partition(partName);
    if (!part) throw slurmError('INVALID_PARTITION_NAME', `Invalid partition name specified: ${partName}`);
    const qosName = spec.qos ?? 'normal';
    const qos = QOS.find((q) => q.name === qosName);
    if (!qos) throw slurmError('INVALID_QOS', `Invalid qos "${qosName}"`);
    const cpn = this.options.cpusPerNode;
    let cpus = spec.cpus ?? 1;
    if (!Number.isInteger(cpus) || cpus < 1) throw slurmError('INVALID_CPU_COUNT', `Invalid CPU count ${cpus}`);
    const nodeCount = Math.ceil(cpus / cpn);
    if (nodeCount > part.nodes.length) throw slurmError('INVALID_CPU_COUNT', `${cpus} CPUs do not fit partition ${partName}`);
    if (nodeCount > 1) cpus = nodeCount * cpn;
    const limit = Math.max(1, Math.min(spec.timeLimitMin ?? part.defaultTimeMin ?? 60, part.maxTimeMin ?? Infinity, qos.maxWallMin ?? Infinity));
    const outcome = spec.outcome ?? 'COMPLETED';
    const durationS = Math.max(1, Math.min(spec.durationS ?? Math.floor(limit * 30), limit * 60));
    const base = QOS_PRIORITY_BONUS[qos.name] + (partName === this.debugName ? 500 : 0) + this.rng.int(1, 999);
    const id = this.nextJobId++;
    const arr = spec.array;
    return {
      id,
      arrayJobId: arr ? id : 0,
      arrayTaskId: null,
      arrayNext: arr ? arr.first : 1,
      arrayEnd: arr ? arr.last : 0,
      arrayMaxTasks: arr?.max ?? 0,
      name: spec.name ?? 'wrap',
      user: userName,
      userId: user?.uid ?? 2000 + (hashString(userName) % 5000),
      group: GROUP.name,
      groupId: GROUP.gid,
      account,
      partition: partName,
      qos: qos.name,
      state: 'PENDING',
      stateReason: 'None',
      priority: base,
      basePriority: base,
      held: spec.hold ? 'user' : '',
      cpus,
      nodeCount,
      memPerCpuMb: this.options.memPerCpuMb,
      timeLimitMin: limit,
      submitTime: now,
      eligibleTime: now,
      startTime: 0,
      endTime: 0,
      lastSchedEval: now,
      durationS,
      outcome,
      failExitCode: spec.exitCode && spec.exitCode > 0 ? spec.exitCode : 1,
      exitCode: 0,
      exitSignal: 0,
      alloc: [],
      restartCount: 0,
      workDir: `/home/${userName}`,
      comment: spec.comment ?? '',
      seq: 0,
    };
  }

  private addJob(job: SimJob): void {
    this.jobMap.set(job.id, job);
    this.stateCounts[job.state]++;
  }

  /** Queues a pending job for the scheduler, or for its begin time if that is still ahead. */
  private queuePending(job: SimJob, now: number): void {
    if (job.eligibleTime > now) {
      job.seq++;
      this.beginQueue.push({ t: job.eligibleTime, id: job.id, seq: job.seq });
    } else this.enqueue(job);
  }

  private enqueue(job: SimJob): void {
    job.seq++;
    this.pendingQueue.push({ id: job.id, seq: job.seq, priority: job.priority });
  }

  /** One scheduling pass, highest priority first; stops per partition at the first job that does not fit. */
  private schedule(now: number): number {
    let started = 0;
    let depth = 0;
    const blocked = new Set<string>();
    const retry: SimJob[] = [];
    const depthLimit = this.options.schedulerDepth;
    while (depth < depthLimit && blocked.size < this.partitions.length) {
      const entry = this.pendingQueue.pop();
      if (!entry) break;
      const job = this.jobMap.get(entry.id);
      if (!job || job.seq !== entry.seq || job.state !== 'PENDING' || job.held) continue;
      depth++;
      if (blocked.has(job.partition)) {
        this.setReason(job, 'Priority', now);
        retry.push(job);
        continue;
      }
      const before = this.stats.started;
      const result = this.tryStart(job, now);
      started += this.stats.started - before;
      if (result === 'blocked') {
        this.setReason(job, 'Resources', now);
        // A job that needs whole nodes waits without holding back smaller ones (as backfill would).
        if (job.nodeCount === 1) blocked.add(job.partition);
        retry.push(job);
      } else if (result === 'limit') {
        this.setReason(job, 'JobArrayTaskLimit', now);
        retry.push(job);
      }
    }
    for (const job of retry) this.enqueueKeepSeq(job);
    return started;
  }

  /** Puts a job back after a pass (its seq already matches the popped entry). */
  private enqueueKeepSeq(job: SimJob): void {
    this.pendingQueue.push({ id: job.id, seq: job.seq, priority: job.priority });
  }

  /** Starts the job (or as many array tasks as fit): 'started', 'done' (array emptied), 'blocked' or 'limit'. */
  private tryStart(job: SimJob, now: number): 'started' | 'done' | 'blocked' | 'limit' {
    const compact = job.arrayJobId === job.id && job.arrayTaskId === null;
    if (!compact) {
      const nodes = this.freeCpus.findNodes(job);
      if (!nodes) return 'blocked';
      this.start(job, nodes, now);
      return 'started';
    }
    while (job.arrayNext <= job.arrayEnd) {
      if (job.arrayMaxTasks > 0 && this.runningTasks(job.id) >= job.arrayMaxTasks) return 'limit';
      const nodes = this.freeCpus.findNodes(job);
      if (!nodes) return 'blocked';
      const task = this.splitTask(job, now);
      this.start(task, nodes, now);
      if (task === job) return 'done';
    }
    return 'done';
  }

  private runningTasks(arrayJobId: number): number {
    let n = 0;
    for (const id of this.arrayTasks.get(arrayJobId) ?? []) if (this.jobMap.get(id)?.state === 'RUNNING') n++;
    return n;
  }

  /** Takes the next pending task off a compact array record; the last one is the record itself. */
  private splitTask(rec: SimJob, now: number): SimJob {
    const taskId = rec.arrayNext++;
    let tasks = this.arrayTasks.get(rec.id);
    if (!tasks) {
      tasks = new Set();
      this.arrayTasks.set(rec.id, tasks);
    }
    if (rec.arrayNext > rec.arrayEnd) {
      rec.arrayTaskId = taskId;
      tasks.add(rec.id);
      return rec;
    }
    const durationS = Math.max(20, Math.floor(rec.durationS * (0.5 + this.rng.next())));
    const task: SimJob = {
      ...rec,
      id: this.nextJobId++,
      arrayTaskId: taskId,
      arrayNext: 1,
      arrayEnd: 0,
      durationS: Math.min(durationS, rec.timeLimitMin * 60),
      outcome: this.rng.weighted(OUTCOMES),
      alloc: [],
      seq: 0,
      stateReason: 'None',
      submitTime: rec.submitTime,
      lastSchedEval: now,
    };
    this.addJob(task);
    tasks.add(task.id);
    this.stats.submitted++;
    return task;
  }

  private start(job: SimJob, nodeIdx: number[], now: number): void {
    const perNode = job.nodeCount > 1 ? this.options.cpusPerNode : job.cpus;
    job.alloc = [];
    for (const i of nodeIdx) {
      const node = this.nodes[i];
      const cores: number[] = [];
      for (let c = 0; c < node.cpus && cores.length < perNode; c++) {
        if (node.coreOwner[c] === 0) {
          node.coreOwner[c] = job.id;
          cores.push(c);
        }
      }
      node.allocCpus += cores.length;
      node.allocMemMb += cores.length * job.memPerCpuMb;
      node.lastBusy = now;
      job.alloc.push({ node: i, cores });
      this.freeCpus.refile(node);
    }
    this.stateCounts[job.state]--;
    this.stateCounts.RUNNING++;
    job.state = 'RUNNING';
    job.stateReason = 'None';
    job.startTime = now;
    job.lastSchedEval = now;
    job.endTime = now + job.timeLimitMin * 60;
    job.seq++;
    const runFor = job.outcome === 'TIMEOUT' ? job.timeLimitMin * 60 : job.durationS;
    this.endQueue.push({ t: now + runFor, id: job.id, seq: job.seq });
    this.stats.started++;
    this.markJobs(now);
    this.markNodes(now);
  }

  private finishRunning(job: SimJob, at: number, now: number): void {
    if (job.outcome === 'COMPLETED') {
      this.endJob(job, 'COMPLETED', at, now, 0, 0, 'None');
      this.stats.completed++;
    } else if (job.outcome === 'FAILED') {
      this.endJob(job, 'FAILED', at, now, job.failExitCode, 0, 'NonZeroExitCode');
      this.stats.failed++;
    } else {
      this.endJob(job, 'TIMEOUT', at, now, 0, 15, 'TimeLimit');
      this.stats.failed++;
    }
  }

  /** Moves a pending or running job to a finished state and queues its purge. */
  private endJob(job: SimJob, state: JobState, at: number, now: number, exitCode: number, signal: number, reason: string): void {
    if (job.state === 'RUNNING') this.releaseResources(job, now);
    this.stateCounts[job.state]--;
    this.stateCounts[state]++;
    job.state = state;
    job.stateReason = reason;
    job.endTime = at;
    job.exitCode = exitCode;
    job.exitSignal = signal;
    job.seq++;
    this.purgeQueue.push({ t: at + this.options.minJobAgeS, id: job.id, seq: job.seq });
    this.markJobs(now);
  }

  private releaseResources(job: SimJob, now: number): void {
    for (const a of job.alloc) {
      const node = this.nodes[a.node];
      let freed = 0;
      for (const c of a.cores) {
        if (node.coreOwner[c] === job.id) {
          node.coreOwner[c] = 0;
          freed++;
        }
      }
      node.allocCpus -= freed;
      node.allocMemMb -= freed * job.memPerCpuMb;
      if (node.allocCpus === 0) node.lastBusy = now;
      this.freeCpus.refile(node);
    }
    this.markNodes(now);
  }

  private purge(job: SimJob, now: number): void {
    this.jobMap.delete(job.id);
    this.stateCounts[job.state]--;
    if (job.arrayJobId !== 0) {
      const tasks = this.arrayTasks.get(job.arrayJobId);
      tasks?.delete(job.id);
      if (tasks && tasks.size === 0 && !this.jobMap.has(job.arrayJobId)) this.arrayTasks.delete(job.arrayJobId);
    }
    this.markJobs(now);
  }

  private setReason(job: SimJob, reason: string, now: number): void {
    if (job.stateReason === reason) return;
    job.stateReason = reason;
    job.lastSchedEval = now;
    this.markJobs(now);
  }

  // ---- nodes -----------------------------------------------------------------------------

  private failRandomNode(now: number): boolean {
    for (let attempt = 0; attempt < 8; attempt++) {
      const node = this.nodes[this.rng.int(0, this.nodes.length - 1)];
      if (node.down) continue;
      this.takeDown(node, this.rng.pick(NODE_FAILURE_REASONS), 'slurm', now);
      this.recoverQueue.push({ t: now + this.rng.int(300, 1800), id: node.index, seq: node.seq });
      return true;
    }
    return false;
  }

  /** Marks a node DOWN; the jobs running on it end as NODE_FAIL. */
  private takeDown(node: SimNode, reason: string, by: string, now: number): void {
    node.down = true;
    this.setNodeReason(node, reason, by, now);
    const victims = new Set<number>();
    for (const owner of node.coreOwner) if (owner !== 0) victims.add(owner);
    for (const id of victims) {
      const job = this.jobMap.get(id);
      if (job && job.state === 'RUNNING') {
        this.endJob(job, 'NODE_FAIL', now, now, 0, 0, 'NodeDown');
        this.stats.failed++;
      }
    }
    this.freeCpus.refile(node);
    node.seq++;
    this.markNodes(now);
  }

  private setNodeReason(node: SimNode, reason: string, by: string, at: number): void {
    node.reason = reason;
    node.reasonSetBy = by;
    node.reasonTime = at;
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** slurmctld's wall clock in whole seconds (never before the last tick): what diag's req_time says. */
  clockSecond(): number {
    return Math.max(this.now, Math.floor(this.clock.now() / 1000));
  }

  private currentSecond(): number {
    return this.clockSecond();
  }

  private markJobs(now: number): void {
    if (now > this.lastUpdate.jobs) this.lastUpdate.jobs = now;
  }

  private markNodes(now: number): void {
    if (now > this.lastUpdate.nodes) this.lastUpdate.nodes = now;
  }

  private parseJobId(target: string): number {
    const id = /^\d+$/.test(target.trim()) ? Number(target.trim()) : Number.NaN;
    if (!Number.isSafeInteger(id)) throw slurmError('INVALID_JOB_ID', `Unable to find JobId=${target}`);
    return id;
  }

  private mustJob(id: number): SimJob {
    const job = this.jobMap.get(id);
    if (!job) throw slurmError('INVALID_JOB_ID', `Unable to find JobId=${id}`);
    return job;
  }

  private mustNode(name: string): SimNode {
    const node = this.nodeByName.get(name);
    if (!node) throw slurmError('INVALID_NODE_NAME', `Invalid node name specified: ${name}`);
    return node;
  }
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
