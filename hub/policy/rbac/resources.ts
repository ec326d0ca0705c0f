// The canonical RBAC resources: what a permission "resource:verb" may name. Every route, gRPC
// method and stream maps to one of these (route-table.test.ts checks that no route names
// anything else). Config may use the aliases; they are rewritten to the canonical name.
import { JOB_COMMANDS, NODE_COMMANDS } from '../../commands/index.js';

export const RESOURCES = {
  /** Clusters and their stream status, and the cluster-level Slurm objects: partitions, reservations, QOS, accounts, associations, controllers; fleet events (export: sfleet export events). */
  cluster: ['read', 'export'],
  /** Jobs; the verbs past read are the job commands, create (submit) and export (sfleet export jobs). */
  jobs: ['read', ...JOB_COMMANDS, 'create', 'export'],
  /** Nodes; the verbs past read are the node commands, and export (sfleet export nodes). */
  nodes: ['read', ...NODE_COMMANDS, 'export'],
  /** Opening a watch stream (SSE or gRPC Watch); each event then needs read on its own resource. */
  watch: ['read'],
  /** read: the region's members (GET /api/v1/hubs); forward: hand a command to the hub holding a cluster's agent (hub certificates only). */
  hub: ['read', 'forward'],
  /** Prometheus metrics (a caller acting in a tenant gets its tenant's series only). */
  metrics: ['read'],
  /** The OpenAPI document. */
  openapi: ['read'],
  /** The audit log (export: sfleet export audit, this hub's chain as a file). */
  audit: ['read', 'export'],
  /** Tenant quotas: usage against limits (GET /api/v1/quotas); a tenant caller sees its own tenant's. */
  quota: ['read'],
  /** The job history (finished runs kept after Slurm forgets them); report: usage reports over it; export: bulk export (csv, json, ndjson, parquet, avro); import: runs from an export (sfleet import history). */
  history: ['read', 'report', 'export', 'import'],
  /** self: whoami and can-i about oneself (every authenticated caller has it); impersonate: can-i --as another user. */
  auth: ['self', 'impersonate'],
  /** API tokens (service accounts): create grants only roles within the caller's own permissions. */
  tokens: ['read', 'create', 'revoke'],
  /** Logins: unlock a locked-out user; exempt a user from its enrolled second factor. */
  logins: ['unlock', 'exempt'],
  /** Alerts and their notifications: read (list, deliveries), ack, resolve, test (send a test through a channel). */
  alerts: ['read', 'ack', 'resolve', 'test', 'intake'],
  /** Silences: read, create, expire. */
  silences: ['read', 'create', 'expire'],
  /** On-call schedules: who is on call now and the next hand-offs (names, never contact details). */
  schedules: ['read'],
  /** Backups: read (list), create (take one now), verify (decrypt and check one, --deep restores it into scratch). */
  backup: ['read', 'create', 'verify'],
  /** Compliance: export (everything held about one person, GDPR subject access), report (the evidence of each control), erase (a person's name out of the stored job history). Fleet-wide. */
  compliance: ['export', 'report', 'erase'],
} as const satisfies Record<string, readonly string[]>;

export type ResourceName = keyof typeof RESOURCES;

/** Spellings config may use for a canonical resource (the routes once used plurals). */
export const RESOURCE_ALIASES: Readonly<Record<string, ResourceName>> = {
  clusters: 'cluster',
  job: 'jobs',
  node: 'nodes',
  hubs: 'hub',
};

/** Granted to every authenticated caller, bound or not: asking about one's own access. */
export const SELF_PERMISSIONS: readonly string[] = ['auth:self'];

export function canonicalResource(name: string): ResourceName | undefined {
  if (Object.hasOwn(RESOURCES, name)) return name as ResourceName;
  return RESOURCE_ALIASES[name];
}

export function isKnownPermission(permission: string): boolean {
  const [resource, verb] = permission.split(':');
  const canonical = canonicalResource(resource ?? '');
  return !!canonical && (RESOURCES[canonical] as readonly string[]).includes(verb ?? '');
}

/** The resource whose read permission (and row filter) covers an object kind in lists and watch streams. */
export function resourceOfKind(kind: string): ResourceName {
  return kind === 'job' ? 'jobs' : kind === 'node' ? 'nodes' : 'cluster';
}
