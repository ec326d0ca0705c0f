// Shared state in Redis for a clustered region: the replication stream (publish what this
// hub ingests, apply what the others ingest), the snapshots a new hub starts from, the record
// of fleet events, notification dedupe and sessions, and the staleness of what this hub
// serves. The region stage (hub/start/region.ts) builds one when the config has a redis: section.
import { EvictionPolicyCheck } from './eviction-policy.js';
import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../../shared/clock/index.js';
import type { AtRest } from '../../shared/crypto/index.js';
import type { Delta } from '../../shared/delta/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { RedisConfig } from './config.js';
import type { FleetState } from '../fleet/index.js';
import type { Singleton } from '../leader/index.js';
import type { FleetStore } from '../store/index.js';
import { compactionSingleton } from './compaction.js';
import { DataKeyRecords } from './data-key-records.js';
import { ReplicationSealer } from './entry-sealer.js';
import { EventRecord } from './event-record.js';
import { ReplicationFollower } from './follower.js';
import { replicationKeys, type ReplicationKeys } from './keys.js';
import { ReplicationPresence } from './presence.js';
import { ReplicationPublisher } from './publisher.js';
import { createRedis } from './redis-client.js';
import { RedisFencedDocument, type FencedDocument } from './fenced-document.js';
import { RedisFence } from './redis-fence.js';
import { RedisDedupeStore, RedisSharedKvStore, type DedupeStore, type SharedKvStore } from './shared-stores.js';

export interface ReplicationDeps {
  region: string;
  hubId: string;
  state: FleetState;
  store?: FleetStore;
  logger: Logger;
  dataDir: string;
  /** Clusters whose agent streams to this hub now. */
  ingesting: () => ReadonlySet<string>;
  /** After a delta of another hub's agent is applied here (e.g. to the hub's event log). */
  onReplicated?: (delta: Delta) => void;
  /** systemClock when omitted. */
  clock?: Clock;
  /** The at-rest key: seals entries with redis.encrypt_replication, and opens sealed ones. */
  atRest?: AtRest;
}

const TICK_MS = 1_000;
/** Redis's answers to a wrong user or password, a missing permission, and TLS that cannot be agreed. */
// Not bare "TLS": a connection cut during the handshake is a network fault that may heal.
const REFUSED = /WRONGPASS|NOAUTH|NOPERM|invalid username-password|certificate|self[- ]signed|SSL routines|SSL alert|tlsv1 alert|wrong version number/i;

export class Replication {
  readonly keys: ReplicationKeys;
  readonly fence: RedisFence;
  readonly publisher: ReplicationPublisher;
  readonly follower: ReplicationFollower;
  readonly presence: ReplicationPresence;
  readonly events: EventRecord;
  readonly dedupe: DedupeStore;
  readonly sharedKv: SharedKvStore;
  readonly compaction: ReturnType<typeof compactionSingleton>;
  /** Seals and opens the stream's payloads; undefined without encryption at rest. */
  readonly sealer?: ReplicationSealer;
  /** The sealer's data-key records, which every hub's KeyRewrap moves to the group's key version. */
  readonly dataKeyRecords?: DataKeyRecords;
  private readonly redis: Redis;

  /** The commands connection (backups read the region's durable keys over it). */
  get commandConnection(): Redis {
    return this.redis;
  }
  private readonly reader: Redis;
  private readonly subscriber: Redis;
  private timer?: NodeJS.Timeout;
  private unsubscribeStatus?: () => void;
  private readonly endedListeners = new Set<() => void>();
  private closing = false;
  private readonly log: Logger;
  /** Redis's maxmemory-policy as read at each connect (must be noeviction). */
  readonly eviction: EvictionPolicyCheck;

  constructor(
    private readonly config: RedisConfig,
    private readonly deps: ReplicationDeps,
  ) {
    this.log = deps.logger.child({ component: 'replication' });
    this.eviction = new EvictionPolicyCheck(this.log);
    const clock = deps.clock ?? systemClock;
    this.keys = replicationKeys(config.key_prefix, deps.region);
    this.redis = createRedis(config, { name: 'commands', offlineQueue: false });
    this.reader = createRedis(config, { name: 'reader', offlineQueue: false });
    this.subscriber = createRedis(config, { name: 'subscriber' });
    for (const [name, conn] of [['commands', this.redis], ['reader', this.reader], ['subscriber', this.subscriber]] as const) {
      // ioredis reports every failed reconnect; the follower logs the outage once.
      conn.on('error', () => undefined);
      if (name === 'commands') {
        conn.on('ready', () => {
          this.log.info('Redis connected');
          void this.eviction.check(conn);
        });
      }
      // With Sentinels, ioredis 6 sometimes gives a connection up for good ('end') when its
      // failover detector disconnects it while it is still reconnecting to the dead master:
      // this hub would then never publish (or read) again. Start it over.
      conn.on('end', () => {
        if (this.closing) return;
        this.log.warn({ connection: name }, 'replication: the Redis client gave up a connection; reconnecting');
        setTimeout(() => {
          if (!this.closing && conn.status === 'end') conn.connect().catch(() => undefined);
        }, 100).unref();
      });
    }
    const sealer = deps.atRest?.enabled ? new ReplicationSealer({ atRest: deps.atRest, redis: this.redis, dataKeys: this.keys.dataKeys, seal: config.encrypt_replication, clock }) : undefined;
    this.sealer = sealer;
    if (deps.atRest?.enabled) this.dataKeyRecords = new DataKeyRecords({ atRest: deps.atRest, redis: this.redis, dataKeys: this.keys.dataKeys });
    this.fence = new RedisFence(this.redis, this.keys);
    this.publisher = new ReplicationPublisher({ redis: this.redis, keys: this.keys, hubId: deps.hubId, state: deps.state, logger: this.log, ingesting: deps.ingesting, clock, sealer });
    this.events = new EventRecord({ redis: this.redis, fence: this.fence, keys: this.keys });
    this.follower = new ReplicationFollower({
      reader: this.reader,
      redis: this.redis,
      keys: this.keys,
      hubId: deps.hubId,
      state: deps.state,
      store: deps.store,
      logger: this.log,
      dataDir: deps.dataDir,
      ingesting: deps.ingesting,
      onApplied: (delta) => {
        deps.onReplicated?.(delta);
        this.events.observe(delta);
      },
      clock,
      sealer,
    });
    this.presence = new ReplicationPresence(
      { redis: this.redis, keys: this.keys, hubId: deps.hubId, state: deps.state, ingesting: deps.ingesting, stream: this.follower, clock },
      { staleAfterMs: config.stale_after },
    );
    this.dedupe = new RedisDedupeStore(this.redis, this.keys);
    this.sharedKv = new RedisSharedKvStore(this.redis, this.keys);
    this.compaction = compactionSingleton(
      { redis: this.redis, fence: this.fence, keys: this.keys, state: deps.state, follower: this.follower, presence: this.presence, logger: this.log, clock, sealer },
      { intervalMs: config.compact_interval, retentionMs: config.stream_retention },
    );
  }

