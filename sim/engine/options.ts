// What a caller configures (SimEngineOptions) and the shapes the engine takes and returns:
// submit specs, tick summaries, operator commands. resolveEngineOptions fills defaults and
// validates once, so the engine itself never sees a half-specified option.
import { ConfigError } from '../../shared/errors/index.js';
import { CPU_CHOICES, MULTI_NODE_SHARE, TIME_LIMITS_MIN } from './catalog.js';
import type { JobOutcome } from './types.js';

/** Milliseconds since the epoch, like Date.now(). */
export interface SimClock {
  now(): number;
}

export interface SimEngineOptions {
  cluster: string;
  nodes: number;
  /** Jobs slurmctld already holds when the simulation starts. */
  jobs: number;
  seed?: number;
  /** Node names are `<prefix><number>`, zero-padded to at least 3 digits: cn001..cn064. */
  nodePrefix?: string;
  cpusPerNode?: number;
  socketsPerNode?: number;
  memoryPerNodeMb?: number;
  memPerCpuMb?: number;
  /** New jobs per minute (Poisson). Default: about what the cluster can run, so queues stay steady. */
  arrivalPerMin?: number;
  /** Node failures per hour across the cluster (Poisson); a failed node comes back 5 to 30 min later. */
  nodeFailurePerHour?: number;
  /** Seconds a finished job stays visible (Slurm's MinJobAge). */
  minJobAgeS?: number;
  /** Pending jobs the scheduler looks at per tick (Slurm's default_queue_depth). */
  schedulerDepth?: number;
}

export type ResolvedEngineOptions = Required<SimEngineOptions>;

export interface SubmitSpec {
  user?: string;
  account?: string;
  partition?: string;
  qos?: string;
  name?: string;
  cpus?: number;
  durationS?: number;
  timeLimitMin?: number;
  outcome?: JobOutcome;
  exitCode?: number;
  /** `{ first, last, max }` for an array `first-last%max`. */
  array?: { first: number; last: number; max?: number };
  hold?: boolean;
  comment?: string;
}

export interface TickSummary {
  arrived: number;
  started: number;
  finished: number;
  purged: number;
  nodeFailures: number;
  nodeRecoveries: number;
}

export type SimCommandKind = 'cancel' | 'hold' | 'release' | 'requeue' | 'drain' | 'resume';

export interface SimCommand {
  kind: SimCommandKind;
  target: string;
  reason?: string;
}

const DEFAULT_NODE_FAILURES_PER_HOUR = 1;

export function resolveEngineOptions(opts: SimEngineOptions): ResolvedEngineOptions {
  const cpus = opts.cpusPerNode ?? 32;
  const sockets = opts.socketsPerNode ?? 2;
  const memory = opts.memoryPerNodeMb ?? 192_000;
  const r: ResolvedEngineOptions = {
    cluster: opts.cluster,
    nodes: opts.nodes,
    jobs: opts.jobs,
    seed: opts.seed ?? 1,
    nodePrefix: opts.nodePrefix ?? 'cn',
    cpusPerNode: cpus,
    socketsPerNode: sockets,
    memoryPerNodeMb: memory,
    memPerCpuMb: opts.memPerCpuMb ?? Math.max(1, Math.min(4000, Math.floor(memory / cpus))),
    arrivalPerMin: opts.arrivalPerMin ?? -1,
    nodeFailurePerHour: opts.nodeFailurePerHour ?? DEFAULT_NODE_FAILURES_PER_HOUR,
    minJobAgeS: opts.minJobAgeS ?? 300,
    schedulerDepth: opts.schedulerDepth ?? 500,
  };
  const problems: string[] = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(r.cluster)) problems.push(`cluster name "${r.cluster}" is not a valid Slurm cluster name`);
  if (!Number.isInteger(r.nodes) || r.nodes < 1 || r.nodes > 200_000) problems.push(`nodes must be an integer from 1 to 200000 (got ${r.nodes})`);
  if (!Number.isInteger(r.jobs) || r.jobs < 0 || r.jobs > 2_000_000) problems.push(`jobs must be an integer from 0 to 2000000 (got ${r.jobs})`);
  if (!Number.isInteger(r.seed)) problems.push(`seed must be an integer (got ${r.seed})`);
  if (!/^[A-Za-z][A-Za-z-]*$/.test(r.nodePrefix)) problems.push(`nodePrefix "${r.nodePrefix}" must be letters`);
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 1024) problems.push(`cpusPerNode must be from 1 to 1024 (got ${cpus})`);
  if (!Number.isInteger(sockets) || sockets < 1 || cpus % sockets !== 0) problems.push(`socketsPerNode (${sockets}) must divide cpusPerNode (${cpus})`);
  if (!(r.memPerCpuMb * cpus <= memory)) problems.push(`memPerCpuMb × cpusPerNode must fit memoryPerNodeMb`);
  if (!(r.arrivalPerMin === -1 || r.arrivalPerMin >= 0)) problems.push(`arrivalPerMin must be >= 0 (got ${r.arrivalPerMin})`);
  if (!(r.nodeFailurePerHour >= 0)) problems.push(`nodeFailurePerHour must be >= 0 (got ${r.nodeFailurePerHour})`);
  if (!(r.minJobAgeS >= 0)) problems.push(`minJobAgeS must be >= 0 (got ${r.minJobAgeS})`);
  if (!(r.schedulerDepth >= 1)) problems.push(`schedulerDepth must be >= 1 (got ${r.schedulerDepth})`);
  if (problems.length > 0) throw new ConfigError(`invalid simulator options: ${problems.join('; ')}`);
  if (r.arrivalPerMin === -1) r.arrivalPerMin = steadyArrivalPerMin(r);
  return r;
}

/** Jobs per minute the cluster can absorb with the default job mix, rounded; a bit under capacity. */
function steadyArrivalPerMin(o: ResolvedEngineOptions): number {
  let weight = 0;
  let cpuSum = 0;
  for (const [c, w] of CPU_CHOICES) {
    weight += w;
    cpuSum += w * (c < 0 ? o.cpusPerNode : Math.min(c, o.cpusPerNode));
  }
  const avgCpus = (1 - MULTI_NODE_SHARE) * (cpuSum / weight) + MULTI_NODE_SHARE * 3 * o.cpusPerNode;
  let lw = 0;
  let ls = 0;
  for (const [l, w] of TIME_LIMITS_MIN) {
    lw += w;
    ls += l * w;
  }
  const avgMinutes = (ls / lw) * 0.45;
  const perMin = ((o.nodes * o.cpusPerNode) / (avgCpus * avgMinutes)) * 0.9;
  return Math.max(0.1, Math.round(perMin * 10) / 10);
}
