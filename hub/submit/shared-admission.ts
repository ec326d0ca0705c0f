// Admission in a hub group: the reservations live in the region's etcd, so that concurrent
// submits through several hubs cannot overshoot a quota together.
//
//   <prefix>admission/<region>/guard/<tenant>       rewritten by every new reservation of the tenant
//   <prefix>admission/<region>/held/<tenant>/<id>   {hub, cluster, account, user, request, job_id?}
//                                                   on a lease of submit.reservation_ttl
//
// A hub reads the tenant's reservations at revision R, checks usage (its fleet state) plus them
// plus the request against every limit (checkQuota), and commits its reservation in one
// transaction that holds only if the guard was not rewritten after R and this hub's member key
// is still on its live session lease (fenced: a hub cut off from the group admits nothing). Of
// two admissions racing through two hubs one commits; the other reads again, now counting it.
// Deleting needs no guard: fewer reservations can only make a concurrent check stricter.
//
// A reservation whose job shows in the fleet state is not counted (the job is); an array's counts
// for the tasks that never showed: the most of its tasks seen at once, not the number showing now,
// since finished tasks leave the state (that would grow the reservation back and refuse submits
// that fit). Each hub remembers the most it saw of every reservation it read, and the hub that
// made it writes its own figure into it (`shown`) for hubs that were not looking. Its hub deletes
// it a grace period after all its tasks showed here (other hubs' replicas may lag behind this one);
// one whose job never shows (it ended first, the answer was lost) goes with its lease. While
// etcd does not answer, submits are refused (503), never admitted unchecked.
import { randomUUID } from 'node:crypto';
import type { ITxnResponse, Namespace } from 'etcd3';
import type { Clock } from '../../shared/clock/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { SubmitSpec } from '../../shared/submit/index.js';
import type { FleetState } from '../fleet/index.js';
import type { Tenancy } from '../tenancy/index.js';
import { UsageCounts } from '../quota/index.js';
import { admissionRequest, checkQuota, outstanding, tasksShown, type AdmissionControl, type Reserved } from './admission.js';
import { AdmissionUnavailableError, QuotaExceededError } from './errors.js';

/** How long after its job showed here a reservation is kept (replication lag of the other hubs). */
const SHOWN_GRACE_MS = 5_000;
/** Optimistic rounds before giving up: each lost round means another admission of the tenant committed. */
const MAX_ROUNDS = 64;

export interface SharedAdmissionDeps {
  /** The hub group's etcd namespace (etcd.prefix). */
  ns: Namespace;
  region: string;
  hubId: string;
  /** This hub's etcd session lease (its member key is on it), undefined while it has none. */
  lease: () => string | undefined;
  tenancy?: Tenancy;
  state: FleetState;
  clock: Clock;
  logger: Logger;
}

interface Held extends Reserved {
  hub: string;
  /** The most tasks of its job the reserving hub saw at once. */
  shown?: number;
}

interface Mine {
  key: string;
  lease: string;
  value: Held;
  createdAt: number;
  shownAt?: number;
  /** The last rewrite of it (rewrite()). */
  writing?: Promise<void>;
}

export class SharedAdmission implements AdmissionControl {
  private readonly mine = new Map<string, Mine>();
  private grant?: { at: number; id: Promise<string> };
  private sweeper?: NodeJS.Timeout;
  private counts?: UsageCounts;
  /** The most tasks seen at once of each reservation read (by its id), and when last read. */
  private readonly seen = new Map<string, { shown: number; at: number }>();
  /** Optimistic rounds lost to a concurrent admission (tests and the benchmark read it). */
  conflicts = 0;

  constructor(
    private readonly deps: SharedAdmissionDeps,
    private readonly opts: { ttlMs: number; callTimeoutMs: number },
  ) {}

