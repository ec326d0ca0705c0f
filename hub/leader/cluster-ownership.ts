// Which hub of the region may make an agent of a cluster active (invariant 2 across hubs:
// one writer per cluster, fleet-wide, even when the two head nodes of a cluster stream to two
// different members of the region):
//
//   <prefix>owners/<region>/<cluster>   {"hub_id","agent","since"} on the owning hub's lease
//
// A hub takes the key (a txn that puts it only if absent) before it makes an agent active; a
// hub that finds the key held by another keeps its agents of that cluster standby and polls the
// key. The key goes when the owner releases it (its active agent disconnected or went silent
// and no local standby took over) or when the owner's lease runs out (kill -9, cut off from
// etcd): then a hub with a waiting standby takes it and promotes that agent.
//
// etcd unreachable: a working active agent is never demoted for it (the data path does not
// depend on etcd). An agent of a cluster this hub knows no other owner of is made active
// (unconfirmed) and the key is claimed when etcd answers again; if another hub holds it by
// then, this hub demotes its agent to standby. A cluster whose last known owner is another hub
// stays standby here until etcd answers.
import type { Namespace } from 'etcd3';
import type { Logger } from '../../shared/logging/index.js';
import { isoNow, systemClock, type Clock } from '../../shared/clock/index.js';

/** What the ingest side offers the ownership (implemented by IngestRegistry). */
export interface OwnershipTarget {
  /** Clusters with an active agent on this hub, and its name. */
  activeAgents(): Map<string, string>;
  /** Clusters with a live standby agent on this hub and no active one, and the agent first in line. */
  waitingClusters(): Map<string, string>;
  /** Makes the first live standby of the cluster active; false when there is none. */
  promote(cluster: string, reason: string): boolean;
  /** Makes the cluster's active agent standby (another hub owns the cluster). */
  demote(cluster: string, reason: string): void;
}

/** The ingest side's view of cluster ownership (standalone hubs have none: every hub owns all). */
export interface ClusterOwnership {
  /** Whether this hub may make an agent of the cluster active now; claims the cluster when free. */
  acquire(cluster: string, agent: string): Promise<boolean>;
  /** This hub has no active agent of the cluster any more: let another hub take it. */
  release(cluster: string): void;
  /** The hub that owns the cluster, as last read (null: none, or not known). */
  owner(cluster: string): string | null;
}

export interface OwnershipSource {
  readonly currentLease: string | undefined;
  readonly namespace: Namespace;
  on(event: 'session', listener: (lease: string) => void): unknown;
  once(event: 'session', listener: (lease: string) => void): unknown;
  off(event: 'session', listener: (lease: string) => void): unknown;
}

export interface EtcdOwnershipDeps {
  source: OwnershipSource;
  region: string;
  hubId: string;
  logger: Logger;
  /** How often the owner keys are read (a standby waits at most this long after a key goes). */
  pollMs: number;
  /** How long an agent that connects before the hub's first etcd session waits for it. */
  firstSessionWaitMs?: number;
  /** Where owner records read the time (default: the system clock). */
  clock?: Clock;
}

interface OwnerValue {
  hub_id: string;
  agent: string;
  since: string;
}

interface KnownOwner extends OwnerValue {
  lease: string;
  modRevision: string;
}

export interface OwnershipStats {
  claims: number;
  refused: number;
  releases: number;
  promotions: number;
  demotions: number;
}

export class EtcdClusterOwnership implements ClusterOwnership {
  readonly stats: OwnershipStats = { claims: 0, refused: 0, releases: 0, promotions: 0, demotions: 0 };
  /** Owner keys as last read, by cluster. */
  private readonly owners = new Map<string, KnownOwner>();
  private target?: OwnershipTarget;
  private hadSession = false;
  private timer?: NodeJS.Timeout;
  private busy = false;
  private readonly prefix: string;
  /** Clusters an agent session is acquiring right now (not active yet, not to be released). */
  private readonly acquiring = new Set<string>();

  constructor(private readonly deps: EtcdOwnershipDeps) {
    this.prefix = `owners/${deps.region}/`;
  }

  private get ns(): Namespace {
    return this.deps.source.namespace;
  }

  /** Starts polling the owner keys for the ingest side's clusters. */
  attach(target: OwnershipTarget): void {
    this.target = target;
    // A new lease (after etcd trouble) holds none of our keys: re-claim at once.
    this.deps.source.on('session', () => {
      this.hadSession = true;
      void this.reconcile();
    });
    this.timer = setInterval(() => void this.reconcile(), this.deps.pollMs);
  }

  close(): void {
    clearInterval(this.timer);
  }

  owner(cluster: string): string | null {
    return this.owners.get(cluster)?.hub_id ?? null;
  }

  async acquire(cluster: string, agent: string): Promise<boolean> {
    this.acquiring.add(cluster);
    const lease = await this.sessionLease();
    if (!lease) {
      setImmediate(() => this.acquiring.delete(cluster));
      return this.withoutEtcd(cluster, 'no etcd session');
    }
    try {
      return await this.claim(cluster, agent, lease);
    } catch (err) {
      return this.withoutEtcd(cluster, (err as Error).message);
    } finally {
      // The session activates (in a microtask) before this runs.
      setImmediate(() => this.acquiring.delete(cluster));
    }
  }

