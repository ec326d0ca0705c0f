// Clustered mode: membership, election and fencing in etcd, all on one lease per hub process
// (a "session", as in etcd's Go concurrency package):
//
//   <prefix>members/<region>/<hub_id>    this hub's record (JSON), refreshed with its health
//   <prefix>election/<region>/<lease>    its candidacy; the oldest key (lowest create
//                                        revision) leads, and that revision is the token
//   <prefix>singleton/<region>/<key>     singletons' own values, written only by
//                                        compare-and-swap on the leader's election key
//
// A kill -9 stops the keepalives: etcd deletes both keys when the lease TTL runs out and the
// next candidate, which polls its predecessor, leads within TTL + a poll. A hub that cannot
// renew its lease stops its singletons before etcd's TTL can run out (two thirds of lease_ttl
// after the last renewal, on the monotonic clock: lease-renewal.ts), so two leaders never act at
// once unless a process is frozen; what a frozen one writes afterwards is refused by the fences.
import { EventEmitter } from 'node:events';
import type { Etcd3, Lease, Namespace } from 'etcd3';
import type { Logger } from '../../shared/logging/index.js';
import type { EtcdConfig } from './config.js';
import { FencedOffError, type FenceTarget, type LeaderContext } from './fencing.js';
import { healthOf, type Leadership, type LeadershipDeps, type LeadershipStatus, type MemberList, type MemberView } from './leadership.js';
import { SingletonRunner, sleep } from './singletons.js';
import { isEtcdNoSpace } from './etcd-space.js';
import { LeaseRenewal } from './lease-renewal.js';
import { isoNow, systemClock, type Clock } from '../../shared/clock/index.js';

export interface EtcdLeadershipDeps extends LeadershipDeps {
  client: Etcd3;
  /** Stores the new leader raises its token in before singletons start (e.g. Redis). */
  fences?: FenceTarget[];
  /** The monotonic clock the lease's renewals are timed by (tests); performance.now() by default. */
  monotonic?: () => number;
}

/** How often a session looks at its lease's last renewal. */
const RENEWAL_CHECK_MS = 50;

export interface LeadershipStats {
  sessions: number;
  elections: number;
  depositions: number;
  fencedRefusals: number;
}

class SessionEnded extends Error {}

export class EtcdLeadership extends EventEmitter implements Leadership {
  readonly runner: SingletonRunner;
  readonly stats: LeadershipStats = { sessions: 0, elections: 0, depositions: 0, fencedRefusals: 0 };
  private readonly ns: Namespace;
  private readonly ttlMs: number;
  private readonly refreshMs: number;
  private readonly pollMs: number;
  private readonly clock: Clock;
  private readonly startedAt: string;
  private closed = false;
  private loopDone?: Promise<void>;
  private session?: AbortController;
  private term?: { token: number; controller: AbortController; since: string };
  private etcdError: string | null = 'connecting';
  private leaderId: string | null = null;
  private leaseId?: string;
  private electionKey?: string;
  private lease?: Lease;

  constructor(
    private readonly config: EtcdConfig,
    private readonly deps: EtcdLeadershipDeps,
  ) {
    super();
    this.clock = deps.clock ?? systemClock;
    this.startedAt = isoNow(this.clock);
    this.ns = deps.client.namespace(config.prefix);
    this.ttlMs = config.lease_ttl;
    this.refreshMs = Math.max(500, Math.floor(this.ttlMs / 3));
    this.pollMs = Math.min(250, Math.floor(this.ttlMs / 8));
    this.runner = new SingletonRunner({ logger: deps.logger });
  }

  private get region(): string {
    return this.deps.identity.region;
  }
  private get hubId(): string {
    return this.deps.identity.hub_id;
  }
  private get log(): Logger {
    return this.deps.logger;
  }

  start(): void {
    this.loopDone ??= this.loop();
  }

  /** The lease of this hub's etcd session while it has one (keys on it go when the hub does). */
  get currentLease(): string | undefined {
    return this.leaseId;
  }

  /** Namespace of the hub group's etcd keys (config prefix). */
  get namespace(): Namespace {
    return this.ns;
  }

  status(): LeadershipStatus {
    return {
      mode: 'clustered',
      etcd: this.etcdError === null ? 'ok' : `unreachable: ${this.etcdError}`,
      leading: !!this.term,
      leader: this.term ? this.hubId : this.etcdError === null ? this.leaderId : null,
      token: this.term?.token ?? null,
      leading_since: this.term?.since ?? null,
      singletons: this.runner.active,
    };
  }

  /** The region's leader by etcd (oldest candidacy), not by any observer's cache. */
  async leader(): Promise<string | null> {
    return (await this.ns.election(this.region).leader()) ?? null;
  }