  /** Starts reading; resolves when caught up with the stream or after waitMs (Redis may be down). */
  async start(waitMs: number): Promise<void> {
    await this.refusedAtConnect(waitMs);
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.keys.status) this.presence.pollOwners().catch(() => undefined);
      else if (channel === this.keys.credentialEnded) {
        if (message !== this.deps.hubId) for (const listener of this.endedListeners) listener();
      } else if (this.deps.ingesting().has(message)) this.publisher.publishSnapshot(message, 'another hub asked for it', 1_000);
    });
    this.subscriber.subscribe(this.keys.resync, this.keys.status, this.keys.credentialEnded).catch((err: Error) => this.log.warn({ err: err.message }, 'replication: cannot subscribe to resync requests yet'));
    // A local agent connected, was promoted or went away: the other hubs hear it at once.
    this.unsubscribeStatus = this.deps.state.onClusterStatus((record) => {
      this.publisher.publishStatus(record.name, 3 * TICK_MS).catch((err: Error) => this.log.debug({ cluster: record.name, err: err.message }, 'replication: could not publish the cluster status'));
    });
    this.follower.start();
    this.timer = setInterval(() => {
      this.publisher.tick(3 * TICK_MS).catch(() => undefined);
      this.presence.pollOwners().catch(() => undefined);
    }, TICK_MS);
    const caughtUp = await this.follower.caughtUp(waitMs);
    if (!caughtUp) this.log.warn({ waitMs }, 'replication: not caught up with the stream yet; serving and reporting staleness meanwhile');
  }

  /**
   * A Redis that is down may come back (the hub starts and reports staleness), but one that
   * refuses this hub's user, password or certificate will not: that fails the start, with
   * Redis's own words (they name no secret).
   */
  private async refusedAtConnect(waitMs: number): Promise<void> {
    const conn = this.redis;
    if (conn.status === 'ready') return;
    const refusal = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => finish(undefined), waitMs);
      const onReady = (): void => finish(undefined);
      const onError = (err: Error): void => {
        if (REFUSED.test(err.message)) finish(err.message);
      };
      function finish(why: string | undefined): void {
        clearTimeout(timer);
        conn.off('ready', onReady);
        conn.off('error', onError);
        resolve(why);
      }
      conn.on('ready', onReady);
      conn.on('error', onError);
    });
    if (refusal === undefined) return;
    const who = this.config.username ? `user ${this.config.username}` : 'the default user';
    throw new Error(`Redis refused this hub (${who}${this.config.tls ? ', TLS' : ''}): ${refusal.split('\n')[0]}`);
  }

  /**
   * The other hubs' news of ended sessions and tokens (hub/login CredentialEnds): they re-check
   * their open watches at once. Pub/sub may lose a message (Redis away): the periodic re-check
   * (limits.session_recheck) still ends them.
   */
  readonly credentialEnds = {
    publish: (): void => {
      this.redis.publish(this.keys.credentialEnded, this.deps.hubId).catch((err: Error) => this.log.debug({ err: err.message }, 'replication: could not tell the group of an ended session'));
    },
    subscribe: (listener: () => void): void => {
      this.endedListeners.add(listener);
    },
  };

  /** After this hub applied a delta from one of its own agents. */
  onLocalApplied(delta: Delta): void {
    this.publisher.publish(delta);
    this.events.observe(delta);
  }

  singletons(): Singleton[] {
    return [this.compaction, this.events.singleton()];
  }

  /** Clusters this hub cannot vouch for now, with why (see hub/fleet/freshness.ts). */
  stale(): Map<string, string> {
    return this.presence.stale();
  }

  /** 'ok' or 'down: why', for /readyz, membership and metrics. */
  redisStatus(): string {
    if (this.redis.status === 'ready' && this.presence.streamHealthy()) return 'ok';
    return `down: ${this.follower.lastError ?? `connection ${this.redis.status}`}`;
  }

  /** A leader-only document of the region, written under this Redis's fence. */
  document(name: string): FencedDocument {
    return new RedisFencedDocument(this.redis, this.fence, this.keys.document(name));
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    this.unsubscribeStatus?.();
    await this.follower.close();
    this.subscriber.disconnect();
    // Let the last publishes go out before hanging up.
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
