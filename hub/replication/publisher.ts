// The ingesting side: every delta this hub applies from an agent goes to the region's Redis
// stream, in apply order, after the local durable apply (the agent's ack does not wait for
// Redis). When a publish fails, nothing more of that cluster is published until a snapshot
// of it is: the other hubs see a gap, report the cluster stale and wait for that snapshot.
import type { Redis } from 'ioredis';
import type { Clock } from '../../shared/clock/index.js';
import { encodeDelta, type Delta } from '../../shared/delta/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { snapshotOf, type FleetState } from '../fleet/index.js';
import { streamBind, type ReplicationSealer } from './entry-sealer.js';
import type { ReplicationKeys } from './keys.js';

export interface PublisherDeps {
  redis: Redis;
  keys: ReplicationKeys;
  hubId: string;
  state: FleetState;
  logger: Logger;
  /** Clusters whose agent streams to this hub now. */
  ingesting: () => ReadonlySet<string>;
  clock: Clock;
  /** Seals the payload when redis.encrypt_replication is on. */
  sealer?: ReplicationSealer;
}

export interface OwnerRecord {
  hub: string;
  agent: string | null;
  epoch: number;
  seq: number;
  at: number;
}

/** Removes an owner record only if this hub wrote it (another hub may own the cluster by now). */
const DELETE_IF_OURS = `local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).hub == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class ReplicationPublisher {
  readonly stats = { published: 0, snapshots: 0, failures: 0 };
  /** Clusters whose stream has a hole only a snapshot can fill. */
  readonly needsSnapshot = new Set<string>();
  private readonly lastSnapshotAt = new Map<string, number>();
  /** Clusters whose owner record this hub wrote on an agent change (removed when it leaves). */
  private readonly announced = new Set<string>();

  constructor(private readonly deps: PublisherDeps) {}

  private get ready(): boolean {
    return this.deps.redis.status === 'ready';
  }

  /** After a local durable apply. Never throws, never waits. */
  publish(delta: Delta): void {
    const cluster = delta.cluster;
    if (this.needsSnapshot.has(cluster)) {
      // The state already holds this delta, so the snapshot carries it.
      if (this.ready) this.publishSnapshot(cluster, 'after a failed publish');
      return;
    }
    if (!this.ready) {
      this.markHole(cluster, 'Redis is not connected');
      return;
    }
    this.add(cluster, delta.snapshot ? 's' : 'd', delta).then(
      () => this.stats.published++,
      (err: Error) => this.markHole(cluster, err.message),
    );
  }

  /** Publishes the cluster's whole current state; false when it did not try (rate limit, not ready). */
  publishSnapshot(cluster: string, why: string, minIntervalMs = 0): boolean {
    const record = this.deps.state.clusters.get(cluster);
    if (!record || record.epoch === 0 || !this.ready) return false;
    const last = this.lastSnapshotAt.get(cluster) ?? 0;
    const now = this.deps.clock.now();
    if (now - last < minIntervalMs) return false;
    this.lastSnapshotAt.set(cluster, now);
    this.needsSnapshot.delete(cluster);
    const snapshot = snapshotOf(record);
    this.deps.logger.info({ cluster, epoch: record.epoch, seq: record.seq, why }, 'replication: publishing a snapshot');
    this.add(cluster, 's', snapshot).then(
      () => this.stats.snapshots++,
      (err: Error) => this.markHole(cluster, err.message),
    );
    return true;
  }

  private add(cluster: string, type: 'd' | 's', delta: Delta): Promise<unknown> {
    const { keys, hubId, sealer } = this.deps;
    const data = encodeDelta(delta);
    const sealed = sealer?.seal(streamBind(keys.stream, type, cluster), data);
    if (sealed) return this.deps.redis.xadd(keys.stream, '*', 'h', hubId, 'c', cluster, 't', type, 'k', sealed.k, 'd', sealed.d);
    return this.deps.redis.xadd(keys.stream, '*', 'h', hubId, 'c', cluster, 't', type, 'd', Buffer.from(data));
  }

  private markHole(cluster: string, why: string): void {
    this.stats.failures++;
    if (!this.needsSnapshot.has(cluster)) this.deps.logger.warn({ cluster, err: why }, 'replication: publish failed; the cluster will be republished as a snapshot');
    this.needsSnapshot.add(cluster);
  }

  /**
   * At once when a cluster's agent changes here (connected, promoted, gone): the owner record
   * is written (or, when no agent of it streams here any more, removed if it is still ours) and
   * the other hubs are told, so every hub names the right agent without waiting for a tick.
   */
  async publishStatus(cluster: string, ttlMs: number): Promise<void> {
    if (!this.ready) return;
    const key = this.deps.keys.owner(cluster);
    const record = this.deps.state.clusters.get(cluster);
    if (this.deps.ingesting().has(cluster) && record) {
      const owner: OwnerRecord = { hub: this.deps.hubId, agent: record.agent ?? null, epoch: record.epoch, seq: record.seq, at: this.deps.clock.now() };
      this.announced.add(cluster);
      await this.deps.redis.set(key, JSON.stringify(owner), 'PX', ttlMs);
    } else if (this.announced.delete(cluster)) {
      await this.deps.redis.eval(DELETE_IF_OURS, 1, key, this.deps.hubId);
    } else return; // a change this hub only followed: the ingesting hub announced it
    await this.deps.redis.publish(this.deps.keys.status, cluster);
  }

  /** Once a second: owner records of the clusters ingested here, and holes to fill. */
  async tick(ttlMs: number): Promise<void> {
    if (!this.ready) return;
    const ingesting = this.deps.ingesting();
    for (const cluster of [...this.needsSnapshot]) {
      if (ingesting.has(cluster)) this.publishSnapshot(cluster, 'Redis is back');
      else this.needsSnapshot.delete(cluster); // its new owner publishes it now
    }
    const writes: Promise<unknown>[] = [];
    for (const cluster of ingesting) {
      const record = this.deps.state.clusters.get(cluster);
      if (!record) continue;
      const owner: OwnerRecord = { hub: this.deps.hubId, agent: record.agent ?? null, epoch: record.epoch, seq: record.seq, at: this.deps.clock.now() };
      writes.push(this.deps.redis.set(this.deps.keys.owner(cluster), JSON.stringify(owner), 'PX', ttlMs));
    }
    await Promise.allSettled(writes);
  }
}
