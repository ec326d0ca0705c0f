// The fleet tally kept as deltas apply, so a scrape costs the number of series, not the number
// of jobs. Recounting a million jobs per scrape blocked the hub's event loop for about a second
// (every query waiting behind it); here each job change costs a few map updates, and most cost
// nothing: an update that moves none of partition, state, account, pending reason or held GPUs
// (priority, times) is skipped at once.
//
// Every count is a sum of what each object adds, so a change is "take away what the previous
// version added, add what the next one adds". The one thing that is not a sum (GPUs held by
// jobs moved out of the nodes' idle GPUs, capped) is done when the tally is read, on the sums,
// exactly as the recount does it. fleet-counts.test.ts holds the two equal.
import type { ClusterObjects } from '../../shared/delta/index.js';
import type { Job, Node } from '../../shared/model/index.js';
import type { ClusterRecord, FleetChange, FleetState } from '../fleet/index.js';
import { isCountedFlag, jobGpus, moveToAllocated, nodeShares, SEP, zero, type Amounts, type ClusterTally } from './fleet-tally.js';

type Counts = Map<string, number>;
/** first label value -> second label value -> count */
type Counts2 = Map<string, Counts>;

/** One cluster's counts; `tally()` answers what tallyCluster(objects) would. */
export class ClusterCounts {
  private readonly jobs: Counts2 = new Map();
  private readonly accountJobs: Counts2 = new Map();
  private readonly pendingReasons: Counts = new Map();
  /** GPUs held by running jobs, per job partition, and in all. */
  private readonly heldGpus: Counts = new Map();
  private clusterHeldGpus = 0;
  private readonly nodes: Counts2 = new Map();
  private readonly nodeFlags: Counts2 = new Map();
  /** Nodes per partition: a partition's resource series live while it has a node. */
  private readonly partitionNodes: Counts = new Map();
  private readonly cpus = zero();
  private readonly memoryBytes = zero();
  /** Node GPUs as idle or unavailable, before running jobs' GPUs are moved to allocated. */
  private readonly gpus = zero();
  private readonly partitionCpus = new Map<string, Amounts>();
  private readonly partitionMemoryBytes = new Map<string, Amounts>();
  private readonly partitionGpus = new Map<string, Amounts>();
  /** Objects counted, to notice a change that bypassed the feed (a load with notify: false). */
  jobCount = 0;
  nodeCount = 0;

  /** Counts the objects anew. */
  rebuild(objects: ClusterObjects): void {
    for (const m of [this.jobs, this.accountJobs, this.pendingReasons, this.heldGpus, this.nodes, this.nodeFlags, this.partitionNodes, this.partitionCpus, this.partitionMemoryBytes, this.partitionGpus]) m.clear();
    this.clusterHeldGpus = 0;
    for (const a of [this.cpus, this.memoryBytes, this.gpus]) Object.assign(a, zero());
    this.jobCount = 0;
    this.nodeCount = 0;
    for (const job of objects.job.values()) this.job(job, 1);
    for (const node of objects.node.values()) this.node(node, 1);
  }

  /** A job appeared (previous undefined), changed, or went (next undefined). */
  jobChanged(previous: Job | undefined, next: Job | undefined): void {
    if (previous && next && sameJobCounts(previous, next)) return;
    if (previous) this.job(previous, -1);
    if (next) this.job(next, 1);
  }

  nodeChanged(previous: Node | undefined, next: Node | undefined): void {
    if (previous) this.node(previous, -1);
    if (next) this.node(next, 1);
  }

  /** The counts in tallyCluster's shape (fresh maps: the caller may keep them). */
  tally(): ClusterTally {
    const t: ClusterTally = {
      jobs: flatten(this.jobs),
      accountJobs: flatten(this.accountJobs),
      nodes: flatten(this.nodes),
      nodeFlags: flatten(this.nodeFlags),
      cpus: { ...this.cpus },
      gpus: { ...this.gpus },
      memoryBytes: { ...this.memoryBytes },
      partitionCpus: copyAmounts(this.partitionCpus),
      partitionGpus: copyAmounts(this.partitionGpus),
      partitionMemoryBytes: copyAmounts(this.partitionMemoryBytes),
      pendingReasons: new Map(this.pendingReasons),
    };
    moveToAllocated(t.gpus, this.clusterHeldGpus);
    for (const [p, n] of this.heldGpus) {
      let a = t.partitionGpus.get(p);
      if (!a) t.partitionGpus.set(p, (a = zero()));
      moveToAllocated(a, n);
    }
    return t;
  }

  private job(job: Job, sign: 1 | -1): void {
    this.jobCount += sign;
    add2(this.jobs, job.partition, job.state, sign);
    if (job.state === 'PENDING' || job.state === 'RUNNING') add2(this.accountJobs, job.account, job.state, sign);
    if (job.state === 'PENDING') add(this.pendingReasons, job.state_reason || 'None', sign);
    if (job.state === 'RUNNING') {
      const g = jobGpus(job);
      if (g > 0) {
        this.clusterHeldGpus += sign * g;
        add(this.heldGpus, job.partition, sign * g);
      }
    }
  }

