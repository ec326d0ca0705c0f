// A job's life outside the scheduler: submission (checked as slurmctld checks it), the end its
// outcome dictates, the user and operator commands (cancel, hold, release, priority, requeue), and
// the purge MinJobAge seconds after it finished. Starting a job is the scheduler's part.
import { ACCOUNTS, GROUP, QOS, QOS_PRIORITY_BONUS, userByName } from './catalog.js';
import { slurmError } from './command-errors.js';
import type { SubmitSpec } from './options.js';
import type { Scheduler } from './scheduler.js';
import type { EngineState } from './state.js';
import { FINISHED_STATES, type JobState, type SimJob } from './types.js';
import { randomJobSpec } from './workload.js';

/** Seconds a requeued job waits (BeginTime) before it can start again. */
const REQUEUE_DELAY_S = 5;

export class JobLifecycle {
  constructor(
    private readonly s: EngineState,
    private readonly scheduler: Scheduler,
  ) {}

  /** A job from the default workload mix (arrivals and the jobs held at start). */
  randomSpec(): SubmitSpec {
    const s = this.s;
    return randomJobSpec(s.rng, s.options, s.debugName, s.nodes.length);
  }

  /** Submits a job (or an array); returns its id. Throws SimCommandError for a bad request. */
  submit(spec: SubmitSpec, now: number): number {
    const s = this.s;
    const job = this.makeJob(spec, now);
    s.addJob(job);
    s.stats.submitted++;
    if (job.held) {
      job.stateReason = job.held === 'user' ? 'JobHeldUser' : 'JobHeldAdmin';
      job.priority = 0;
    } else this.scheduler.enqueue(job);
    s.markJobs(now);
    return job.id;
  }

