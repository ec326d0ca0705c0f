// The simulated cluster's own records. They hold what slurmctld/slurmdbd know about each object,
// in Slurm's units (unix seconds, minutes for time limits, MB), so every renderer can derive its
// version's fields from them without guessing.

export type JobState = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TIMEOUT' | 'NODE_FAIL';

/** How a running job is going to end if nobody touches it (decided when it is submitted). */
export type JobOutcome = 'COMPLETED' | 'FAILED' | 'TIMEOUT';

export const FINISHED_STATES: ReadonlySet<JobState> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL']);

/** One node's share of a job: the node index and the core indexes (0-based, across sockets). */
export interface JobAlloc {
  node: number;
  cores: number[];
}

export interface SimJob {
  id: number;
  /** 0 when the job is not part of an array. */
  arrayJobId: number;
  /** null for a plain job and for the compact record that still holds pending tasks. */
  arrayTaskId: number | null;
  /** Pending tasks still held by this (compact) record: next..end; none when next > end. */
  arrayNext: number;
  arrayEnd: number;
  /** Max running tasks of the array (the `%N` of `--array=1-100%N`), 0 = no limit. */
  arrayMaxTasks: number;
  name: string;
  user: string;
  userId: number;
  group: string;
  groupId: number;
  account: string;
  partition: string;
  qos: string;
  state: JobState;
  stateReason: string;
  /** The scheduler's priority; 0 while held. */
  priority: number;
  basePriority: number;
  /** Held by the user (JobHeldUser) or an admin (JobHeldAdmin via priority 0). */
  held: '' | 'user' | 'admin';
  cpus: number;
  nodeCount: number;
  memPerCpuMb: number;
  timeLimitMin: number;
  submitTime: number;
  eligibleTime: number;
  startTime: number;
  endTime: number;
  lastSchedEval: number;
  /** Run length if it completes or fails (seconds); a TIMEOUT job runs to its time limit. */
  durationS: number;
  outcome: JobOutcome;
  /** Exit code the job returns when outcome is FAILED. */
  failExitCode: number;
  /** Final exit status (set when the job finishes): return code and signal, as in sacct's "X:Y". */
  exitCode: number;
  exitSignal: number;
  /** Where it runs or ran. Kept after the job ends, as slurmctld does, until it is purged. */
  alloc: JobAlloc[];
  restartCount: number;
  workDir: string;
  comment: string;
  /** Bumped whenever the job leaves a queue, so stale heap entries are skipped. */
  seq: number;
}

export type NodeBaseState = 'IDLE' | 'MIXED' | 'ALLOCATED' | 'DOWN';

export interface SimNode {
  index: number;
  name: string;
  cpus: number;
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
  memoryMb: number;
  allocCpus: number;
  allocMemMb: number;
  /** Job id per core, 0 = free. */
  coreOwner: Int32Array;
  partitions: string[];
  features: string[];
  down: boolean;
  drain: boolean;
  reason: string;
  reasonSetBy: string;
  reasonTime: number;
  bootTime: number;
  slurmdStartTime: number;
  lastBusy: number;
  /** Free CPUs the node is filed under in the scheduler's buckets, -1 when not schedulable. */
  bucket: number;
  seq: number;
}

export interface SimPartition {
  name: string;
  /** Node indexes, ascending. */
  nodes: number[];
  isDefault: boolean;
  /** undefined = UNLIMITED. */
  maxTimeMin?: number;
  defaultTimeMin?: number;
  state: 'UP';
  priorityTier: number;
}

export interface SimReservation {
  name: string;
  nodes: number[];
  startTime: number;
  endTime: number;
  users: string[];
  accounts: string[];
  flags: string[];
  partition: string;
}

export interface SimQos {
  id: number;
  name: string;
  description: string;
  priority: number;
  /** Max wall time per job in minutes, undefined = no limit. */
  maxWallMin?: number;
  flags: string[];
}

export interface SimAccount {
  name: string;
  description: string;
  organization: string;
  coordinators: string[];
}

export interface SimUser {
  name: string;
  uid: number;
  /** The first one is the default account. */
  accounts: string[];
}

export interface SimAssociation {
  id: number;
  account: string;
  /** '' for an account's own association. */
  user: string;
  partition: string;
  parentAccount: string;
  qos: string[];
  defaultQos: string;
  isDefault: boolean;
}

/** Whole-second times of the last change per kind; `?update_time=T` answers 304 when T > this. */
export interface LastUpdate {
  jobs: number;
  nodes: number;
  partitions: number;
}
