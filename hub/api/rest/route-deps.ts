// What the /api/v1 route files need from the hub: one record, apart from routes.ts so that the
// per-resource files and the list that registers them do not import each other.
import type { Alerting } from '../../alerting/index.js';
import type { AuditLog } from '../../audit/index.js';
import type { CommandRouter } from '../../commands/index.js';
import type { EventLog } from '../../events/index.js';
import type { ExportJournal } from '../../export/index.js';
import type { Federation } from '../../federation/index.js';
import type { FleetState, StaleClusters } from '../../fleet/index.js';
import type { HistoryService } from '../../history/index.js';
import type { BackupService } from '../../backup/index.js';
import type { WatchBudget, WatchFeed } from '../../watch/index.js';
import type { TokenRegistry } from '../../policy/index.js';
import type { Tracing } from '../../../shared/tracing/index.js';

export interface RouteDeps {
  state: FleetState;
  commands: CommandRouter;
  watch: WatchFeed;
  /** Caps on open watches (buffers, per caller) and their re-checks; absent: unbounded (unit tests). */
  watchBudget?: WatchBudget;
  readiness: () => { ready: boolean; checks: Record<string, string> };
  /** /healthz: ok, or degraded with the reasons (a store that cannot write, Redis eviction). */
  health?: () => { status: 'ok' | 'degraded'; reasons: string[] };
  /** Absent: no metrics route (observability.metrics.prometheus.enabled: false). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Where the metrics are served (observability.metrics.prometheus.endpoint); default /metrics. */
  metricsPath?: string;
  /** Fleet events (controller failover...); without it /api/v1/events lists nothing. */
  events?: EventLog;
  /** The change journal of incremental jobs/nodes exports (kept across restarts); absent: one of the routes' own, in memory. */
  exportJournal?: ExportJournal;
  /** The region's members (GET /api/v1/hubs); standalone: this hub alone. */
  members?: () => Promise<object>;
  /** Clustered: the clusters this hub cannot vouch for now, with why (replication staleness). */
  stale?: () => StaleClusters;
  /** Clustered: the hub that owns each cluster's active agent (etcd), for owner_hub. */
  owner?: (cluster: string) => string | null;
  /** hub.yaml's `clusters:` map: listed by GET /api/v1/clusters even before an agent streams for them. */
  declared?: readonly string[];
  /** Multi-region: answers scope=global queries (this region merged with the peer regions). */
  federation?: Federation;
  /** The job history and usage reports; without it those routes answer 503. */
  history?: HistoryService;
  /** GDPR (compliance.gdpr): a user name's keyed pseudonym, for exports asked with pseudonymize; absent: such exports are refused. */
  pseudonymize?: (user: string) => string;
  /** The audit log: GET /api/v1/export/audit exports this hub's chain; absent: that export answers 503. */
  audit?: AuditLog;
  /** Where Parquet exports are written before they are sent; default <data_dir>/history/export-scratch. */
  exportScratchDir?: string;
  /** API tokens (POST/GET/DELETE /api/v1/tokens); absent: no token routes. */
  tokens?: TokenRegistry;
  /** Alerts, silences, deliveries; without it the alert routes answer 404. */
  alerting?: Alerting;
  /** Backups (the backup section); without it the backup routes answer 503. */
  backups?: BackupService;
  /** Server spans per request (children of the caller's traceparent) and watch delivery spans; absent or off: none. */
  tracing?: Tracing;
}
