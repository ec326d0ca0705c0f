// The hub's `clusters:` map: the clusters this hub (or hub group) should hear from, each with its
// slurmrestd endpoints and how they share the work. The hub lists a declared cluster without an
// agent ("expected, no agent") and alerts on it (cluster_expected_missing); the endpoints are what
// `sfleet config agent-for CLUSTER` writes into that cluster's agent.yaml.
import { z } from 'zod';
import { loadBalancingSchema, slurmEndpoint } from '../../shared/config/slurm-endpoints.js';

/** As the agent's `cluster:` and its certificate name it. */
export const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const declaredClusterSchema = z
  .object({
    endpoints: z.array(slurmEndpoint).min(1, "name at least one slurmrestd endpoint: the cluster's agent reads Slurm there").describe("The cluster's slurmrestd URLs (http(s)://host:port or unix:/path.sock), written into its agent's slurm.endpoints."),
    load_balancing: loadBalancingSchema.optional().describe("How the agent shares its work between the endpoints (its slurm.load_balancing); absent: the agent's default, failover in order."),
  })
  .strict();

export const clustersConfigSchema = z
  .record(z.string(), declaredClusterSchema)
  .superRefine((map, ctx) => {
    for (const name of Object.keys(map)) {
      if (!CLUSTER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not a cluster name: letters, digits, . _ - (max 63), as its agent names it` });
    }
  })
  .describe(
    "The clusters this hub should hear from, by the name their agents give. A declared cluster without a connected agent is listed by `sfleet clusters` (state \"expected, no agent\") and raises the cluster_expected_missing alert; `sfleet config agent-for NAME --config hub.yaml` writes its agent's configuration from this entry. Absent: the hub learns its clusters from their agents only.",
  );

export type DeclaredCluster = z.infer<typeof declaredClusterSchema>;
export type ClustersConfig = z.infer<typeof clustersConfigSchema>;
