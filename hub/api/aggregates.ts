// What the fleet overview draws, counted on the hub so the browser never pages through jobs: per
// cluster, its nodes by state, CPU/memory/GPU allocation, jobs by state and the top pending
// reasons per partition. Only the rows the caller may read are counted (the same row filters as
// the lists), so a tenant's overview adds up to what its job list shows.
import type { Job, Node } from '../../shared/model/index.js';
import type { FleetState } from '../fleet/index.js';
import type { Visibility } from '../policy/index.js';

export interface ClusterAggregate {
  cluster: string;
  nodes_by_state: Record<string, number>;
  cpus: { total: number; allocated: number };
  memory_mb: { total: number; allocated: number };
  gpus: { total: number; allocated: number };
  jobs_by_state: Record<string, number>;
  /** The most common reasons pending jobs wait, most jobs first. */
  pending_reasons: { partition: string; reason: string; jobs: number }[];
  /** The controllers the agent reports, and whether each answers. */
  controllers: { hostname: string; responding: boolean; mode: string; observed_at: string | null }[];
}

const TOP_REASONS = 10;

/** "gpu:4", "gpu:a100:2(S:0-1)", "gpu:2,shard:8": the GPUs a node has. */
export function gpusOfGres(gres: string): number {
  let n = 0;
  for (const part of gres.split(',')) {
    const m = /^gpu(?::[^:(]+)?:(\d+)/.exec(part.trim());
    if (m) n += Number(m[1]);
  }
  return n;
}

/** "cpu=4,mem=8G,gres/gpu=2" (Slurm adds "gres/gpu:a100=2" beside it, or alone): the GPUs a job holds. */
export function gpusOfTres(tres: string): number {
  const m = /(?:^|,)gres\/gpu=(\d+)/.exec(tres);
  if (m) return Number(m[1]);
  let n = 0;
  for (const t of tres.matchAll(/(?:^|,)gres\/gpu:[^=,]+=(\d+)/g)) n += Number(t[1]);
  return n;
}

/** A node's display state: its base state with DRAIN when the flag is set (what sinfo shows). */
export function nodeDisplayState(node: Node): string {
  return node.flags.includes('DRAIN') && !node.state.startsWith('DRAIN') ? `${node.state}+DRAIN` : node.state;
}

export function fleetAggregates(state: FleetState, visibility: Visibility, cluster?: string): ClusterAggregate[] {
  const clusterRows = visibility.rows('cluster');
  const jobRows = visibility.rows('jobs');
  const nodeRows = visibility.rows('nodes');
  const out: ClusterAggregate[] = [];
  for (const name of [...state.clusters.keys()].sort()) {
    if (cluster && name !== cluster) continue;
    if (!clusterRows.allows('cluster', { name, cluster: name })) continue;
    const record = state.clusters.get(name)!;
    const agg: ClusterAggregate = {
      cluster: name,
      nodes_by_state: {},
      cpus: { total: 0, allocated: 0 },
      memory_mb: { total: 0, allocated: 0 },
      gpus: { total: 0, allocated: 0 },
      jobs_by_state: {},
      pending_reasons: [],
      controllers: [],
    };
    for (const node of record.objects.node.values()) {
      if (!nodeRows.unrestricted && !nodeRows.allows('node', node)) continue;
      const s = nodeDisplayState(node);
      agg.nodes_by_state[s] = (agg.nodes_by_state[s] ?? 0) + 1;
      agg.cpus.total += node.cpus;
      agg.cpus.allocated += node.alloc_cpus;
      agg.memory_mb.total += node.memory_mb;
      agg.memory_mb.allocated += node.alloc_memory_mb;
      agg.gpus.total += gpusOfGres(node.gres);
    }
    const reasons = new Map<string, { partition: string; reason: string; jobs: number }>();
    const visible = jobRows.unrestricted ? undefined : (j: Job) => jobRows.allows('job', j);
    for (const job of state.jobOrder.get(name)?.slots ?? []) {
      if (job === undefined || (visible && !visible(job))) continue;
      agg.jobs_by_state[job.state] = (agg.jobs_by_state[job.state] ?? 0) + 1;
      if (job.state === 'RUNNING') agg.gpus.allocated += gpusOfTres(job.tres);
      else if (job.state === 'PENDING') {
        const reason = job.state_reason || 'None';
        const key = `${job.partition}\u0000${reason}`;
        const r = reasons.get(key);
        if (r) r.jobs++;
        else reasons.set(key, { partition: job.partition, reason, jobs: 1 });
      }
    }
    agg.pending_reasons = [...reasons.values()].sort((a, b) => b.jobs - a.jobs || (a.reason < b.reason ? -1 : 1)).slice(0, TOP_REASONS);
    agg.controllers = [...record.objects.controller.values()].map((c) => ({ hostname: c.hostname, responding: c.responding, mode: c.mode, observed_at: c.observed_at ?? null }));
    out.push(agg);
  }
  return out;
}