  /** A new PENDING job record for the spec, refused as Slurm would refuse it; not yet added. */
  makeJob(spec: SubmitSpec, now: number): SimJob {
    const s = this.s;
    const userName = spec.user ?? 'alice';
    const user = userByName(userName);
    const account = spec.account ?? user?.accounts[0] ?? 'research';
    if (!ACCOUNTS.some((a) => a.name === account)) throw slurmError('INVALID_ACCOUNT', `Invalid account "${account}"`);
    if (user && !user.accounts.includes(account)) throw slurmError('INVALID_ACCOUNT', `User ${userName} has no association with account ${account}`);
    const partName = spec.partition ?? 'batch';
    const part = s.partition(partName);
    if (!part) throw slurmError('INVALID_PARTITION_NAME', `Invalid partition name specified: ${partName}`);
    const qosName = spec.qos ?? 'normal';
    const qos = QOS.find((q) => q.name === qosName);
    if (!qos) throw slurmError('INVALID_QOS', `Invalid qos "${qosName}"`);
    const cpn = s.options.cpusPerNode;
    let cpus = spec.cpus ?? 1;
    if (!Number.isInteger(cpus) || cpus < 1) throw slurmError('INVALID_CPU_COUNT', `Invalid CPU count ${cpus}`);
    const nodeCount = Math.ceil(cpus / cpn);
    if (nodeCount > part.nodes.length) throw slurmError('INVALID_CPU_COUNT', `${cpus} CPUs do not fit partition ${partName}`);
    if (nodeCount > 1) cpus = nodeCount * cpn;
    const limit = Math.max(1, Math.min(spec.timeLimitMin ?? part.defaultTimeMin ?? 60, part.maxTimeMin ?? Infinity, qos.maxWallMin ?? Infinity));
    const outcome = spec.outcome ?? 'COMPLETED';
    const durationS = Math.max(1, Math.min(spec.durationS ?? Math.floor(limit * 30), limit * 60));
    const base = QOS_PRIORITY_BONUS[qos.name] + (partName === s.debugName ? 500 : 0) + s.rng.int(1, 999);
    const id = s.nextJobId++;
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
      memPerCpuMb: s.options.memPerCpuMb,
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

  /** Ends the running jobs whose end time has come, as their outcome says; returns how many. */
  finishDue(now: number): number {
    const s = this.s;
    let finished = 0;
    for (let e = s.endQueue.peek(); e && e.t <= now; e = s.endQueue.peek()) {
      s.endQueue.pop();
      const job = s.jobs.get(e.id);
      if (!job || job.seq !== e.seq || job.state !== 'RUNNING') continue;
      this.finishRunning(job, e.t, now);
      finished++;
    }
    return finished;
  }

  /** Forgets the finished jobs older than MinJobAge; returns how many. */
  purgeDue(now: number): number {
    const s = this.s;
    let purged = 0;
    for (let e = s.purgeQueue.peek(); e && e.t <= now; e = s.purgeQueue.peek()) {
      s.purgeQueue.pop();
      const job = s.jobs.get(e.id);
      if (!job || job.seq !== e.seq || !FINISHED_STATES.has(job.state)) continue;
      this.purge(job, now);
      purged++;
    }
    return purged;
  }

  /** Moves a pending or running job to a finished state and queues its purge. */
  endJob(job: SimJob, state: JobState, at: number, now: number, exitCode: number, signal: number, reason: string): void {
    const s = this.s;
    if (job.state === 'RUNNING') this.releaseResources(job, now);
    s.stateCounts[job.state]--;
    s.stateCounts[state]++;
    job.state = state;
    job.stateReason = reason;
    job.endTime = at;
    job.exitCode = exitCode;
    job.exitSignal = signal;
    job.seq++;
    s.purgeQueue.push({ t: at + s.options.minJobAgeS, id: job.id, seq: job.seq });
    s.markJobs(now);
  }

  cancel(id: number, now: number): void {
    const s = this.s;
    const job = s.mustJob(id);
    const targets = [job];
    if (job.arrayJobId === job.id) {
      for (const taskId of s.arrayTasks.get(job.id) ?? []) {
        const task = s.jobs.get(taskId);
        if (task && task !== job) targets.push(task);
      }
    }
    const live = targets.filter((j) => !FINISHED_STATES.has(j.state));
    if (live.length === 0) throw slurmError('ALREADY_DONE', `Kill job error on job id ${id}: already completed`);
    for (const j of live) {
      if (j.state === 'RUNNING') this.endJob(j, 'CANCELLED', now, now, 0, 15, 'None');
      else this.endJob(j, 'CANCELLED', now, now, 0, 0, 'None');
      s.stats.canceled++;
    }
  }

  hold(id: number, by: 'user' | 'admin', now: number): void {
    const job = this.s.mustJob(id);
    if (job.state !== 'PENDING') throw slurmError('JOB_NOT_PENDING', `Unable to hold JobId=${id}: not pending`);
    job.held = by;
    job.priority = 0;
    job.stateReason = by === 'user' ? 'JobHeldUser' : 'JobHeldAdmin';
    job.seq++;
    this.s.markJobs(now);
  }

  release(id: number, now: number): void {
    const job = this.s.mustJob(id);
    if (job.state !== 'PENDING') throw slurmError('JOB_NOT_PENDING', `Unable to release JobId=${id}: not pending`);
    if (!job.held) return;
    job.held = '';
    job.priority = job.basePriority;
    job.stateReason = job.eligibleTime > now ? 'BeginTime' : 'None';
    this.scheduler.queuePending(job, now);
    this.s.markJobs(now);
  }

  /** Sets a positive priority, releasing a held job (a priority of 0 is a hold: see the engine). */
  setPriority(id: number, priority: number, now: number): void {
    const job = this.s.mustJob(id);
    if (job.state !== 'PENDING') throw slurmError('JOB_NOT_PENDING', `Unable to change priority of JobId=${id}: not pending`);
    job.basePriority = priority;
    job.priority = priority;
    if (job.held) {
      job.held = '';
      job.stateReason = job.eligibleTime > now ? 'BeginTime' : 'None';
    }
    this.scheduler.queuePending(job, now);
    this.s.markJobs(now);
  }

  /** `scontrol requeue`: a running or finished job goes back to PENDING (BeginTime for a few seconds). */
  requeue(id: number, now: number): void {
    const s = this.s;
    const job = s.mustJob(id);
    if (job.state === 'PENDING') throw slurmError('JOB_PENDING', `Unable to requeue JobId=${id}: job is pending`);
    if (job.state === 'RUNNING') this.releaseResources(job, now);
    s.stateCounts[job.state]--;
    s.stateCounts.PENDING++;
    job.state = 'PENDING';
    job.stateReason = 'BeginTime';
    job.restartCount++;
    job.alloc = [];
    job.startTime = 0;
    job.endTime = 0;
    job.exitCode = 0;
    job.exitSignal = 0;
    job.eligibleTime = now + REQUEUE_DELAY_S;
    this.scheduler.queuePending(job, now);
    s.markJobs(now);
  }

  private finishRunning(job: SimJob, at: number, now: number): void {
    const stats = this.s.stats;
    if (job.outcome === 'COMPLETED') {
      this.endJob(job, 'COMPLETED', at, now, 0, 0, 'None');
      stats.completed++;
    } else if (job.outcome === 'FAILED') {
      this.endJob(job, 'FAILED', at, now, job.failExitCode, 0, 'NonZeroExitCode');
      stats.failed++;
    } else {
      this.endJob(job, 'TIMEOUT', at, now, 0, 15, 'TimeLimit');
      stats.failed++;
    }
  }

  private releaseResources(job: SimJob, now: number): void {
    const s = this.s;
    for (const a of job.alloc) {
      const node = s.nodes[a.node];
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
      s.freeCpus.refile(node);
    }
    s.markNodes(now);
  }

  private purge(job: SimJob, now: number): void {
    const s = this.s;
    s.jobs.delete(job.id);
    s.stateCounts[job.state]--;
    if (job.arrayJobId !== 0) {
      const tasks = s.arrayTasks.get(job.arrayJobId);
      tasks?.delete(job.id);
      if (tasks && tasks.size === 0 && !s.jobs.has(job.arrayJobId)) s.arrayTasks.delete(job.arrayJobId);
    }
    s.markJobs(now);
  }
}

/** FNV-1a: a stable made-up uid for a user the catalog does not know. */
function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
