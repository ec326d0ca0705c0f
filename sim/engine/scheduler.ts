// slurmctld's main scheduler: pending jobs wait in a priority heap (or in the begin-time heap while
// their begin time is ahead); each pass pops them highest priority first, places each on nodes
// from the free-CPU index, and splits array tasks off a compact array record as they start.
// Heap entries carry the job's seq, so an entry made stale by a later change is skipped on pop.
import { OUTCOMES } from './catalog.js';
import type { EngineState } from './state.js';
import type { SimJob } from './types.js';

export type StartResult = 'started' | 'done' | 'blocked' | 'limit';

export class Scheduler {
  constructor(private readonly s: EngineState) {}

  /** Queues a pending job for the scheduler, or for its begin time if that is still ahead. */
  queuePending(job: SimJob, now: number): void {
    if (job.eligibleTime > now) {
      job.seq++;
      this.s.beginQueue.push({ t: job.eligibleTime, id: job.id, seq: job.seq });
    } else this.enqueue(job);
  }

  enqueue(job: SimJob): void {
    job.seq++;
    this.s.pendingQueue.push({ id: job.id, seq: job.seq, priority: job.priority });
  }

  /** Moves the jobs whose begin time has come into the pending queue. */
  admitDue(now: number): void {
    const s = this.s;
    for (let e = s.beginQueue.peek(); e && e.t <= now; e = s.beginQueue.peek()) {
      s.beginQueue.pop();
      const job = s.jobs.get(e.id);
      if (!job || job.seq !== e.seq || job.state !== 'PENDING' || job.held) continue;
      this.enqueue(job);
    }
  }

  /** One scheduling pass, highest priority first; stops per partition at the first job that does not fit. */
  schedule(now: number): number {
    const s = this.s;
    let started = 0;
    let depth = 0;
    const blocked = new Set<string>();
    const retry: SimJob[] = [];
    const depthLimit = s.options.schedulerDepth;
    while (depth < depthLimit && blocked.size < s.partitions.length) {
      const entry = s.pendingQueue.pop();
      if (!entry) break;
      const job = s.jobs.get(entry.id);
      if (!job || job.seq !== entry.seq || job.state !== 'PENDING' || job.held) continue;
      depth++;
      if (blocked.has(job.partition)) {
        this.setReason(job, 'Priority', now);
        retry.push(job);
        continue;
      }
      const before = s.stats.started;
      const result = this.tryStart(job, now);
      started += s.stats.started - before;
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

  /** Starts the job (or as many array tasks as fit): 'started', 'done' (array emptied), 'blocked' or 'limit'. */
  tryStart(job: SimJob, now: number): StartResult {
    const compact = job.arrayJobId === job.id && job.arrayTaskId === null;
    if (!compact) {
      const nodes = this.s.freeCpus.findNodes(job);
      if (!nodes) return 'blocked';
      this.start(job, nodes, now);
      return 'started';
    }
    while (job.arrayNext <= job.arrayEnd) {
      if (job.arrayMaxTasks > 0 && this.runningTasks(job.id) >= job.arrayMaxTasks) return 'limit';
      const nodes = this.s.freeCpus.findNodes(job);
      if (!nodes) return 'blocked';
      const task = this.splitTask(job, now);
      this.start(task, nodes, now);
      if (task === job) return 'done';
    }
    return 'done';
  }

  /** Puts a job back after a pass (its seq already matches the popped entry). */
  private enqueueKeepSeq(job: SimJob): void {
    this.s.pendingQueue.push({ id: job.id, seq: job.seq, priority: job.priority });
  }

  private setReason(job: SimJob, reason: string, now: number): void {
    if (job.stateReason === reason) return;
    job.stateReason = reason;
    job.lastSchedEval = now;
    this.s.markJobs(now);
  }

  private runningTasks(arrayJobId: number): number {
    let n = 0;
    for (const id of this.s.arrayTasks.get(arrayJobId) ?? []) if (this.s.jobs.get(id)?.state === 'RUNNING') n++;
    return n;
  }

  /** Takes the next pending task off a compact array record; the last one is the record itself. */
  private splitTask(rec: SimJob, now: number): SimJob {
    const s = this.s;
    const taskId = rec.arrayNext++;
    let tasks = s.arrayTasks.get(rec.id);
    if (!tasks) {
      tasks = new Set();
      s.arrayTasks.set(rec.id, tasks);
    }
    if (rec.arrayNext > rec.arrayEnd) {
      rec.arrayTaskId = taskId;
      tasks.add(rec.id);
      return rec;
    }
    const durationS = Math.max(20, Math.floor(rec.durationS * (0.5 + s.rng.next())));
    const task: SimJob = {
      ...rec,
      id: s.nextJobId++,
      arrayTaskId: taskId,
      arrayNext: 1,
      arrayEnd: 0,
      durationS: Math.min(durationS, rec.timeLimitMin * 60),
      outcome: s.rng.weighted(OUTCOMES),
      alloc: [],
      seq: 0,
      stateReason: 'None',
      submitTime: rec.submitTime,
      lastSchedEval: now,
    };
    s.addJob(task);
    tasks.add(task.id);
    s.stats.submitted++;
    return task;
  }

  /** Gives the job cores on the chosen nodes and sets it RUNNING until its end (outcome) time. */
  private start(job: SimJob, nodeIdx: number[], now: number): void {
    const s = this.s;
    const perNode = job.nodeCount > 1 ? s.options.cpusPerNode : job.cpus;
    job.alloc = [];
    for (const i of nodeIdx) {
      const node = s.nodes[i];
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
      s.freeCpus.refile(node);
    }
    s.stateCounts[job.state]--;
    s.stateCounts.RUNNING++;
    job.state = 'RUNNING';
    job.stateReason = 'None';
    job.startTime = now;
    job.lastSchedEval = now;
    job.endTime = now + job.timeLimitMin * 60;
    job.seq++;
    const runFor = job.outcome === 'TIMEOUT' ? job.timeLimitMin * 60 : job.durationS;
    s.endQueue.push({ t: now + runFor, id: job.id, seq: job.seq });
    s.stats.started++;
    s.markJobs(now);
    s.markNodes(now);
  }
}
