// Retention and compaction of the shared state, a leader-only singleton: every
// compact_interval it writes each cluster's snapshot as of the stream entry it has applied
// (or only moves the snapshot's cut when the cluster has not changed), then trims the stream
// below that entry but never below stream_retention, so a hub that restarts within the
// retention catches up from the tail without a bootstrap. Every write is fenced.
import type { Redis } from 'ioredis';
import type { Clock } from '../../shared/clock/index.js';
import { encodeDelta } from '../../shared/delta/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { snapshotOf, type FleetState } from '../fleet/index.js';
import { periodic, type Singleton } from '../leader/index.js';
import { snapshotBind, type ReplicationSealer } from './entry-sealer.js';
import { compareIds, type ReplicationKeys } from './keys.js';
import type { ReplicationFollower } from './follower.js';
import type { ReplicationPresence } from './presence.js';
import type { RedisCommand, RedisFence } from './redis-fence.js';

export interface CompactionDeps {
  redis: Redis;
  fence: RedisFence;
  keys: ReplicationKeys;
  state: FleetState;
  follower: ReplicationFollower;
  /** Which clusters this hub cannot vouch for now: their snapshots are not rewritten. */
  presence: ReplicationPresence;
  logger: Logger;
  clock: Clock;
  sealer?: ReplicationSealer;
}

export interface CompactionOptions {
  intervalMs: number;
  retentionMs: number;
}

export function compactionSingleton(deps: CompactionDeps, opts: CompactionOptions): Singleton & { stats: { runs: number; snapshots: number; trimmed: number } } {
  const stats = { runs: 0, snapshots: 0, trimmed: 0 };
  const singleton = periodic('replication-compaction', opts.intervalMs, async (ctx) => {
    const { redis, keys, state, follower, presence } = deps;
    if (!presence.streamHealthy() || follower.catchingUpTo !== null) return;
    const names = [...state.clusters.keys()];
    const existing = await Promise.all(names.map((c) => redis.hmget(keys.snapshot(c), 'epoch', 'seq', 'id')));
    ctx.assertLeading();
    // From here to the commands list, nothing awaits: the snapshots and the cut agree.
    const cut = follower.position;
    if (cut === '0-0') return;
    const stale = presence.stale();
    const commands: RedisCommand[] = [];
    let minid = cut;
    names.forEach((cluster, i) => {
      const record = state.clusters.get(cluster)!;
      const [epoch, seq, id] = existing[i];
      if (stale.has(cluster) || record.epoch === 0) {
        // Keep what its snapshot needs.
        if (id && compareIds(id, minid) < 0) minid = id;
        return;
      }
      if (epoch === String(record.epoch) && seq === String(record.seq)) {
        commands.push(['HSET', keys.snapshot(cluster), 'id', cut]);
        return;
      }
      const data = encodeDelta(snapshotOf(record));
      const sealed = deps.sealer?.seal(snapshotBind(keys.snapshot(cluster)), data);
      if (sealed) commands.push(['HSET', keys.snapshot(cluster), 'd', sealed.d, 'k', sealed.k, 'id', cut, 'epoch', String(record.epoch), 'seq', String(record.seq)]);
      // Written plain: a k left from a sealed snapshot would name the wrong key.
      else commands.push(['HSET', keys.snapshot(cluster), 'd', Buffer.from(data), 'id', cut, 'epoch', String(record.epoch), 'seq', String(record.seq)], ['HDEL', keys.snapshot(cluster), 'k']);
      commands.push(['SADD', keys.clusters, cluster]);
      stats.snapshots++;
    });
    const retained = `${Math.max(0, deps.clock.now() - opts.retentionMs)}-0`;
    if (compareIds(retained, minid) < 0) minid = retained;
    commands.push(['SET', keys.trimmed, minid], ['XTRIM', keys.stream, 'MINID', minid]);
    await deps.fence.exec(ctx.token, commands);
    stats.runs++;
    if (deps.logger.isLevelEnabled('debug')) deps.logger.debug({ cut, minid, clusters: names.length }, 'replication: compacted');
  });
  return Object.assign(singleton, { stats });
}
