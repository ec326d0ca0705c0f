// What alerting takes from the hub (constructor injection; hub/start/region.ts wires it).
import type { Clock } from '../../shared/clock/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { TlsPolicy } from '../../shared/tls/policy.js';
import type { SpanContext, Tracing } from '../../shared/tracing/index.js';
import type { EventLog } from '../events/index.js';
import type { FleetState } from '../fleet/index.js';
import type { FencedDocument } from '../replication/index.js';
import type { ChannelConfig } from './config.js';
import type { TenantRoutes } from './dispatch/index.js';
import type { Notifier } from './notify/index.js';
import type { HubFacts } from './rules/index.js';

export interface AlertingDeps {
  state: FleetState;
  logger: Logger;
  clock: Clock;
  region: string;
  /** Persist under <dataDir>/alerting/; omit for memory only (tests). */
  dataDir?: string;
  /** A hub group: the alerting state lives in this region-wide document, written under the leader's fence. */
  shared?: FencedDocument;
  /** A hub group: the region's delivery log and alert history (shared-log.ts), under the same fence. */
  sharedLog?: FencedDocument;
  /**
   * A hub group: the leader's lease TTL and who leads now (null: nobody, or etcd unreachable).
   * With no leader for longer than afterMs + 10 s every hub pages by itself (headless.ts).
   */
  leaderless?: { afterMs: number; leader: () => string | null };
  events?: EventLog;
  /** Clustered: clusters whose replicated state is stale. */
  stale?: () => ReadonlyMap<string, string>;
  /** hub.yaml's `clusters:` map: the clusters the hub should hear from (cluster_expected_missing). */
  expected?: () => readonly string[];
  /** The hub's certificates and when they expire. */
  certificates?: () => { name: string; notAfter: number }[];
  /** Where ack links point (alerting.external_url wins). */
  externalUrl?: () => string | undefined;
  /** A span per notification attempt (channel, outcome, retry); absent or off: none. */
  tracing?: Tracing;
  /**
   * The span of the cluster's newest apply when that apply was traced (hub/pipeline.ts): the
   * cause of an alert the next evaluation finds about the cluster.
   */
  applyCause?: (cluster: string) => SpanContext | undefined;
  /** Tests: retries and rate limits wait on this instead of timers. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** The agents heard on this hub with their last heartbeat report (hub/ingest/agent-reports.ts). */
  agents?: () => readonly HeardAgentLike[];
  /** etcd, Redis and audit-log state now (peer regions come from probePeers). */
  hub?: () => Omit<HubFacts, 'peersUnreachable'>;
  /** Asks every peer region once; answers those that did not answer, with why. */
  probePeers?: () => Promise<ReadonlyMap<string, string>>;
  /** security.encryption.tls: the TLS 1.3 suites the HTTPS channels offer. */
  tlsPolicy?: TlsPolicy;
  /** Tests: channels in place of those the config builds. */
  notifiers?: (c: ChannelConfig) => Notifier;
  /**
   * Test hook (off unless a test sets it): called when a channel has answered and before the
   * outcome is recorded, the moment a crash leaves a delivered send unsettled.
   */
  afterSend?: (channel: string, outcome: string) => void;
  /** Tenants' own routes, tried first for their alerts (multi_tenancy.tenants.<t>.alerts). */
  tenantRoutes?: TenantRoutes;
}

/** An agent as hub/ingest/agent-reports.ts lists it. */
export interface HeardAgentLike {
  cluster: string;
  agent: string;
  version?: string;
  report?: { last_poll_at: string; poll_failures_total: number; slurm_read_errors_total: number; spool_deltas: number; polling: boolean } | undefined;
}
