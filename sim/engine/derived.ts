// Values slurmctld derives from a record (TRES strings, load, free memory). One place, so every API
// version and the model view print the same numbers.
import type { SimJob, SimNode } from './types.js';

/** Slurm's TRES memory: whole GiB as "NG", otherwise "NM". */
export function memTres(mb: number): string {
  return mb > 0 && mb % 1024 === 0 ? `${mb / 1024}G` : `${mb}M`;
}

export function jobMemMb(job: SimJob): number {
  return job.cpus * job.memPerCpuMb;
}

/** What the job asked for: `cpu=4,mem=16000M,node=1,billing=4`. */
export function jobTresReq(job: SimJob): string {
  return `cpu=${job.cpus},mem=${memTres(jobMemMb(job))},node=${job.nodeCount},billing=${job.cpus}`;
}

/** What it got; "" until it has run. */
export function jobTresAlloc(job: SimJob): string {
  if (job.alloc.length === 0) return '';
  const cpus = job.alloc.reduce((n, a) => n + a.cores.length, 0);
  return `cpu=${cpus},mem=${memTres(cpus * job.memPerCpuMb)},node=${job.alloc.length},billing=${cpus}`;
}

export function nodeTres(node: SimNode): string {
  return `cpu=${node.cpus},mem=${memTres(node.memoryMb)},billing=${node.cpus}`;
}

/** "" for an idle node, else `cpu=N,mem=M`. */
export function nodeTresUsed(node: SimNode): string {
  return node.allocCpus === 0 ? '' : `cpu=${node.allocCpus},mem=${memTres(node.allocMemMb)}`;
}

/**
 * Load average times 100 (Slurm's unit), roughly the busy CPUs plus a little noise per node. A
 * DOWN node keeps its last report, as slurmctld does; it had no jobs left, so that is the idle load.
 */
export function nodeCpuLoad(node: SimNode): number {
  return node.allocCpus * 100 + ((node.index * 37) % 50);
}

/** Free memory in MB as slurmd reports it: a bit less than what jobs left unallocated. */
export function nodeFreeMemMb(node: SimNode): number {
  return Math.max(0, node.memoryMb - Math.floor(node.allocMemMb * 0.7) - 1800 - ((node.index * 131) % 700));
}
