// What every fleet gauge counts, with no per-job or per-node label (a job id label is a series
// per job; Prometheus dies of that). The shape follows the Slurm exporters' per-partition and
// per-account gauges, but it reads the hub's memory instead of costing slurmctld a full dump.
// tallyCluster() is the whole recount: the definition. The hub serves the same tally kept as
// deltas apply (fleet-counts.ts), which tests hold equal to this recount.
import type { ClusterObjects } from '../../shared/delta/index.js';
import type { Job, Node } from '../../shared/model/index.js';

/** Node flags worth a series of their own: what takes a node out of service. */
export const NODE_FLAGS = ['DRAIN', 'MAINTENANCE', 'NOT_RESPONDING', 'POWERED_DOWN', 'RESERVED', 'FAIL', 'COMPLETING'] as const;
/** Flags (or base states) that leave a node's free CPUs unusable. */
const OUT_OF_SERVICE = new Set(['DOWN', 'DRAIN', 'DRAINED', 'DRAINING', 'FAIL', 'FAILING', 'MAINTENANCE', 'NOT_RESPONDING', 'POWERED_DOWN', 'POWER_DOWN', 'FUTURE', 'UNKNOWN']);
/** Series of a node without a partition. */
export const NO_PARTITION = '(none)';
export const OTHER = 'other';

/** Resource amounts: allocated + idle + unavailable = total. */
export interface Amounts {
  allocated: number;
  idle: number;
  unavailable: number;
}

export interface ClusterTally {
  /** partition \0 state -> jobs */
  jobs: Map<string, number>;
  /** account \0 state -> jobs (pending and running only: what gets graphed per account) */
  accountJobs: Map<string, number>;
  /** partition \0 state -> nodes */
  nodes: Map<string, number>;
  /** partition \0 flag -> nodes */
  nodeFlags: Map<string, number>;
  cpus: Amounts;
  gpus: Amounts;
  memoryBytes: Amounts;
  partitionCpus: Map<string, Amounts>;
  partitionGpus: Map<string, Amounts>;
  partitionMemoryBytes: Map<string, Amounts>;
  /** Pending jobs by reason, all of them (the top N is cut when served). */
  pendingReasons: Map<string, number>;
}

export const SEP = '\u0000';
const MIB = 1024 * 1024;

export function tallyCluster(objects: ClusterObjects): ClusterTally {
  const t: ClusterTally = {
    jobs: new Map(),
    accountJobs: new Map(),
    nodes: new Map(),
    nodeFlags: new Map(),
    cpus: zero(),
    gpus: zero(),
    memoryBytes: zero(),
    partitionCpus: new Map(),
    partitionGpus: new Map(),
    partitionMemoryBytes: new Map(),
    pendingReasons: new Map(),
  };
  const allocatedGpus = new Map<string, number>();
  let clusterAllocatedGpus = 0;
  for (const job of objects.job.values()) {
    add(t.jobs, job.partition + SEP + job.state, 1);
    if (job.state === 'PENDING' || job.state === 'RUNNING') add(t.accountJobs, job.account + SEP + job.state, 1);
    if (job.state === 'PENDING') add(t.pendingReasons, job.state_reason || 'None', 1);
    if (job.state === 'RUNNING') {
      const g = jobGpus(job);
      if (g > 0) {
        clusterAllocatedGpus += g;
        add(allocatedGpus, job.partition, g);
      }
    }
  }
  for (const node of objects.node.values()) {
    const { parts, out, gpus, cpus, mem } = nodeShares(node);
    addAmounts(t.cpus, cpus);
    addAmounts(t.memoryBytes, mem);
    for (const p of parts) {
      add(t.nodes, p + SEP + node.state, 1);
      for (const f of node.flags) if (isCountedFlag(f)) add(t.nodeFlags, p + SEP + f, 1);
      addAmounts(amountsOf(t.partitionCpus, p), cpus);
      addAmounts(amountsOf(t.partitionMemoryBytes, p), mem);
      // GPU allocation comes from running jobs; here only where the GPUs are and whether usable.
      const a = amountsOf(t.partitionGpus, p);
      if (out) a.unavailable += gpus;
      else a.idle += gpus;
    }
    if (out) t.gpus.unavailable += gpus;
    else t.gpus.idle += gpus;
  }
  moveToAllocated(t.gpus, clusterAllocatedGpus);
  for (const [p, n] of allocatedGpus) moveToAllocated(amountsOf(t.partitionGpus, p), n);
  return t;
}

/** GPUs of a node's gres string: `gpu:4`, `gpu:a100:4(S:0-1),gpu:t4:2`. */
export function nodeGpus(gres: string): number {
  let n = 0;
  for (const entry of gres.split(',')) {
    const m = /^gpu(?::[^:(]+)*?:(\d+)(?:\(|$)/.exec(entry.trim());
    if (m) n += Number(m[1]);
  }
  return n;
}

/** GPUs a job holds, from its TRES (`...,gres/gpu=2,gres/gpu:a100=2`: the untyped total). */
export function jobGpus(job: Pick<Job, 'tres'>): number {
  const m = /(?:^|,)gres\/gpu=(\d+)/.exec(job.tres);
  return m ? Number(m[1]) : 0;
}

/** What one node adds to its cluster's and partitions' series. */
export interface NodeShares {
  parts: readonly string[];
  /** Out of service: its free CPUs, memory and GPUs are unavailable, not idle. */
  out: boolean;
  gpus: number;
  cpus: Amounts;
  mem: Amounts;
}

export function nodeShares(node: Node): NodeShares {
  const out = outOfService(node);
  return {
    parts: node.partitions.length > 0 ? node.partitions : [NO_PARTITION],
    out,
    gpus: nodeGpus(node.gres),
    cpus: split(node.cpus, node.alloc_cpus, out),
    mem: split(node.memory_mb * MIB, node.alloc_memory_mb * MIB, out),
  };
}

/** Whether a node flag has a series of its own (sfleet_node_flags). */
export function isCountedFlag(flag: string): boolean {
  return (NODE_FLAGS as readonly string[]).includes(flag);
}

function outOfService(node: Node): boolean {
  return OUT_OF_SERVICE.has(node.state) || node.flags.some((f) => OUT_OF_SERVICE.has(f));
}

function split(total: number, allocated: number, out: boolean): Amounts {
  const alloc = Math.min(allocated, total);
  return out ? { allocated: alloc, idle: 0, unavailable: total - alloc } : { allocated: alloc, idle: total - alloc, unavailable: 0 };
}

/** Jobs hold GPUs that were counted idle (or unavailable on a draining node): move them. */
export function moveToAllocated(a: Amounts, n: number): void {
  const fromIdle = Math.min(n, a.idle);
  a.idle -= fromIdle;
  a.unavailable -= Math.min(n - fromIdle, a.unavailable);
  a.allocated += n;
}

export function zero(): Amounts {
  return { allocated: 0, idle: 0, unavailable: 0 };
}

function amountsOf(map: Map<string, Amounts>, key: string): Amounts {
  let a = map.get(key);
  if (!a) map.set(key, (a = zero()));
  return a;
}

function addAmounts(into: Amounts, a: Amounts): void {
  into.allocated += a.allocated;
  into.idle += a.idle;
  into.unavailable += a.unavailable;
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}
