// Wires the hub, in five stages that each build on the ones before (hub/start/):
//
//   foundations  TLS, data directory, keys of encryption at rest, revocations, audit log
//   fleet        store -> fleet state, event log, watch feed, commands
//   region       etcd and Redis when clustered: replication, leadership, cluster ownership;
//                the agent streams (ingest); federation with the peer regions
//   gate         RBAC, logins and single sign-on, the authenticator
//   listeners    gRPC (agent streams, fleet API) and HTTPS (REST, watch, /readyz, /metrics)
//
// Then the hub joins the region's election. Every part registers its close on one stack:
// close() runs it last-in-first-out, and a stage that fails closes what the earlier ones
// opened before the error (naming the stage) goes up. Readiness lives in hub/health/.
import type { Logger } from '../shared/logging/index.js';
import { createLogger } from '../shared/logging/index.js';
import { VERSION } from '../shared/version.js';
import type { AuditLog } from './audit/index.js';
import type { HubConfig } from './config/index.js';
import type { EventLog } from './events/index.js';
import type { FleetState } from './fleet/index.js';
import { Listening } from './health/index.js';
import { applyHeapFootprint, applyHeapGrowth } from './limits/index.js';
import type { AgentCertificates, IngestRegistry } from './ingest/index.js';
import type { Leadership } from './leader/index.js';
import type { DedupeStore, Replication, SharedKvStore } from './replication/index.js';
import type { ReloadOutcome } from './rbac-reload/index.js';
import { CloseStack, openFleet, openFoundations, openGate, openListeners, openRegion, type ConfigSource } from './start/index.js';
import type { CredentialWatcher, RevocationWatcher } from './tls/index.js';

export { HubStartError } from './start/index.js';

export interface RunningHub {
  state: FleetState;
  ingest: IngestRegistry;
  events: EventLog;
  /** Who leads the region; singletons (leader-only work) register on leadership.runner. */
  leadership: Leadership;
  /** Clustered mode: the Redis replication (absent standalone). */
  replication?: Replication;
  /** Notification dedupe and sessions: in Redis when clustered, in memory standalone. */
  shared: { dedupe: DedupeStore; kv: SharedKvStore };
  /** The audit log: `audit.record({...})` for events that are not API answers (logins...). */
  audit: AuditLog;
  httpUrl: string;
  grpcAddress: string;
  /** Certificate rotation, the revocation list, agent certificate renewal. */
  tls: { credentials: CredentialWatcher; revocations: RevocationWatcher; certificates: AgentCertificates };
  /** SIGHUP: reads the config file again and applies its rbac section (a bad file is refused, logged). */
  reloadRbac(): Promise<ReloadOutcome>;
  close(): Promise<void>;
}

/** Starts a hub; a stage that fails rejects with a HubStartError after closing what had opened. */
/** `reload`: the config file and how to read it again; with it the rbac section reloads on file change and reloadRbac(). */
export async function startHub(config: HubConfig, opts: { logger?: Logger; reload?: ConfigSource } = {}): Promise<RunningHub> {
  const logger = opts.logger ?? createLogger({ name: 'sfleet-hub', level: config.log_level });
  const stack = new CloseStack((part, err) => logger.error({ part, err: (err as Error)?.message ?? String(err) }, 'hub close: a part failed to close; closing the others'));
  const listening = new Listening({ hub_id: config.hub_id, region: config.region, version: VERSION });
  // What garbage may pile up before a full collection: most of a loaded hub's growth (limits/heap-growth.ts).
  applyHeapGrowth(config.limits.heap_growth);
  // Opt-in: less free heap kept, at a CPU cost not measured yet (limits/heap-growth.ts).
  applyHeapFootprint(config.limits.heap_optimize_for_size);

  const base = await stack.stage('foundations', () => openFoundations(config, logger, stack));
  const fleet = await stack.stage('fleet', () => openFleet(base, stack));
  const region = await stack.stage('region', () => openRegion(base, fleet, listening, stack));
  const gate = await stack.stage('gate', () => openGate(base, region, stack));
  // GDPR: in a group the pseudonymised users are the group's list (the security store), known
  // before the history's backfill writes a run.
  if (region.pseudonymized && gate.security) await region.pseudonymized.share(gate.security);
  region.history?.start();
  const listeners = await stack.stage('listeners', () => openListeners({ base, fleet, region, gate, listening, ...(opts.reload ? { reload: opts.reload } : {}) }, stack));

  // Last in, so first out: resigning hands the lead and this hub's clusters to another hub at
  // once (instead of after the lease TTL), before the listeners close.
  region.leadership.start();
  stack.defer('leadership', async () => {
    // The region stage's own close of the ownership stays for a start that fails before this
    // point; closing it twice stops one timer twice.
    region.ownership?.close();
    await region.leadership.close();
  });

  return {
    state: fleet.state,
    ingest: region.ingest,
    events: fleet.events,
    leadership: region.leadership,
    replication: region.replication,
    shared: region.shared,
    audit: base.audit,
    httpUrl: listeners.httpUrl,
    grpcAddress: listeners.grpcAddress,
    tls: { credentials: listeners.credentials, revocations: base.revocations, certificates: base.certificates },
    reloadRbac: listeners.reloadRbac,
    close: () => stack.close(),
  };
}