  async admit(cluster: string, account: string | undefined, user: string, spec: SubmitSpec): Promise<string | undefined> {
    const { tenancy } = this.deps;
    const ask = admissionRequest(tenancy, cluster, account, user, spec);
    if (!ask || !tenancy) return undefined;
    const member = this.deps.lease();
    if (!member) throw new AdmissionUnavailableError('this hub has no etcd session: it cannot reserve quota for a submit now; retry, or submit through another hub');
    const { ns } = this.deps;
    const guard = `admission/${this.deps.region}/guard/${ask.tenant}`;
    const key = `admission/${this.deps.region}/held/${ask.tenant}/${randomUUID()}`;
    const value: Held = { hub: this.deps.hubId, cluster, account: ask.account, user, request: ask.request, ...(ask.array ? { array: true } : {}) };
    const counts = (this.counts ??= new UsageCounts(this.deps.state, tenancy));
    try {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const held = await ns.getAll().prefix(`admission/${this.deps.region}/held/${ask.tenant}/`).options(this.callOptions()).exec();
        const seen = held.header.revision;
        const reserved = held.kvs.map((kv) => this.left(kv.key.toString(), JSON.parse(kv.value.toString()) as Held)).filter((r) => r !== undefined);
        checkQuota({ tenancy, counts, clock: this.deps.clock }, ask, reserved);
        const lease = await this.reservationLease();
        const res: ITxnResponse = await ns
          .if(guard, 'Mod', '<', Number(seen) + 1)
          .and(`members/${this.deps.region}/${this.deps.hubId}`, 'Lease', '==', member)
          .then(ns.put(key).value(JSON.stringify(value)).lease(lease), ns.put(guard).value(key))
          .else(ns.get(`members/${this.deps.region}/${this.deps.hubId}`))
          .options(this.callOptions()).commit();
        if (res.succeeded) {
          this.mine.set(key, { key, lease, value, createdAt: this.deps.clock.now() });
          this.sweepSoon();
          return key;
        }
        const self = res.responses[0]?.response_range?.kvs[0];
        if (!self || self.lease !== member) throw new AdmissionUnavailableError('this hub is no longer a live member of its group (its etcd session ended): it cannot reserve quota now; retry');
        this.conflicts++;
        // Another admission of the tenant committed after our read: read again, after a short random pause.
        await new Promise((r) => setTimeout(r, 2 + Math.floor(Math.random() * 8 * Math.min(round + 1, 4))));
      }
    } catch (err) {
      if (err instanceof QuotaExceededError || err instanceof AdmissionUnavailableError) throw err;
      this.deps.logger.warn({ err: (err as Error).message, tenant: ask.tenant }, 'quota admission: etcd did not answer');
      throw new AdmissionUnavailableError(`the region's etcd did not answer, so quota cannot be reserved for this submit; nothing was submitted: ${(err as Error).message.split('\n')[0]}`);
    }
    throw new AdmissionUnavailableError(`quota admission for tenant ${ask.tenant} lost ${MAX_ROUNDS} rounds to concurrent submits; retry`);
  }

  async submitted(handle: string | number | undefined, jobId: string): Promise<void> {
    const m = typeof handle === 'string' ? this.mine.get(handle) : undefined;
    if (!m) return;
    m.value = { ...m.value, job_id: jobId };
    await this.rewrite(m);
  }

  /**
   * Writes this hub's reservation again (its job id, the tasks seen) only while it exists (not
   * re-created after its lease ran out), on the same lease; one write at a time, each of the
   * value as it is then, so an older write never lands last.
   */
  private rewrite(m: Mine): Promise<void> {
    const { ns } = this.deps;
    m.writing = (m.writing ?? Promise.resolve()).then(() =>
      ns
        .if(m.key, 'Version', '>', 0)
        .then(ns.put(m.key).value(JSON.stringify(m.value)).lease(m.lease))
        .options(this.callOptions()).commit()
        .then(() => undefined, (err: Error) => this.deps.logger.warn({ err: err.message }, 'quota admission: could not update a reservation; it lapses with its lease')),
    );
    return m.writing;
  }

  async release(handle: string | number | undefined): Promise<void> {
    if (typeof handle !== 'string' || !this.mine.delete(handle)) return;
    await this.deps.ns
      .delete()
      .key(handle)
      .options(this.callOptions()).exec()
      .catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'quota admission: could not delete a reservation; it lapses with its lease'));
  }

  /** Reservations this hub holds now. */
  get held(): number {
    return this.mine.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /**
   * What the reservation at `key` still holds: its tasks that were never seen, by this hub's fleet
   * state now, what this hub saw of it before and what its own hub wrote; undefined once all were.
   */
  left(key: string, r: Held): Reserved | undefined {
    if (r.job_id === undefined || !this.deps.tenancy) return r;
    const counts = (this.counts ??= new UsageCounts(this.deps.state, this.deps.tenancy));
    const id = key.slice(key.lastIndexOf('/') + 1);
    const now = this.deps.clock.now();
    const shown = Math.max(r.shown ?? 0, this.seen.get(id)?.shown ?? 0, tasksShown({ state: this.deps.state, counts }, r));
    this.seen.set(id, { shown, at: now });
    // Forget reservations not read for longer than one can live.
    if (this.seen.size > 1_000) for (const [k, v] of this.seen) if (now - v.at > 2 * this.opts.ttlMs + 10_000) this.seen.delete(k);
    return outstanding(r, shown);
  }

  /**
   * One lease for the reservations of a short window (a tenth of the ttl, at least a second), so
   * a submit does not pay a lease grant; its TTL covers the window, so each lives at least ttl.
   */
  private reservationLease(): Promise<string> {
    const now = this.deps.clock.now();
    const windowMs = Math.max(1_000, Math.floor(this.opts.ttlMs / 10));
    if (this.grant && now - this.grant.at < windowMs) return this.grant.id;
    const lease = this.deps.ns.lease(Math.ceil((this.opts.ttlMs + windowMs) / 1000), { autoKeepAlive: false });
    const id = lease.grant().then((granted) => {
      void lease.release(); // no keep-alive: it runs out
      return granted;
    });
    id.catch(() => {
      if (this.grant?.id === id) this.grant = undefined;
    });
    this.grant = { at: now, id };
    return id;
  }

  private sweepSoon(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(), 1_000);
    this.sweeper.unref();
  }

  /** Deletes this hub's reservations whose job showed here a grace period ago; forgets lapsed ones. */
  private sweep(): void {
    const now = this.deps.clock.now();
    for (const m of this.mine.values()) {
      const left = this.left(m.key, m.value);
      const shown = this.seen.get(m.key.slice(m.key.lastIndexOf('/') + 1))?.shown ?? 0;
      // More of its tasks seen than it says: tell the other hubs (they may not have been looking).
      if (left && shown > (m.value.shown ?? 0)) {
        m.value = { ...m.value, shown };
        void this.rewrite(m);
      }
      if (m.value.job_id !== undefined && !left) m.shownAt ??= now;
      if (m.shownAt !== undefined && now - m.shownAt >= SHOWN_GRACE_MS) void this.release(m.key);
      else if (now - m.createdAt > this.opts.ttlMs + Math.max(1_000, this.opts.ttlMs / 10)) this.mine.delete(m.key);
    }
    if (this.mine.size === 0) this.close();
  }

  private callOptions(): { deadline: Date } {
    return { deadline: new Date(Date.now() + this.opts.callTimeoutMs) };
  }
}