  /** The current lease; right after the hub starts, waits a little for its first session. */
  private async sessionLease(): Promise<string | undefined> {
    const now = this.deps.source.currentLease;
    if (now || this.hadSession) return now;
    return new Promise((resolve) => {
      const onSession = (lease: string): void => {
        clearTimeout(timer);
        resolve(lease);
      };
      const timer = setTimeout(() => {
        this.deps.source.off('session', onSession);
        resolve(this.deps.source.currentLease);
      }, this.deps.firstSessionWaitMs ?? 3_000);
      this.deps.source.once('session', onSession);
    });
  }

  release(cluster: string): void {
    const known = this.owners.get(cluster);
    const lease = this.deps.source.currentLease;
    if (!known || known.hub_id !== this.deps.hubId || !lease) return; // the poll releases it later
    this.ns
      .if(this.prefix + cluster, 'Lease', '==', lease)
      .then(this.ns.delete().key(this.prefix + cluster))
      .commit()
      .then(
        (res) => {
          if (!res.succeeded) return;
          this.owners.delete(cluster);
          this.stats.releases++;
          this.deps.logger.info({ cluster }, 'released the cluster: another hub may make its agent active');
        },
        (err: Error) => this.deps.logger.warn({ cluster, err: err.message }, 'could not release the cluster yet (etcd unreachable); retrying'),
      );
  }

  /** etcd cannot answer: allow unless another hub was last seen owning the cluster. */
  private withoutEtcd(cluster: string, why: string): boolean {
    const known = this.owners.get(cluster);
    const allowed = !known || known.hub_id === this.deps.hubId;
    this.deps.logger.warn({ cluster, err: why, owner: known?.hub_id ?? null }, allowed ? 'etcd unreachable: agent made active unconfirmed; the cluster is claimed when etcd is back' : 'etcd unreachable: another hub was last seen owning the cluster; agent kept standby');
    return allowed;
  }

  /** Puts the owner key if absent (or ours on an older lease); true when this hub owns the cluster now. */
  private async claim(cluster: string, agent: string, lease: string): Promise<boolean> {
    const key = this.prefix + cluster;
    const value: OwnerValue = { hub_id: this.deps.hubId, agent, since: isoNow(this.deps.clock ?? systemClock) };
    const res = await this.ns.if(key, 'Create', '==', 0).then(this.ns.put(key).value(JSON.stringify(value)).lease(lease)).else(this.ns.get(key)).commit();
    if (res.succeeded) {
      this.owners.set(cluster, { ...value, lease, modRevision: res.header.revision });
      this.stats.claims++;
      this.deps.logger.info({ cluster, agent }, 'took ownership of the cluster in etcd');
      return true;
    }
    const kv = res.responses[0]?.response_range?.kvs?.[0];
    if (!kv) return false;
    const held = parseOwner(kv.value.toString());
    if (held?.hub_id === this.deps.hubId) {
      if (kv.lease === lease) return true;
      // Ours from an older session (its lease not expired yet): move it onto the current one.
      const moved = await this.ns.if(key, 'Mod', '==', kv.mod_revision).then(this.ns.put(key).value(JSON.stringify(value)).lease(lease)).commit();
      if (moved.succeeded) this.owners.set(cluster, { ...value, lease, modRevision: moved.header.revision });
      return moved.succeeded;
    }
    if (held) this.owners.set(cluster, { ...held, lease: kv.lease, modRevision: kv.mod_revision });
    this.stats.refused++;
    return false;
  }

  /** One poll: read every owner key, then claim, promote, demote and release as they say. */
  async reconcile(): Promise<void> {
    const target = this.target;
    const lease = this.deps.source.currentLease;
    if (!target || !lease || this.busy) return;
    this.busy = true;
    try {
      const res = await this.ns.getAll().prefix(this.prefix).exec();
      this.owners.clear();
      for (const kv of res.kvs) {
        const held = parseOwner(kv.value.toString());
        if (held) this.owners.set(kv.key.toString().slice(this.prefix.length), { ...held, lease: kv.lease, modRevision: kv.mod_revision });
      }
      const active = target.activeAgents();
      for (const [cluster, agent] of active) {
        const known = this.owners.get(cluster);
        if (known && known.hub_id !== this.deps.hubId) {
          // Taken elsewhere while this hub could not reach etcd: the other hub's agent writes.
          this.stats.demotions++;
          target.demote(cluster, `hub ${known.hub_id} owns cluster ${cluster}`);
        } else if (!known || known.lease !== lease) {
          if (!(await this.claim(cluster, agent, lease))) {
            this.stats.demotions++;
            target.demote(cluster, `hub ${this.owner(cluster) ?? '?'} owns cluster ${cluster}`);
          }
        }
      }
      for (const [cluster, agent] of target.waitingClusters()) {
        if (this.owners.has(cluster) || active.has(cluster)) continue;
        // The owner is gone: take the cluster and promote the standby that waited here.
        if (!(await this.claim(cluster, agent, lease))) continue;
        if (target.promote(cluster, `cluster ${cluster} had no owning hub`)) this.stats.promotions++;
        else this.release(cluster);
      }
      const activeNow = target.activeAgents();
      for (const [cluster, known] of this.owners) {
        if (known.hub_id === this.deps.hubId && !activeNow.has(cluster) && !this.acquiring.has(cluster)) this.release(cluster);
      }
    } catch (err) {
      this.deps.logger.debug({ err: (err as Error).message }, 'cluster ownership: etcd unreachable');
    } finally {
      this.busy = false;
    }
  }
}

function parseOwner(text: string): OwnerValue | undefined {
  try {
    const v = JSON.parse(text) as Partial<OwnerValue>;
    return typeof v.hub_id === 'string' ? { hub_id: v.hub_id, agent: v.agent ?? '', since: v.since ?? '' } : undefined;
  } catch {
    return undefined;
  }
}
