// The clusters hub.yaml declares (`clusters:`): its schema. The hub lists them (api/cluster-status.ts)
// and alerts on them (alerting's cluster_expected_missing); cli/agent-for writes their agents' files.
export { CLUSTER_NAME, clustersConfigSchema, declaredClusterSchema, type ClustersConfig, type DeclaredCluster } from './config.js';
