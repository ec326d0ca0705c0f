// Alerting as the hub uses it: the engine (engine.ts: rules -> alerts -> silences, inhibition ->
// groups and escalation -> the claimed sends -> the channels) plus a leader's term and a hub group.
// The leader runs tick() every evaluation_interval (singleton()). Alert changes are recorded in
// the event log, so they reach the watch stream like controller events.
//
// Across a restart or a leader change: a hub group's new leader loads the region's state when its
// term starts, continues what it paged alone while the group had no leader (headless.ts), sends
// again what is still in the outbox (marked possible_duplicate) and continues each escalation at
// its next_at. A follower reads the region's state (and delivery log and history) every
// evaluation. What comes back in, ack links and PagerDuty's webhooks, acts on the leader: a
// follower checks its credential and relays it there (group-link.ts).
import { BadRequestError, ConflictError } from '../../shared/errors/index.js';
import { sleep, type LeaderContext, type Singleton } from '../leader/index.js';
import type { SecurityStore } from '../security-store/index.js';
import { channelsOf } from './config.js';
import type { GroupState } from './dispatch/index.js';
import { AlertingEngine } from './engine.js';
import { shareAckLinkKey, type LeaderRelay, type RelayAnswer } from './group-link.js';
import { notificationOf } from './notification.js';
import { applyPagerDutyEvent, PAGERDUTY_EVENT_MEMORY_MS, type PagerDutyEvent, type PagerDutyOutcome } from './pagerduty-webhook/index.js';
import { DamagedStateError, emptySnapshot, type OutboxEntry } from './store.js';
import type { AlertView } from './views.js';

export type { AlertingDeps, HeardAgentLike } from './deps.js';
export type { AlertGroupView, AlertView, ScheduleView } from './views.js';

export class Alerting extends AlertingEngine {
  private relay?: LeaderRelay;

  /** Leader-only: take over the state, then evaluate and page every evaluation_interval. */
  singleton(): Singleton {
    return {
      name: 'alerting',
      run: async (ctx) => {
        try {
          await this.takeOver(ctx);
          while (!ctx.signal.aborted) {
            try {
              await this.tick();
              this.heartbeat?.beat();
            } catch (err) {
              this.deps.logger.error({ err: (err as Error).message }, 'alerting: evaluation failed');
            }
            await sleep(this.config.evaluation_interval, ctx.signal);
          }
        } finally {
          if (this.term?.signal === ctx.signal) this.term = undefined;
        }
      },
    };
  }

  /** An ack link from a notification: valid signature, not expired, not used before. */
  ackWithToken(token: string): { acked_by: string; alerts: AlertView[] } {
    const now = this.deps.clock.now();
    const claim = this.links.verify(token, now);
    if (typeof claim === 'string') throw new BadRequestError(claim);
    if (this.usedNonces[claim.nonce]) throw new ConflictError('this ack link was used already');
    this.assertWriter();
    this.usedNonces[claim.nonce] = claim.expires;
    void this.persist();
    const by = 'ack-link';
    return { acked_by: by, alerts: this.ack(claim.dedup_key, by) };
  }

  /**
   * A hub group (hub/start/listeners.ts): the group's ack-link key from the shared security store,
   * and the relay that hands a follower's ack links and PagerDuty webhooks to the leader.
   */
  joinGroup(group: { security?: SecurityStore; relay?: LeaderRelay }): void {
    // A hub with no channel sends no notification, so it signs no link: it adopts the group's key
    // if there is one but does not make it (a hub that only joins leaves nothing in etcd).
    if (group.security) shareAckLinkKey(this.links, group.security, this.deps.logger, { create: channelsOf(this.config).length > 0 });
    if (group.relay) this.relay = group.relay;
  }

  /** Whether alert state changes here; false on a hub group's follower (relay them: relayToLeader). */
  writes(): boolean {
    return !(this.store.shared && !this.term);
  }

