// What the engine's parts share: slurmctld's tables (jobs, nodes, partitions), the heaps of timed
// events, the free-CPU index, the counters diag reports, and the one seeded Prng. The scheduler,
// the job lifecycle and node health each work on this record; none of them holds state of its
// own, so the order of random draws is the order in which the engine calls them.
import { ACCOUNTS, QOS, USERS } from './catalog.js';
import { buildAssociations, buildNodes, buildPartitions, buildReservations } from './cluster-layout.js';
import { slurmError } from './command-errors.js';
import { byTime, type QueueEntry, type TimedEntry } from './event-queue.js';
import { FreeCpuIndex } from './free-cpu-index.js';
import { Heap } from './heap.js';
import type { ResolvedEngineOptions, SimClock } from './options.js';
import { Prng } from './prng.js';
import type {
  JobState,
  LastUpdate,
  SimAccount,
  SimAssociation,
  SimJob,
  SimNode,
  SimPartition,
  SimQos,
  SimReservation,
  SimUser,
} from './types.js';

export class EngineState {
  readonly cluster: string;
  readonly users: readonly SimUser[] = USERS;
  readonly accounts: readonly SimAccount[] = ACCOUNTS;
  readonly qos: readonly SimQos[] = QOS;
  readonly associations: SimAssociation[];
  readonly partitions: SimPartition[];
  readonly reservations: SimReservation[];
  readonly nodes: SimNode[];
  readonly nodeByName = new Map<string, SimNode>();
  readonly lastUpdate: LastUpdate;
  /** The second slurmctld "started" (for diag's req_time_start and the like). */
  readonly startedAt: number;
  /** Jobs ever started/completed/canceled/failed/submitted, for diag. */
  readonly stats = { submitted: 0, started: 0, completed: 0, canceled: 0, failed: 0 };

  readonly rng: Prng;
  /** All jobs slurmctld holds, in insertion (= ascending id) order, finished ones until purged. */
  readonly jobs = new Map<number, SimJob>();
  /** Ids of the tasks split off each array job (the compact record included once it is the last). */
  readonly arrayTasks = new Map<number, Set<number>>();
  readonly stateCounts: Record<JobState, number> = {
    PENDING: 0,
    RUNNING: 0,
    COMPLETED: 0,
    FAILED: 0,
    CANCELLED: 0,
    TIMEOUT: 0,
    NODE_FAIL: 0,
  };
  /** Schedulable nodes by free CPUs, per partition. */
  readonly freeCpus: FreeCpuIndex;
  readonly pendingQueue = new Heap<QueueEntry>((a, b) => a.priority > b.priority || (a.priority === b.priority && a.id < b.id));
  readonly endQueue = new Heap<TimedEntry>(byTime);
  readonly purgeQueue = new Heap<TimedEntry>(byTime);
  readonly beginQueue = new Heap<TimedEntry>(byTime);
  readonly recoverQueue = new Heap<TimedEntry>(byTime);
  /** The debug partition: its jobs get a priority bonus and the workload sends short jobs there. */
  readonly debugName: string;
  nextJobId = 1001;
  lastTickMs: number;

  constructor(
    readonly options: ResolvedEngineOptions,
    private readonly clock: SimClock,
  ) {
    this.cluster = options.cluster;
    this.rng = new Prng(options.seed);
    this.lastTickMs = clock.now();
    const now = Math.floor(this.lastTickMs / 1000);
    this.startedAt = now;
    this.lastUpdate = { jobs: now, nodes: now, partitions: now };
    this.nodes = buildNodes(options, this.rng, now);
    for (const node of this.nodes) this.nodeByName.set(node.name, node);
    this.partitions = buildPartitions(this.nodes);
    this.debugName = this.partitions[0].name;
    this.freeCpus = new FreeCpuIndex(this.partitions, options.cpusPerNode);
    this.reservations = buildReservations(this.nodes, now);
    this.associations = buildAssociations();
  }

  /** Seconds of the last tick (slurmctld's "now"). */
  get now(): number {
    return Math.floor(this.lastTickMs / 1000);
  }

  /** slurmctld's wall clock in whole seconds (never before the last tick): what diag's req_time says. */
  clockSecond(): number {
    return Math.max(this.now, Math.floor(this.clock.now() / 1000));
  }

  /** Reads the caller's clock (tick's default "now"). */
  clockMs(): number {
    return this.clock.now();
  }

  partition(name: string): SimPartition | undefined {
    return this.partitions.find((p) => p.name === name);
  }

  addJob(job: SimJob): void {
    this.jobs.set(job.id, job);
    this.stateCounts[job.state]++;
  }

  markJobs(now: number): void {
    if (now > this.lastUpdate.jobs) this.lastUpdate.jobs = now;
  }

  markNodes(now: number): void {
    if (now > this.lastUpdate.nodes) this.lastUpdate.nodes = now;
  }

  mustJob(id: number): SimJob {
    const job = this.jobs.get(id);
    if (!job) throw slurmError('INVALID_JOB_ID', `Unable to find JobId=${id}`);
    return job;
  }

  mustNode(name: string): SimNode {
    const node = this.nodeByName.get(name);
    if (!node) throw slurmError('INVALID_NODE_NAME', `Invalid node name specified: ${name}`);
    return node;
  }
}
