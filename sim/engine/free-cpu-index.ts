// Which nodes can take a job right now, without scanning the node table: per partition,
// buckets[k] holds the schedulable nodes with exactly k free CPUs. Down and drained nodes sit in
// no bucket (node.bucket = -1).
import type { SimJob, SimNode, SimPartition } from './types.js';

export class FreeCpuIndex {
  private readonly buckets = new Map<string, Set<number>[]>();

  constructor(
    partitions: readonly SimPartition[],
    private readonly cpusPerNode: number,
  ) {
    for (const p of partitions) {
      const buckets: Set<number>[] = [];
      for (let k = 0; k <= cpusPerNode; k++) buckets.push(new Set());
      this.buckets.set(p.name, buckets);
    }
  }

  /** Nodes for a job from the partition's free-CPU buckets (best fit), or null if it does not fit now. */
  findNodes(job: SimJob): number[] | null {
    const buckets = this.buckets.get(job.partition) as Set<number>[];
    const cpn = this.cpusPerNode;
    if (job.nodeCount === 1) {
      for (let k = job.cpus; k <= cpn; k++) {
        const first = buckets[k].values().next();
        if (!first.done) return [first.value];
      }
      return null;
    }
    const idle = buckets[cpn];
    if (idle.size < job.nodeCount) return null;
    const out: number[] = [];
    for (const i of idle) {
      out.push(i);
      if (out.length === job.nodeCount) break;
    }
    return out;
  }

  /** Moves a node to the bucket of its free CPUs now (none when down or drained). */
  refile(node: SimNode): void {
    const want = node.down || node.drain ? -1 : node.cpus - node.allocCpus;
    if (want === node.bucket) return;
    for (const p of node.partitions) {
      const buckets = this.buckets.get(p) as Set<number>[];
      if (node.bucket >= 0) buckets[node.bucket].delete(node.index);
      if (want >= 0) buckets[want].add(node.index);
    }
    node.bucket = want;
  }
}