  /** On a follower: refuses an ack link the leader would refuse, before it costs a relay (400). */
  precheckAckLink(token: string): void {
    const refused = this.links.precheck(token, this.deps.clock.now());
    if (refused) throw new BadRequestError(refused);
  }

  /** A follower passes a change that carries its own credential (ack link, signed webhook) to the leader. */
  async relayToLeader(path: string, headers: Record<string, string>, body: Buffer): Promise<RelayAnswer> {
    if (!this.relay) this.assertWriter();
    return this.relay!.forward(path, headers, body);
  }

  /** The PagerDuty channels' v3 webhook signing secrets (webhook_secret), by channel name. */
  pagerDutySecrets(): { channel: string; secret: string }[] {
    return channelsOf(this.config).flatMap((c) => (c.type === 'pagerduty' && c.webhook_secret ? [{ channel: c.name, secret: c.webhook_secret }] : []));
  }

  /**
   * A verified PagerDuty v3 webhook event (pagerduty-webhook/apply.ts says what each does), acting
   * only on groups paged through `channels`: the channels whose secret signed it (one PagerDuty
   * account's secret does not reach incidents of another service this hub pages).
   */
  pagerDuty(ev: PagerDutyEvent, channels: readonly string[]): { outcome: PagerDutyOutcome; alerts: AlertView[] } {
    this.assertWriter();
    const now = this.deps.clock.now();
    let alerts: AlertView[] = [];
    const through = (g: GroupState): boolean => g.channels_notified.some((r) => channels.includes(r.split(':')[0]));
    const outcome = applyPagerDutyEvent(ev, {
      groups: (key) => this.pager.groupsOf(key).filter((g) => g.dedup_key === key && through(g)).map((g) => ({ acked: !!g.acked_at, firing: g.alerts.filter((fp) => this.tracker.alerts.get(fp)?.state === 'firing').length })),
      seen: (id) => !!this.usedNonces[`pagerduty:${id}`],
      remember: (id) => void (this.usedNonces[`pagerduty:${id}`] = now + PAGERDUTY_EVENT_MEMORY_MS),
      now: () => now,
      ack: (key, by) => void (alerts = this.ack(key, by)),
      resolve: (key, by) => void (alerts = this.resolve(key, by)),
    });
    // The event id is remembered with the state (a redelivery to a later leader acts once too).
    if (outcome !== 'ignored' && outcome !== 'unknown_incident') void this.persist();
    return { outcome, alerts };
  }

  /**
   * The start of a term: a hub group's leader loads the region's state (retrying until it can,
   * or the term ends), then sends again what a stopped leader (or this hub before a restart) left
   * claimed and unsettled. Standalone, the state was loaded at construction.
   */
  private async takeOver(ctx: LeaderContext): Promise<void> {
    if (this.store.shared) {
      for (;;) {
        try {
          const snap = await this.store.load();
          try {
            this.restore(snap);
          } catch (err) {
            // Entries that parse but cannot be restored (a null alert, a group without a key) are damage too.
            throw new DamagedStateError(`an entry cannot be restored: ${(err as Error).message}`);
          }
          break;
        } catch (err) {
          if (err instanceof DamagedStateError) {
            // Paging beats bookkeeping: a damaged state is replaced, not retried forever.
            this.deps.logger.error({ err: err.message }, 'alerting: the region\'s alerting state is damaged; this leader starts from an empty one');
            this.restore(emptySnapshot());
            break;
          }
          this.deps.logger.warn({ err: (err as Error).message }, 'alerting: cannot load the region\'s alerting state yet; retrying');
          await sleep(1_000, ctx.signal);
          if (ctx.signal.aborted) return;
        }
      }
      await this.mergeSharedLog();
      this.deps.logger.info({ fencing_token: ctx.token, alerts: this.tracker.alerts.size, groups: this.pager.groups.size, unsettled: this.outbox.length }, 'alerting: took over the region\'s alerting state');
    }
    if (ctx.signal.aborted) return;
    this.adoptSpell();
    this.term = { token: ctx.token, signal: ctx.signal };
    if (!this.store.shared && this.resumed) return;
    this.resumed = true;
    const again = this.outbox.splice(0).map((entry): OutboxEntry => ({ ...entry, notification: { ...entry.notification, possible_duplicate: true } }));
    if (!this.store.shared) {
      for (const entry of again) this.send(entry);
      return;
    }
    // As every send of a group's leader: claimed under this term's fence first, so a leader deposed
    // meanwhile sends nothing.
    this.outbox.push(...again);
    this.track(this.persist().then((ok) => {
      if (ok) for (const entry of again) this.send(entry);
      else for (const entry of again) this.unclaim(entry);
    }));
  }

