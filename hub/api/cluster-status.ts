import type { FleetState } from '../fleet/index.js';

export interface ClusterStatusView {
  name: string;
  connected: boolean;
  agent: string | null;
  epoch: number;
  seq: number;
  last_delta_at: string | null;
  last_observed_at: string | null;
  slurm_api_version: string;
  jobs: number;
  nodes: number;
  partitions: number;
  /** Clustered hubs: the hub of the region whose agent of the cluster is active (etcd ownership). */
  owner_hub?: string | null;
}

export function clusterStatuses(state: FleetState, owner?: (cluster: string) => string | null): ClusterStatusView[] {
  return [...state.clusters.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((r) => ({
      name: r.name,
      connected: r.connected,
      agent: r.agent ?? null,
      epoch: r.epoch,
      seq: r.seq,
      last_delta_at: r.lastDeltaAt ?? null,
      last_observed_at: r.lastObservedAt ?? null,
      slurm_api_version: r.slurmApiVersion,
      jobs: r.objects.job.size,
      nodes: r.objects.node.size,
      partitions: r.objects.partition.size,
      ...(owner ? { owner_hub: owner(r.name) } : {}),
    }));
}
