// Stage 3, region: this hub among the region's hubs, and the agent streams it accepts.
// Clustered mode: etcd (membership, election, cluster ownership) and Redis (replication,
// shared logins and dedupe); standalone, a region of one. A configured etcd that does not
// answer, or a peer-region TLS file that cannot be read, stops the start here.
//
// Order: replication and the leadership come before ingest, which takes the cluster ownership
// (built on the leadership's etcd session) in its constructor. They read what ingest streams
// only once the hub runs, through `ingesting`, the one function here that reads a part built
// after it.
import type { Etcd3 } from 'etcd3';
import type { EtcdConfig } from '../config/index.js';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { PseudonymizedUsers, pseudonymizerFrom, type Pseudonymizer } from '../compliance/index.js';
import type { HistoryJob } from '../../shared/history/index.js';
import { Alerting } from '../alerting/index.js';
import { tenantAlertRoutes } from '../tenancy/index.js';
import { Federation } from '../federation/index.js';
import { localHealth, type Listening } from '../health/index.js';
import { HistoryService } from '../history/index.js';
import { IngestRegistry } from '../ingest/index.js';
import { HubPipeline } from '../pipeline.js';
import { createEtcdClient, EtcdClusterOwnership, etcdTlsProblem, EtcdLeadership, EtcdSpaceWatch, StandaloneLeadership, type Leadership } from '../leader/index.js';
import { MemoryDedupeStore, MemorySharedKvStore, Replication, type DedupeStore, type SharedKvStore } from '../replication/index.js';
import { loadTls } from '../../shared/tls/index.js';
import { Tracing } from '../../shared/tracing/index.js';
import type { CloseStack } from './close-stack.js';
import type { Logger } from '../../shared/logging/index.js';
import { EtcdSecurityStore } from '../security-store/index.js';
import type { Fleet } from './fleet.js';
import type { Foundations } from './foundations.js';
import { tlsPolicyFrom } from '../../shared/security/index.js';
import { groupKeyVersion, KeyRewrap, KeyRotationSchedule, rotationCheckMs } from '../keys/index.js';
import { BackupService, readEtcdState, readRedisState } from '../backup/index.js';
import { ChangeShipper, etcdChangesSingleton } from '../backup/pitr/index.js';
import { createProvider } from '../../shared/crypto/index.js';
import { exportConfig } from '../../shared/config/index.js';
import { hubConfigSchema } from '../config/index.js';
import { readSecret } from '../audit/index.js';
import { shareJournalStart } from '../export/index.js';


export interface Region {
  /** Who leads the region (started once the hub listens); singletons register on leadership.runner. */
  leadership: Leadership;
  /** Clustered: one active agent per cluster across the region's hubs (owner keys on the hub's etcd lease). */
  ownership?: EtcdClusterOwnership;
  /** Clustered with Redis: the replication stream between the region's hubs. */
  replication?: Replication;
  /** Notification dedupe and sessions: in Redis when clustered, in memory standalone. */
  shared: { dedupe: DedupeStore; kv: SharedKvStore };
  /** The agent streams (gRPC AgentService). */
  ingest: IngestRegistry;
  /** scope=global queries: this region merged with the peer regions (none configured: this one alone). */
  federation: Federation;
  /** The job history (history.enabled): backfilled from the agents of the clusters this hub owns. */
  history?: HistoryService;
  /** Clustered: the etcd client (the security store of the group follows it). */
  etcd?: Etcd3;
  /** Clustered: etcd's NOSPACE alarm (at its backend quota), for /healthz and the metrics. */
  etcdSpace?: EtcdSpaceWatch;
  /** Rules, routes, silences, escalation and channels; the leader pages. */
  alerting: Alerting;
  /** OTLP trace export (observability.tracing.jaeger); a no-op tracer when off. */
  tracing: Tracing;
  /** Backups (the backup section): on demand through the API, scheduled by the leader. */
  backups?: BackupService;
  /** GDPR (compliance.gdpr with a key): the pseudonyms of exports and of the history. */
  pseudonymizer?: Pseudonymizer;
  /** GDPR with the history on: the users whose names the history no longer holds. */
  pseudonymized?: PseudonymizedUsers;
  /** key_rotation_interval with encryption on: this hub follows the group's key version (sfleet_hub_key_version). */
  keyRewrap?: KeyRewrap;
}

