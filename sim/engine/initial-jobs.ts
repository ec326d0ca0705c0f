// The jobs slurmctld already holds when the simulation starts, submitted over the last two hours:
// a few recently finished (still inside MinJobAge), running ones started some time after their
// submission, held ones, and a pending queue. Built once, from the seeded Prng.
import type { JobLifecycle } from './job-lifecycle.js';
import type { SubmitSpec } from './options.js';
import type { Scheduler } from './scheduler.js';
import type { EngineState } from './state.js';
import type { JobState, SimJob, SimPartition } from './types.js';

/** Seconds before the start over which the initial jobs were submitted. */
const SPAN_S = 7200;

export function populate(s: EngineState, scheduler: Scheduler, lifecycle: JobLifecycle, now: number): void {
  const n = s.options.jobs;
  for (let i = 0; i < n; i++) {
    const submit = now - SPAN_S + Math.floor((i * SPAN_S) / Math.max(1, n));
    const spec = lifecycle.randomSpec();
    const r = s.rng.next();
    const canHaveFinished = submit < now - 120 && s.options.minJobAgeS > 30;
    if (r < 0.08 && canHaveFinished && !spec.array) {
      addFinishedHistory(s, lifecycle, spec, submit, now);
      continue;
    }
    if (r < 0.11 && !spec.array) spec.hold = true;
    const job = lifecycle.makeJob(spec, submit);
    job.stateReason = 'Priority';
    s.addJob(job);
    s.stats.submitted++;
    if (job.held) {
      job.stateReason = job.held === 'user' ? 'JobHeldUser' : 'JobHeldAdmin';
      job.priority = 0;
      continue;
    }
    // Started some time between submission and now, still running now.
    scheduler.tryStart(job, now);
    for (const runner of runningOf(s, job)) {
      const started = s.rng.int(submit, now);
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
      s.endQueue.push({ t: end, id: runner.id, seq: runner.seq });
    }
    if (job.state === 'PENDING') scheduler.enqueue(job);
  }
}

/** The job itself if it just started, or the array tasks split off it (fresh ones only). */
function runningOf(s: EngineState, job: SimJob): SimJob[] {
  if (job.state === 'RUNNING') return [job];
  const out: SimJob[] = [];
  for (const id of s.arrayTasks.get(job.id) ?? []) {
    const task = s.jobs.get(id);
    if (task && task.state === 'RUNNING' && task.startTime >= s.now) out.push(task);
  }
  return out;
}

/** A job that ended before the simulation started, still shown until its purge. */
function addFinishedHistory(s: EngineState, lifecycle: JobLifecycle, spec: SubmitSpec, submit: number, now: number): void {
  const job = lifecycle.makeJob(spec, submit);
  const state = s.rng.weighted<JobState>([
    ['COMPLETED', 70],
    ['FAILED', 12],
    ['CANCELLED', 10],
    ['TIMEOUT', 8],
  ]);
  const latestEnd = now - 1;
  const earliestEnd = Math.min(latestEnd, Math.max(submit + 60, now - s.options.minJobAgeS + 10));
  const end = s.rng.int(earliestEnd, latestEnd);
  const runFor = state === 'TIMEOUT' ? job.timeLimitMin * 60 : Math.min(job.durationS, end - submit);
  job.startTime = Math.max(submit, end - runFor);
  job.lastSchedEval = job.startTime;
  job.alloc = historicAlloc(s, job);
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
  s.jobs.set(job.id, job);
  s.stateCounts[state]++;
  s.stats.submitted++;
  s.stats.started++;
  if (state === 'COMPLETED') s.stats.completed++;
  else if (state === 'CANCELLED') s.stats.canceled++;
  else s.stats.failed++;
  job.seq++;
  s.purgeQueue.push({ t: end + s.options.minJobAgeS, id: job.id, seq: job.seq });
}

/** Where a job that ended before the simulation started ran (its cores are free now). */
function historicAlloc(s: EngineState, job: SimJob): SimJob['alloc'] {
  const part = s.partition(job.partition) as SimPartition;
  const first = s.rng.int(0, part.nodes.length - 1);
  const out: SimJob['alloc'] = [];
  for (let k = 0; k < job.nodeCount && k < part.nodes.length; k++) {
    const node = s.nodes[part.nodes[(first + k) % part.nodes.length]];
    const per = job.nodeCount > 1 ? node.cpus : job.cpus;
    const offset = job.nodeCount > 1 ? 0 : s.rng.int(0, node.cpus - per);
    out.push({ node: node.index, cores: Array.from({ length: per }, (_, c) => offset + c) });
  }
  return out;
}
