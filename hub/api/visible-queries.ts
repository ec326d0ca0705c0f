// The fleet queries as one caller may see them: its RBAC row filters applied to every list,
// single object and count, the same for REST and gRPC. A filtered-out single object answers
// 404 (not 403), so a caller cannot learn that another tenant's job exists.
import { NotFoundError } from '../../shared/errors/index.js';
import type { Job, KindName, Node } from '../../shared/model/index.js';
import { listJobs, queryJobs, queryNodes, queryPartitions, type FleetState, type JobFilter, type JobListOptions, type JobListing, type NodeFilter } from '../fleet/index.js';
import { isGlob, type Visibility, type FilterField, type RowFilter } from '../policy/index.js';
import { clusterStatuses, type ClusterStatusView } from './cluster-status.js';

/** The row filter's single fixed value for each job filter the caller left empty: lets the job index do the work. */
function narrowJobFilter(filter: JobFilter, rows: RowFilter): JobFilter {
  const out = { ...filter };
  for (const field of ['cluster', 'account', 'user', 'partition'] as const satisfies readonly FilterField[]) {
    const fixed = rows.fixed(field);
    if (fixed?.length === 1 && !out[field]) out[field] = fixed[0];
  }
  return out;
}

export function visibleJobs(state: FleetState, visibility: Visibility, filter: JobFilter, limit?: number, cursor?: string) {
  const rows = visibility.rows('jobs');
  if (rows.unrestricted) return queryJobs(state, filter, limit, cursor);
  return queryJobs(state, narrowJobFilter(filter, rows), limit, cursor, (job) => rows.allows('job', job));
}

/** The sorted and counted listing (the dashboard's table) under the same row filter. */
export function visibleJobList(state: FleetState, visibility: Visibility, filter: JobFilter, opts: JobListOptions): JobListing {
  const rows = visibility.rows('jobs');
  if (rows.unrestricted) return listJobs(state, filter, opts);
  return listJobs(state, narrowJobFilter(filter, rows), opts, (job) => rows.allows('job', job));
}

export function visibleNodes(state: FleetState, visibility: Visibility, filter: NodeFilter, limit?: number, cursor?: string) {
  const rows = visibility.rows('nodes');
  if (rows.unrestricted) return queryNodes(state, filter, limit, cursor);
  const page = queryNodes(state, filter, limit, cursor, (n) => rows.allows('node', n));
  return visibility.tenant ? { ...page, items: page.items.map((n) => visibility.tenantView('node', n)) } : page;
}

export function visiblePartitions(state: FleetState, visibility: Visibility, cluster?: string) {
  const rows = visibility.rows('cluster');
  const all = queryPartitions(state, cluster);
  return rows.unrestricted ? all : all.filter((p) => rows.allows('partition', p)).map((p) => visibility.tenantView('partition', p));
}

/** Cluster-level objects (reservations, QOS, accounts...) under the cluster:read filter. */
export function visibleList(state: FleetState, visibility: Visibility, kind: KindName, cluster?: string): unknown[] {
  const rows = visibility.rows('cluster');
  const all = state.list(kind, cluster);
  return rows.unrestricted ? all : all.filter((o) => rows.allows(kind, o)).map((o) => visibility.tenantView(kind, o));
}

/** One job for `verb` (read or a command): 404 when it does not exist or the caller's filter hides it. */
export function visibleJob(state: FleetState, visibility: Visibility, cluster: string, id: string, verb = 'read'): Job {
  const job = state.job(cluster, id);
  if (!job || !visibility.rows('jobs', verb).allows('job', job)) throw new NotFoundError(`job ${cluster}/${id} not found`);
  return job;
}

export function visibleNode(state: FleetState, visibility: Visibility, cluster: string, name: string, verb = 'read'): Node {
  const node = state.clusters.get(cluster)?.objects.node.get(name);
  if (!node || !visibility.rows('nodes', verb).allows('node', node)) throw new NotFoundError(`node ${cluster}/${name} not found`);
  return visibility.tenantView('node', node);
}

/**
 * Commands under a row filter need the object to be known and visible; an unrestricted caller
 * may still address an object the hub has not heard of yet (the agent answers).
 */
export function checkCommandTarget(state: FleetState, visibility: Visibility, resource: 'jobs' | 'nodes', verb: string, cluster: string, target: string): void {
  if (visibility.rows(resource, verb).unrestricted) return;
  if (resource === 'jobs') visibleJob(state, visibility, cluster, target, verb);
  else visibleNode(state, visibility, cluster, target, verb);
}

/** Cluster status rows the caller may see, with counts of only the jobs, nodes and partitions it may read. */
export function visibleClusterStatuses(state: FleetState, visibility: Visibility, owner?: (cluster: string) => string | null, declared: readonly string[] = []): ClusterStatusView[] {
  const clusters = visibility.rows('cluster');
  const jobs = visibility.rows('jobs');
  const nodes = visibility.rows('nodes');
  return clusterStatuses(state, owner, declared)
    .filter((c) => clusters.allows('cluster', c))
    .map((c) => {
      const record = state.clusters.get(c.name);
      if ((clusters.unrestricted && jobs.unrestricted && nodes.unrestricted) || !record) return c;
      return {
        ...c,
        jobs: jobs.unrestricted ? c.jobs : countJobs(state, c.name, jobs),
        nodes: nodes.unrestricted ? c.nodes : [...record.objects.node.values()].filter((n) => nodes.allows('node', n)).length,
        partitions: clusters.unrestricted ? c.partitions : [...record.objects.partition.values()].filter((p) => clusters.allows('partition', p)).length,
      };
    });
}

function countJobs(state: FleetState, cluster: string, rows: RowFilter): number {
  const clauses = rows.clauses ?? [];
  if (clauses.length === 0) return 0;
  // The common tenant filter (accounts only): the account index has the count.
  if (clauses.length === 1 && Object.keys(clauses[0]).every((f) => f === 'account') && !clauses[0].account?.some(isGlob)) {
    let n = 0;
    for (const account of new Set(clauses[0].account ?? [])) n += state.jobs.idsByCluster('account', account).get(cluster)?.size ?? 0;
    return n;
  }
  let n = 0;
  for (const job of state.jobOrder.get(cluster)?.slots ?? []) if (job !== undefined && rows.allows('job', job)) n++;
  return n;
}