export async function openRegion(base: Foundations, fleet: Fleet, listening: Listening, stack: CloseStack): Promise<Region> {
  const { config, logger, audit, certificates, clock } = base;
  const { state, store, events, commands, watch } = fleet;
  // A hub that was in the group before (its copy of the security store is in data_dir) starts
  // while etcd is down and answers from that copy; a new one does not start alone.
  const etcd = config.etcd ? await connectEtcd(config.etcd, config.region, stack, EtcdSecurityStore.hasCopy(config.data_dir) ? logger : undefined) : undefined;

  const etcdSpace = etcd ? new EtcdSpaceWatch(etcd, logger.child({ component: 'etcd-space' })).start() : undefined;
  if (etcdSpace) stack.defer('etcd space watch', () => etcdSpace.close());

  // Clusters whose agent streams here: reads `ingest` (built below) only once the hub runs.
  const ingesting = (): ReadonlySet<string> => ingest.ingesting();
  const replication = config.redis
    ? new Replication(config.redis, { region: config.region, hubId: config.hub_id, state, store, logger, dataDir: config.data_dir, clock, ingesting, atRest: base.atRest, onReplicated: (delta) => events.record(delta.cluster, delta.events, delta) })
    : undefined;
  if (replication) stack.defer('replication (Redis)', () => replication.close());

  const health = localHealth({ listening, ingesting, replication });
  const leadership: Leadership =
    config.etcd && etcd
      ? new EtcdLeadership(config.etcd, { client: etcd, logger: logger.child({ component: 'leader' }), identity: listening.identity, health, clock, fences: replication ? [replication.fence] : [] })
      : new StandaloneLeadership({ logger, identity: listening.identity, health, clock, stateFile: join(config.data_dir, 'leader-state.json') });
  for (const singleton of replication?.singletons() ?? []) leadership.runner.register(singleton);
  // Before alerting and ingest: both record spans (notify attempts, applies).
  const jaeger = config.observability.tracing.jaeger;
  const tracing = await Tracing.create({ enabled: jaeger.enabled, endpoint: jaeger.endpoint, samplingRatio: jaeger.sampling_ratio, serviceName: 'sfleet-hub', attributes: { 'sfleet.region': config.region, 'sfleet.hub': config.hub_id } }, logger.child({ component: 'tracing' }));
  stack.defer('tracing', () => tracing.close());
  const tenantRoutes = tenantAlertRoutes(config.multi_tenancy, config.region);
  const alerting = new Alerting(config.alerting, {
    tracing,
    // An alert's cause: the cluster's newest traced apply (the data path is built below).
    applyCause: (cluster) => path.applyCause(cluster),
    state,
    events,
    logger: logger.child({ component: 'alerting' }),
    clock,
    region: config.region,
    dataDir: config.data_dir,
    ...(replication ? { stale: () => replication.stale() } : {}),
    expected: () => Object.keys(config.clusters ?? {}),
    ...(tenantRoutes ? { tenantRoutes } : {}),
    certificates: () => [{ name: 'hub', notAfter: Date.parse(new X509Certificate(base.tls.cert).validTo) }],
    externalUrl: () => listening.identity.http_url || undefined,
    tlsPolicy: tlsPolicyFrom(config.security),
    // Read once the hub runs, like `ingesting`: ingest and federation are built below.
    agents: () => ingest.reports.list(),
    hub: () => ({ etcd: leadership.status().etcd, redis: replication ? replication.redisStatus() : 'off', ...(audit.writable ? {} : { auditFailing: 'the last write failed; changes are refused' }) }),
    ...(config.regions?.peers.length ? { probePeers: () => federation.probe() } : {}),
    // A hub group with Redis: the alerting state, delivery log and history are the region's, written under the leader's fence.
    ...(replication && leadership instanceof EtcdLeadership ? { shared: replication.document('alerting'), sharedLog: replication.document('alerting-log') } : {}),
    // Paging must not depend on etcd: leaderless for longer than the lease TTL + 10 s, every hub pages.
    ...(config.etcd && leadership instanceof EtcdLeadership ? { leaderless: { afterMs: config.etcd.lease_ttl, leader: () => leadership.status().leader } } : {}),
    ...alertingTestHook(logger),
  });
  audit.observe((e) => {
    if (e.action === 'auth:login' && (e.outcome === 'failed' || e.outcome === 'denied') && e.source_ip) alerting.loginFailed(e.source_ip);
  });
  stack.defer('alerting', () => alerting.close());
  leadership.runner.register(alerting.singleton());
  // security.encryption.data_at_rest.key_rotation_interval: the leader rotates on that schedule by itself.
  const rotationInterval = config.security?.encryption.data_at_rest?.key_rotation_interval;
  if (rotationInterval && base.atRest.enabled) {
    const schedule = new KeyRotationSchedule({ atRest: base.atRest, roots: [config.data_dir], dataDir: config.data_dir, clock, audit, logger: logger.child({ component: 'keys' }) }, { intervalMs: rotationInterval });
    leadership.runner.register(schedule.singleton());
  }
  // Every hub (not only the leader) re-wraps its own sealed files to the version the schedule rotated to,
  // and the group's replication data keys in Redis (compare-and-set per record).
  const keyRewrap =
    rotationInterval && base.atRest.enabled
      ? new KeyRewrap(
          { atRest: base.atRest, roots: [config.data_dir], dataDir: config.data_dir, hubId: config.hub_id, groupVersion: groupKeyVersion(config.data_dir, leadership instanceof EtcdLeadership ? leadership : undefined), stores: replication?.dataKeyRecords ? [replication.dataKeyRecords] : [], clock, audit, logger: logger.child({ component: 'keys' }) },
          { checkMs: rotationCheckMs(rotationInterval) },
        ).start()
      : undefined;
  if (keyRewrap) stack.defer('key re-wrap', () => keyRewrap.close());
  const ownership =
    leadership instanceof EtcdLeadership && config.etcd
      ? new EtcdClusterOwnership({ source: leadership, region: config.region, hubId: config.hub_id, logger: logger.child({ component: 'ownership' }), clock, pollMs: Math.min(500, Math.max(100, Math.floor(config.etcd.lease_ttl / 6))) })
      : undefined;
  if (ownership) stack.defer('cluster ownership', () => ownership.close());

  // The data path (hub/pipeline.ts): decode -> verify -> order -> durable -> apply -> publish.
  const path = new HubPipeline({ state, store, events, watch, ...(replication ? { onApplied: (delta) => replication.onLocalApplied(delta) } : {}) });
  const ingest = new IngestRegistry({
    path,
    tracing,
    state,
    commands,
    logger,
    hubId: config.hub_id,
    heartbeatMs: config.stream.heartbeat_interval,
    failoverThreshold: config.stream.failover_threshold,
    certificates,
    audit,
    clock,
    ...(ownership ? { ownership } : {}),
  });
  // Catch up with the other hubs before agents connect, so they resume where the region is.
  await replication?.start(5_000);

  const federation = new Federation({
    region: config.region,
    peers: config.regions?.peers ?? [],
    tls: config.regions?.tls ? loadTls(config.regions.tls, 'hub regions', tlsPolicyFrom(config.security)) : base.tls,
    logger: logger.child({ component: 'federation' }),
  });
  const shared = replication ? { dedupe: replication.dedupe, kv: replication.sharedKv } : { dedupe: new MemoryDedupeStore(), kv: new MemorySharedKvStore() };
  // The job history: the owner of each cluster asks its agent for the runs slurmdbd recorded.
  // GDPR pseudonyms: the key is read once, here (a named key that is missing stops the start); the
  // users whose names the history no longer holds are masked in every run it stores.
  const pseudonymizer = pseudonymizerFrom(config.compliance);
  const pseudonymized = pseudonymizer && config.history.enabled ? await PseudonymizedUsers.load(join(config.data_dir, 'history', 'pseudonymized.json'), pseudonymizer) : undefined;
  const history = config.history.enabled
    ? await HistoryService.open(
        {
          logger: logger.child({ component: 'history' }),
          now: () => clock.now(),
          fetch: (cluster, window) => commands.history(cluster, window),
          ingesting,
          hubId: config.hub_id,
          ...(ownership ? { owner: (cluster: string) => ownership.owner(cluster) } : {}),
          ...(pseudonymized ? { mask: (job: HistoryJob) => pseudonymized.mask(job) } : {}),
        },
        config.history,
        config.data_dir,
      )
    : undefined;
  // Its backfill starts once the gate is open (hub/main.ts): a group's pseudonymised users first.
  if (history) stack.defer('job history', () => history.close());
  const backups = config.backup ? openBackups(base, history, leadership, etcd, replication) : undefined;
  // Incremental exports in a group: every hub keeps a change journal once any hub was asked for one.
  if (etcd && config.etcd) {
    const stopSharing = shareJournalStart(fleet.exportJournal, etcd.namespace(config.etcd.prefix), { region: config.region, hubId: config.hub_id, logger: logger.child({ component: 'export' }) });
    stack.defer('export journal key watch', stopSharing);
  }
  return { ...(keyRewrap ? { keyRewrap } : {}), ...(pseudonymizer ? { pseudonymizer } : {}), ...(pseudonymized ? { pseudonymized } : {}), ...(backups ? { backups } : {}), ...(etcd ? { etcd } : {}), ...(etcdSpace ? { etcdSpace } : {}), leadership, ...(ownership ? { ownership } : {}), ...(replication ? { replication } : {}), shared, ingest, federation, ...(history ? { history } : {}), alerting, tracing };
}