  async members(): Promise<MemberList> {
    try {
      const [values, leader] = await Promise.all([this.ns.getAll().prefix(`members/${this.region}/`).strings(), this.leader()]);
      this.ok();
      this.leaderId = leader;
      const now = this.clock.now();
      const items = Object.values(values)
        .map((text) => JSON.parse(text) as Omit<MemberView, 'health' | 'leader'>)
        .map((m) => {
          const v = { ...m, leader: m.hub_id === leader };
          return { ...v, health: healthOf(v, now, 3 * this.refreshMs + 1_000) };
        })
        .sort((a, b) => (a.hub_id < b.hub_id ? -1 : a.hub_id > b.hub_id ? 1 : 0));
      return { region: this.region, leader, items };
    } catch (err) {
      this.failed(err);
      const self = this.record();
      const v = { ...self, leader: !!this.term };
      return { region: this.region, leader: null, items: [{ ...v, health: healthOf(v, this.clock.now(), Infinity) }], error: `etcd unreachable: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.session?.abort(new SessionEnded('the hub is shutting down'));
    await this.loopDone;
  }

  private ok(): void {
    if (this.etcdError !== null) this.log.info('etcd reachable');
    this.etcdError = null;
  }

  private failed(err: unknown): void {
    const message = (err as Error).message?.split('\n')[0] ?? String(err);
    // Out of space, etcd still answers and keeps the lease: this hub keeps its role; the member
    // record goes stale until the alarm is cleared, and /healthz says why (etcd-space.ts).
    if (isEtcdNoSpace(err)) return;
    if (this.etcdError === null) this.log.warn({ err: message }, 'etcd unreachable: this hub runs no singleton until it is back');
    this.etcdError = message;
  }

  private record(): Omit<MemberView, 'health' | 'leader'> {
    return { ...this.deps.identity, ...this.deps.health(), pid: process.pid, started_at: this.startedAt, updated_at: isoNow(this.clock) };
  }

  private async putMember(): Promise<void> {
    if (!this.leaseId) return;
    await this.ns.put(`members/${this.region}/${this.hubId}`).value(JSON.stringify(this.record())).lease(this.leaseId).exec();
    this.ok();
  }

  // One session (lease) after another until closed.
  private async loop(): Promise<void> {
    let backoff = 250;
    while (!this.closed) {
      const session = (this.session = new AbortController());
      const timers: NodeJS.Timeout[] = [];
      try {
        await this.runSession(session, timers);
        backoff = 250;
      } catch (err) {
        if (!(err instanceof SessionEnded) && !this.closed) this.failed(err);
      } finally {
        for (const t of timers) clearInterval(t);
        if (!session.signal.aborted) session.abort(new SessionEnded('session over'));
        await this.depose(session.signal.reason instanceof Error ? session.signal.reason.message : 'session over');
        await this.endLease();
      }
      if (!this.closed) {
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2_000);
      }
    }
  }

  private async runSession(session: AbortController, timers: NodeJS.Timeout[]): Promise<void> {
    const ttlSeconds = Math.round(this.ttlMs / 1000);
    const lease = (this.lease = this.deps.client.lease(ttlSeconds));
    const renewal = new LeaseRenewal(this.ttlMs, this.deps.monotonic);
    lease.on('lost', (err: Error) => session.abort(new SessionEnded(`lease lost: ${err.message}`)));
    lease.on('keepaliveFired', () => renewal.fired());
    lease.on('keepaliveSucceeded', () => {
      renewal.answered();
      this.ok();
    });
    lease.on('keepaliveFailed', (err) => {
      renewal.streamFailed();
      this.failed(err);
    });
    const askedAt = renewal.now();
    this.leaseId = await raceAbort(lease.grant(), session.signal);
    renewal.granted(askedAt);
    this.stats.sessions++;
    this.ok();
    await raceAbort(this.putMember(), session.signal);
    this.log.info({ lease: this.leaseId, ttl: ttlSeconds }, 'registered in etcd');
    this.emit('session', this.leaseId);

    // Stop leading before etcd can give the lead to someone else; send a keep-alive of our own
    // when the stream's regular one is overdue, so one lost packet does not cost the lead.
    let rescuing = false;
    timers.push(
      setInterval(() => {
        if (renewal.mustStepDown(RENEWAL_CHECK_MS)) {
          const silent = Math.round(renewal.silentMs());
          this.failed(new Error(`no lease renewal for ${silent} ms`));
          session.abort(new SessionEnded(`lease not renewed for ${silent} ms (steps down at ${renewal.stepDownAfterMs} ms)`));
          return;
        }
        if (rescuing || !renewal.rescueDue()) return;
        rescuing = true;
        const sentAt = renewal.now();
        lease
          .keepaliveOnce({ deadline: new Date(Date.now() + renewal.stepDownAfterMs) })
          .then(() => renewal.renewed(sentAt))
          .catch(() => undefined) // the stream's own error path reports and recovers
          .finally(() => (rescuing = false));
      }, RENEWAL_CHECK_MS),
    );
    timers.push(
      setInterval(() => {
        this.putMember().catch((err: unknown) => this.failed(err));
        this.leader()
          .then((l) => (this.leaderId = l))
          .catch(() => undefined);
      }, this.refreshMs),
    );

    const token = await this.campaign(this.leaseId, session.signal);
    await this.lead(token, session.signal);
  }

  // Candidacy: put our key once, then wait until no older key is left.
  private async campaign(leaseId: string, signal: AbortSignal): Promise<number> {
    const prefix = `election/${this.region}/`;
    const key = `${prefix}${leaseId}`;
    const res = await raceAbort(
      this.ns.if(key, 'Create', '==', 0).then(this.ns.put(key).value(this.hubId).lease(leaseId)).else(this.ns.get(key)).commit(),
      signal,
    );
    const token = res.succeeded ? Number(res.header.revision) : Number(res.responses[0].response_range.kvs[0].create_revision);
    this.electionKey = key;
    let predecessor: string | undefined;
    for (;;) {
      if (signal.aborted) throw signal.reason;
      try {
        const older = await raceAbort(this.ns.getAll().prefix(prefix).maxCreateRevision(String(token - 1)).sort('Create', 'Descend').limit(1).exec(), signal);
        this.ok();
        if (older.kvs.length === 0) return token;
        const k = older.kvs[0].key.toString();
        if (k !== predecessor) {
          predecessor = k;
          this.leaderId = await this.leader();
        }
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        this.failed(err);
      }
      // Polling, not a watch: a watch on a member that just died can hang past the TTL.
      await sleep(this.pollMs, signal);
    }
  }

  private async lead(token: number, signal: AbortSignal): Promise<void> {
    for (const fence of this.deps.fences ?? []) {
      try {
        await fence.claim(token);
      } catch (err) {
        // A store that is down now is fenced by its own check when it is back.
        this.log.warn({ fence: fence.name, err: (err as Error).message }, 'could not raise a fence (the store checks the token on every write anyway)');
      }
    }
    if (signal.aborted) throw signal.reason;
    const controller = new AbortController();
    const term = { token, controller, since: isoNow(this.clock) };
    this.term = term;
    this.leaderId = this.hubId;
    this.stats.elections++;
    this.log.info({ fencing_token: token }, 'elected leader of the region: starting singletons');
    this.runner.start(this.context(term));
    this.emit('elected', token);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  private context(term: { token: number; controller: AbortController }): LeaderContext {
    const assertLeading = (): void => {
      if (this.term !== term || term.controller.signal.aborted) {
        this.stats.fencedRefusals++;
        throw new FencedOffError(`hub ${this.hubId} no longer leads region ${this.region} with token ${term.token}`, { fencing_token: term.token });
      }
    };
    const electionKey = this.electionKey!;
    return {
      region: this.region,
      hubId: this.hubId,
      token: term.token,
      signal: term.controller.signal,
      assertLeading,
      put: async (key, value) => {
        assertLeading();
        try {
          await fencedPut(this.ns, electionKey, term.token, `singleton/${this.region}/${key}`, value);
        } catch (err) {
          if (err instanceof FencedOffError) this.stats.fencedRefusals++;
          throw err;
        }
      },
      get: async (key) => (await this.ns.get(`singleton/${this.region}/${key}`).string()) ?? undefined,
    };
  }

  private async depose(reason: string): Promise<void> {
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    this.leaderId = null;
    term.controller.abort();
    this.stats.depositions++;
    this.log.warn({ fencing_token: term.token, reason }, 'no longer the leader: singletons stopped');
    this.emit('deposed', reason);
    await this.runner.settled();
  }

  private async endLease(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    this.leaseId = undefined;
    this.electionKey = undefined;
    if (!lease) return;
    // Revoking hands the lead over at once on a clean shutdown; when etcd is unreachable
    // the deadline ends the attempt and the TTL does the rest.
    await lease.revoke({ deadline: Date.now() + this.config.call_timeout }).catch(() => lease.release());
  }
}

/**
 * The compare-and-swap every fenced etcd write goes through: the put lands only if the
 * election key still exists with the token's create revision (a deposed leader's key is gone,
 * or was created again at a newer revision).
 */
export async function fencedPut(ns: Namespace, electionKey: string, token: number, key: string, value: string): Promise<void> {
  const res = await ns.if(electionKey, 'Create', '==', token).then(ns.put(key).value(value)).commit();
  if (!res.succeeded) {
    throw new FencedOffError(`etcd refused a write of fencing token ${token}: its election key is gone or newer`, { fencing_token: token });
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}
