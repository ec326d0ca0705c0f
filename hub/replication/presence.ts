// Presence and lag of the clusters other hubs ingest, as seen from this hub: what each
// ingesting hub says it has applied (its owner record, refreshed every second), whether an
// agent of each cluster streams to some hub of the region, since when this hub is behind, and
// from these and the stream's progress which clusters this hub cannot vouch for now.
// What "stale" means is hub/fleet/freshness.ts; this file only says which clusters are, and why.
import type { Redis } from 'ioredis';
import type { Clock } from '../../shared/clock/index.js';
import { ANY_CLUSTER, isStale, type FleetState } from '../fleet/index.js';
import type { ReplicationKeys } from './keys.js';
import type { OwnerRecord } from './publisher.js';

/** What presence reads of the stream follower (follower.ts). */
export interface StreamProgress {
  /** When the stream last answered (ms; 0: never). */
  readonly lastReadAt: number;
  /** Why the stream cannot be read now, or null while it can. */
  readonly lastError: string | null;
  /** Until the stream's end as of (re)connecting has been applied. */
  readonly catchingUpTo: string | null;
  /** Read up to where the stream stood once since start. */
  readonly caughtUpOnce: boolean;
  /** Clusters with a hole only a snapshot can fill, since when. */
  readonly gaps: ReadonlyMap<string, number>;
  /** Asks whichever hub ingests the cluster for a snapshot. */
  askResync(cluster: string): void;
}

export interface PresenceDeps {
  redis: Redis;
  keys: ReplicationKeys;
  hubId: string;
  state: FleetState;
  /** Clusters whose agent streams to this hub now: never stale here. */
  ingesting: () => ReadonlySet<string>;
  stream: StreamProgress;
  clock: Clock;
}

export interface PresenceOptions {
  /** redis.stale_after: the stream silent, or a cluster behind, for longer is stale. */
  staleAfterMs: number;
}

/** Owner records are refreshed every second: behind for this long is not a delta in flight. */
const RESYNC_WHEN_BEHIND_MS = 5_000;

export class ReplicationPresence {
  /** What the ingesting hubs say they have applied. */
  readonly owners = new Map<string, OwnerRecord>();
  /** Since when each cluster is behind its owner. */
  private readonly behindSince = new Map<string, number>();

  constructor(
    private readonly deps: PresenceDeps,
    private readonly opts: PresenceOptions,
  ) {}

  /** The stream answers, and has within stale_after. */
  streamHealthy(): boolean {
    const { stream, clock } = this.deps;
    return stream.lastError === null && !isStale(stream.lastReadAt, clock.now(), this.opts.staleAfterMs);
  }

  /** Milliseconds since the stream last answered; null when it never has. */
  streamReadAgeMs(): number | null {
    const at = this.deps.stream.lastReadAt;
    return at ? this.deps.clock.now() - at : null;
  }

  /** Once a second (and when another hub announces a change): who streams each cluster, who lags; holes re-asked. */
  async pollOwners(): Promise<void> {
    const { state, keys, hubId, stream, clock } = this.deps;
    const clusters = [...state.clusters.keys()];
    if (clusters.length === 0) return;
    const values = await this.deps.redis.mget(clusters.map((c) => keys.owner(c)));
    const ingesting = this.deps.ingesting();
    clusters.forEach((cluster, i) => {
      const text = values[i];
      const owner = text ? (JSON.parse(text) as OwnerRecord) : undefined;
      if (owner) this.owners.set(cluster, owner);
      else this.owners.delete(cluster);
      if (ingesting.has(cluster)) return;
      const record = state.cluster(cluster);
      // Connected means "an agent streams to some hub of the region".
      if (!owner || owner.hub !== hubId) {
        const connected = !!owner;
        const agent = owner?.agent ?? record.agent;
        if (record.connected !== connected || record.agent !== agent) state.setAgentStatus(cluster, { connected, agent: agent || undefined });
      }
      const behind = owner && owner.hub !== hubId && (owner.epoch !== record.epoch || owner.seq > record.seq);
      if (behind) {
        if (!this.behindSince.has(cluster)) this.behindSince.set(cluster, clock.now());
      } else this.behindSince.delete(cluster);
      // Behind for long with the stream read to its end: deltas the ingesting hub counts as
      // published are not in the stream (a Redis failover lost writes its old master had
      // acked). No later delta may come to show the hole as a gap: ask for a snapshot.
      const lost = stream.catchingUpTo === null && this.behindFor(cluster) > RESYNC_WHEN_BEHIND_MS;
      if ((stream.gaps.has(cluster) || lost) && owner) stream.askResync(cluster);
    });
  }

  /** How long the cluster has been behind its ingesting hub (0 when it is not). */
  behindFor(cluster: string): number {
    const since = this.behindSince.get(cluster);
    return since ? this.deps.clock.now() - since : 0;
  }

  /** Clusters this hub cannot vouch for now, with why; ANY_CLUSTER when it may lack whole clusters. */
  stale(): Map<string, string> {
    const { state, stream, clock } = this.deps;
    const out = new Map<string, string>();
    const ingesting = this.deps.ingesting();
    const healthy = this.streamHealthy();
    const now = clock.now();
    // What this hub does not know at all cannot be listed per cluster: ANY_CLUSTER stands for it.
    if (!healthy) out.set(ANY_CLUSTER, `replication stream unreadable (${stream.lastError ?? 'no answer'}): clusters of other hubs may be missing or old`);
    else if (stream.catchingUpTo !== null || !stream.caughtUpOnce) out.set(ANY_CLUSTER, 'catching up with the replication stream: clusters of other hubs may be missing or old');
    for (const cluster of state.clusters.keys()) {
      if (ingesting.has(cluster)) continue;
      const behindSince = this.behindSince.get(cluster);
      if (!healthy) {
        const since = stream.lastReadAt ? `${Math.round((now - stream.lastReadAt) / 1000)} s` : 'start';
        out.set(cluster, `replication stream unreadable since ${since} ago (${stream.lastError ?? 'no answer'})`);
      } else if (stream.catchingUpTo !== null) out.set(cluster, 'catching up with the replication stream');
      else if (stream.gaps.has(cluster)) out.set(cluster, 'deltas missing: waiting for a snapshot from the ingesting hub');
      else if (behindSince && isStale(behindSince, now, this.opts.staleAfterMs)) {
        const owner = this.owners.get(cluster);
        const record = state.clusters.get(cluster)!;
        out.set(cluster, `behind hub ${owner?.hub ?? '?'} (it has seq ${owner?.seq ?? '?'}, this hub ${record.seq})`);
      }
    }
    return out;
  }
}
