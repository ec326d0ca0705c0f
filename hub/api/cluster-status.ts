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
  /** connected; disconnected (an agent streamed once); expected, no agent (declared in hub.yaml, never heard). */
  state: ClusterState;
  /** Named in hub.yaml's `clusters:` map. */
  declared: boolean;
}

export type ClusterState = 'connected' | 'disconnected' | 'expected, no agent';

/** The clusters the hub holds, and those hub.yaml declares that no agent has streamed for yet. */
export function clusterStatuses(state: FleetState, owner?: (cluster: string) => string | null, declared: readonly string[] = []): ClusterStatusView[] {
  const expected = new Set(declared);
  const held = [...state.clusters.values()].map((r) => ({
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
      state: r.connected ? 'connected' : r.agent === undefined && expected.has(r.name) ? 'expected, no agent' : 'disconnected',
      declared: expected.has(r.name),
    }) satisfies ClusterStatusView);
  const missing = declared.filter((name) => !state.clusters.has(name)).map((name) => expectedRow(name, owner));
  return [...held, ...missing].sort((a, b) => (a.name < b.name ? -1 : 1));
}

function expectedRow(name: string, owner?: (cluster: string) => string | null): ClusterStatusView {
  return {
    name,
    connected: false,
    agent: null,
    epoch: 0,
    seq: 0,
    last_delta_at: null,
    last_observed_at: null,
    slurm_api_version: '',
    jobs: 0,
    nodes: 0,
    partitions: 0,
    ...(owner ? { owner_hub: owner(name) } : {}),
    state: 'expected, no agent',
    declared: true,
  };
}