/** etcd's answers to a wrong user or password, a role without the prefix, and a certificate it does not take. */
// Not bare "TLS" or "handshake": "socket disconnected before secure TLS connection was established"
// is a network fault, and such a hub must still start degraded from its copy.
const ETCD_REFUSED = /authentication failed|permission denied|user name is empty|invalid auth token|certificate|SSL routines|SSL alert|tlsv1 alert|wrong version number/i;

/**
 * The etcd client, once etcd has answered a read: a hub told to join a region does not start
 * alone. With `startAnyway` (the hub has a copy of the group's security store) a silent etcd is
 * logged and the hub starts degraded: no leadership or cluster ownership until etcd answers.
 */
async function connectEtcd(config: EtcdConfig, region: string, stack: CloseStack, startAnyway?: Logger): Promise<Etcd3> {
  const etcd = await createEtcdClient(config);
  stack.defer('etcd client', () => etcd.close());
  const deadline = config.dial_timeout + 2 * config.call_timeout;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      etcd.namespace(config.prefix).getAll().prefix(`members/${region}/`).count(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${deadline} ms`)), deadline))),
    ]);
  } catch (err) {
    let reason = (err as Error).message.split('\n')[0];
    // A refused user, password or certificate will not heal by waiting: never start degraded on it.
    let refused = ETCD_REFUSED.test(reason);
    const tls = refused ? undefined : await etcdTlsProblem(config);
    if (tls) [refused, reason] = [true, tls];
    const message = refused ? `etcd refused this hub at ${config.endpoints.join(', ')}${config.username ? ` (user ${config.username})` : ''}: ${reason}` : `etcd unreachable at ${config.endpoints.join(', ')}: ${reason}`;
    if (!startAnyway || refused) throw new Error(message);
    startAnyway.error(
      { err: message },
      'etcd does not answer: this hub starts degraded from its last copy of the group\'s security state (logins, tokens, revocations); it leads nothing and owns no cluster until etcd answers',
    );
  } finally {
    clearTimeout(timer);
  }
  return etcd;
}

/** The backup service, its schedule on the leader. Backups never hold key material: the keyring is left out. */
function openBackups(base: Foundations, history: HistoryService | undefined, leadership: Leadership, etcd: Etcd3 | undefined, replication: Replication | undefined): BackupService {
  const { config, atRest, audit, clock, logger } = base;
  const backup = config.backup!;
  const provider = backup.encryption === true ? atRest.provider! : createProvider(backup.encryption, process.env, { createKeyring: false, tlsPolicy: tlsPolicyFrom(config.security) });
  const auditKey = readSecret('audit HMAC key', { env: config.audit.hmac_key_env, file: config.audit.hmac_key_file });
  const keyrings = [config.encryption?.file?.path, typeof backup.encryption === 'object' ? backup.encryption.file?.path : undefined].filter((p): p is string => !!p);
  const service = new BackupService(
    {
      hubId: config.hub_id,
      region: config.region,
      dataDir: config.data_dir,
      ...(config.audit.dir ? { auditDir: config.audit.dir } : {}),
      exclude: keyrings,
      atRest,
      provider,
      // Secrets never in clear: values under secret keys are redacted; ${VAR} references are not resolved here.
      configText: () => exportConfig(hubConfigSchema, config, undefined),
      ...(history ? { betweenHistoryWrites: <T>(fn: () => Promise<T>) => history.store.betweenWrites(fn) } : {}),
      // A hub group: the region's tokens, revocations, users and leader state live in etcd.
      ...(etcd && config.etcd ? { etcdState: () => readEtcdState(etcd, config.etcd!.prefix, config.region, atRest) } : {}),
      // With Redis: the leader's documents (alerting, quota history) and the fleet events.
      ...(replication && config.redis ? { redisState: () => readRedisState(replication.commandConnection, replication.keys, config.region) } : {}),
      // A group: every member's audit chain, fetched over the peers' mTLS API.
      ...(leadership instanceof EtcdLeadership ? { group: { hubId: config.hub_id, members: () => leadership.members(), tls: base.tls, timeoutMs: 120_000 } } : {}),
      audit,
      logger: logger.child({ component: 'backup' }),
      clock,
      ...(auditKey ? { auditKey: Buffer.from(auditKey) } : {}),
    },
    backup,
  );
  const schedule = service.singleton();
  if (schedule) leadership.runner.register(schedule);
  if (base.changes) {
    // Between backups: the change log and the audit records to every destination, by the leader (fenced).
    service.shipper = new ChangeShipper({ hubId: config.hub_id, region: config.region, dataDir: config.data_dir, auditDir: config.audit.dir ?? join(config.data_dir, 'audit'), changes: base.changes, destinations: service.destinations, provider, clock, logger: logger.child({ component: 'backup-ship' }) }, backup.ship_interval);
    leadership.runner.register(service.shipper.singleton());
    // A group's tokens, users and revocations live in etcd: their changes go into the change log too.
    if (etcd && config.etcd) leadership.runner.register(etcdChangesSingleton({ client: etcd, prefix: config.etcd.prefix, region: config.region, atRest, changes: base.changes }));
  }
  return service;
}

/**
 * Test hook, off unless SFLEET_TEST_ALERTING_KILL_AFTER_SEND names a channel: the hub kills itself
 * (SIGKILL) when that channel has answered `delivered` and before the outcome is recorded, the
 * crash that leaves a delivered send claimed and unsettled (test/alerting-failover.test.ts).
 */
function alertingTestHook(logger: Logger): { afterSend?: (channel: string, outcome: string) => void } {
  const channel = process.env.SFLEET_TEST_ALERTING_KILL_AFTER_SEND;
  if (!channel) return {};
  return {
    afterSend: (c, outcome) => {
      if (c !== channel || outcome !== 'delivered') return;
      logger.warn({ channel }, 'test hook SFLEET_TEST_ALERTING_KILL_AFTER_SEND: killing this hub before the outcome is recorded');
      process.kill(process.pid, 'SIGKILL');
    },
  };
}