  private node(node: Node, sign: 1 | -1): void {
    this.nodeCount += sign;
    const { parts, out, gpus, cpus, mem } = nodeShares(node);
    addAmounts(this.cpus, cpus, sign);
    addAmounts(this.memoryBytes, mem, sign);
    if (out) this.gpus.unavailable += sign * gpus;
    else this.gpus.idle += sign * gpus;
    for (const p of parts) {
      add2(this.nodes, p, node.state, sign);
      for (const f of node.flags) if (isCountedFlag(f)) add2(this.nodeFlags, p, f, sign);
      addAmounts(amountsOf(this.partitionCpus, p), cpus, sign);
      addAmounts(amountsOf(this.partitionMemoryBytes, p), mem, sign);
      const g = amountsOf(this.partitionGpus, p);
      if (out) g.unavailable += sign * gpus;
      else g.idle += sign * gpus;
      // The recount has a partition's resource series exactly while a node is in it.
      if (add(this.partitionNodes, p, sign) === 0) {
        this.partitionCpus.delete(p);
        this.partitionMemoryBytes.delete(p);
        this.partitionGpus.delete(p);
      }
    }
  }
}

/** Every cluster's counts, fed by the fleet state's change feed. */
export class FleetCounts {
  private readonly clusters = new Map<string, ClusterCounts>();
  private readonly unsubscribe: () => void;

  constructor(private readonly state: FleetState) {
    for (const record of state.clusters.values()) this.of(record);
    this.unsubscribe = state.onChanges((changes) => this.apply(changes));
  }

  /** Each cluster's record and tally, as a recount of the state would give them. */
  *tallies(): Iterable<[ClusterRecord, ClusterTally]> {
    for (const record of this.state.clusters.values()) {
      const counts = this.of(record);
      // A change the feed did not carry (apply with notify: false) shows as a size that differs: recount.
      if (counts.jobCount !== record.objects.job.size || counts.nodeCount !== record.objects.node.size) counts.rebuild(record.objects);
      yield [record, counts.tally()];
    }
  }

  close(): void {
    this.unsubscribe();
  }

  private apply(changes: readonly FleetChange[]): void {
    let cluster: string | undefined;
    let counts: ClusterCounts | undefined;
    for (const c of changes) {
      if (c.kind !== 'job' && c.kind !== 'node') continue;
      if (c.cluster !== cluster) {
        cluster = c.cluster;
        counts = this.clusters.get(cluster);
      }
      // A cluster first counted at the next read (from its objects, this change included).
      if (!counts) continue;
      const next = c.type === 'upsert' ? c.value : undefined;
      if (c.kind === 'job') counts.jobChanged(c.previous as Job | undefined, next as Job | undefined);
      else counts.nodeChanged(c.previous as Node | undefined, next as Node | undefined);
    }
  }

  private of(record: ClusterRecord): ClusterCounts {
    let counts = this.clusters.get(record.name);
    if (!counts) {
      this.clusters.set(record.name, (counts = new ClusterCounts()));
      counts.rebuild(record.objects);
    }
    return counts;
  }
}

/** Nothing a job adds to the counts differs between the two versions. */
function sameJobCounts(a: Job, b: Job): boolean {
  if (a.partition !== b.partition || a.state !== b.state || a.account !== b.account) return false;
  if (a.state === 'PENDING' && a.state_reason !== b.state_reason) return false;
  if (a.state === 'RUNNING' && a.tres !== b.tres && jobGpus(a) !== jobGpus(b)) return false;
  return true;
}

/** Adds n to key's count, deleting it at zero (the recount has no series for what is gone). Returns the new count. */
function add(map: Counts, key: string, n: number): number {
  const v = (map.get(key) ?? 0) + n;
  if (v === 0) map.delete(key);
  else map.set(key, v);
  return v;
}

function add2(map: Counts2, a: string, b: string, n: number): void {
  let inner = map.get(a);
  if (!inner) map.set(a, (inner = new Map()));
  add(inner, b, n);
  if (inner.size === 0) map.delete(a);
}

function flatten(map: Counts2): Counts {
  const out: Counts = new Map();
  for (const [a, inner] of map) for (const [b, n] of inner) out.set(a + SEP + b, n);
  return out;
}

function copyAmounts(map: Map<string, Amounts>): Map<string, Amounts> {
  const out = new Map<string, Amounts>();
  for (const [k, a] of map) out.set(k, { ...a });
  return out;
}

function amountsOf(map: Map<string, Amounts>, key: string): Amounts {
  let a = map.get(key);
  if (!a) map.set(key, (a = zero()));
  return a;
}

function addAmounts(into: Amounts, a: Amounts, sign: 1 | -1): void {
  into.allocated += sign * a.allocated;
  into.idle += sign * a.idle;
  into.unavailable += sign * a.unavailable;
}