  /**
   * Continues what this hub paged alone before it led (headless.ts): the same groups, so the same
   * dedup_key (one PagerDuty incident), step and deadline, and the resolve goes to that incident.
   */
  private adoptSpell(): void {
    const spell = this.headless?.handOver(this.deps.clock.now());
    const adopted = (spell?.groups ?? []).filter((g) => !this.pager.groups.has(g.key));
    if (!adopted.length) return;
    const fps = new Set(adopted.flatMap((g) => [...g.alerts, ...(g.notified_alerts ?? [])]));
    for (const a of spell!.alerts) {
      if (!fps.has(a.fingerprint) || this.tracker.alerts.has(a.fingerprint)) continue;
      this.tracker.alerts.set(a.fingerprint, a);
      if (a.state === 'firing') this.event(a, 'alert_firing', a.annotations.summary, { source: 'headless' });
    }
    for (const g of adopted) this.pager.groups.set(g.key, g);
    this.deps.logger.info({ dedup_keys: adopted.map((g) => g.dedup_key) }, 'alerting: this leader continues the groups it paged without a leader');
  }

  protected async background(): Promise<void> {
    await this.follow();
    this.pageHeadless();
  }

  private pageHeadless(): void {
    const h = this.headless;
    if (!h) return;
    const now = this.deps.clock.now();
    if (this.term || this.deps.leaderless?.leader()) {
      if (h.leaderSeen(now)) this.deps.logger.info('alerting: the hub group has a leader again; this hub stops paging by itself');
      return;
    }
    if (!h.active) {
      if (!h.due(now)) return;
      this.deps.logger.warn({ channels: this.channelNames().filter((c) => this.deliverer.has(c)) }, 'alerting: no leader for longer than the lease TTL + 10 s: this hub evaluates the built-in rules itself and pages through dedup-key channels only');
    }
    const sends = h.evaluate(this.observations.context(now), this.silences);
    this.heartbeat?.beat();
    const ctx = { config: this.config, region: this.deps.region, links: this.links, now, ...(this.deps.externalUrl?.() ? { externalUrl: this.deps.externalUrl() } : {}) };
    for (const s of sends) this.track(this.deliverer.deliver(s.channel, notificationOf(s, ctx), { causes: this.traces.causesOf(s.alerts) }).catch(() => undefined));
  }

  private async follow(): Promise<void> {
    if (this.term || !this.store.shared) return;
    try {
      const snap = await this.store.load();
      if (!this.term) this.restore(snap);
      await this.mergeSharedLog();
    } catch (err) {
      this.deps.logger.debug({ err: (err as Error).message }, 'alerting: cannot read the region\'s alerting state');
    }
  }

  /** A hub group: the region's delivery log and history (shared-log.ts) join this hub's. */
  private async mergeSharedLog(): Promise<void> {
    const shared = await this.sharedLog?.read().catch((err: unknown) => {
      this.deps.logger.debug({ err: (err as Error).message }, 'alerting: cannot read the region\'s delivery log and history');
      return undefined;
    });
    if (!shared) return;
    this.deliveries.merge(shared.deliveries);
    this.history.mergeClosed(shared.history);
  }

}
