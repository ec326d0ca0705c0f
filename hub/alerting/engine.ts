// Alerting's engine: the rules over the fleet state -> alerts (for:, keep_firing_for) -> silences
// and inhibition -> routes, groups and escalation (Pager) -> the claim in the alerting state
// (store.ts) -> the channels (Deliverer). tick() is one evaluation. What a leader's term, a hub
// group and the requests that come back in (ack links, PagerDuty webhooks, their relay to the
// leader) add is in alerting.ts, the class the hub uses.
//
// Every deadline is a time in the state, and every send is claimed (written to the outbox in the
// state) before it goes out and settled after its outcome. While this hub does not lead a group,
// it writes nothing and sends nothing.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BadRequestError, NotFoundError } from '../../shared/errors/index.js';
import { FencedOffError } from '../leader/index.js';
import { AckLinks } from './ack-link.js';
import { AlertTraces } from './alert-trace.js';
import { channelsOf, type AlertingConfig, type ChannelConfig } from './config.js';
import type { AlertingDeps } from './deps.js';
import { Inhibitor, Pager, Router, type GroupState, type Send } from './dispatch/index.js';
import { HeadlessPaging, HEADLESS_GRACE_MS } from './headless.js';
import { Heartbeat } from './heartbeat/index.js';
import { AlertHistoryBook, type AlertHistory } from './history.js';
import { parseIntake } from './intake.js';
import type { Alert } from './model.js';
import { notificationOf, testNotification } from './notification.js';
import { buildNotifier, Deliverer, DeliveryLog, TicketBook, type DeliveryQuery, type DeliveryStats, type Notifier } from './notify/index.js';
import { Observations } from './observations.js';
import { ContactCache, type ContactLookup } from './contacts/index.js';
import { AlertTracker, buildRules, type Rule } from './rules/index.js';
import { SHARED_DELIVERIES, SharedAlertingLog } from './shared-log.js';
import { Silences, type Silence, type SilenceChange } from './silences/index.js';
import { AlertingStore, SharedAlertingStore, StateWriter, type AlertingSnapshot, type AlertingStateStore, type OutboxEntry } from './store.js';
import { alertView, scheduleViews, type AlertView, type ScheduleView } from './views.js';

/** How long an evaluation waits for a directory user's first read before paging without it. */
const CONTACTS_WAIT_MS = 2_000;

export abstract class AlertingEngine {
  protected readonly rules: Rule[];
  protected readonly tracker: AlertTracker;
  protected readonly pager: Pager;
  protected readonly silences: Silences;
  protected readonly inhibitor: Inhibitor;
  protected readonly deliverer: Deliverer;
  protected readonly deliveries: DeliveryLog;
  protected readonly store: AlertingStateStore;
  protected readonly links: AckLinks;
  protected readonly usedNonces: Record<string, number>;
  protected readonly outbox: OutboxEntry[];
  protected readonly tickets: TicketBook;
  protected readonly history: AlertHistoryBook;
  protected readonly observations: Observations;
  protected readonly notifiers: Notifier[] = [];
  protected readonly inflight = new Set<Promise<unknown>>();
  protected inhibited = new Map<string, string>();
  /** A hub group: this hub's term as leader (the token its writes carry); none while it follows. */
  protected term?: { token: number; signal: AbortSignal };
  protected readonly writer: StateWriter;
  protected resumed = false;
  protected following?: NodeJS.Timeout;
  protected readonly headless?: HeadlessPaging;
  protected readonly heartbeat?: Heartbeat;
  protected readonly traces: AlertTraces;
  protected readonly sharedLog?: SharedAlertingLog;
  protected contacts?: ContactCache;

  constructor(protected readonly config: AlertingConfig, protected readonly deps: AlertingDeps) {
    const dir = deps.dataDir ? join(deps.dataDir, 'alerting') : undefined;
    const file = new AlertingStore(deps.shared ? undefined : dir ? join(dir, 'state.json') : undefined);
    this.store = deps.shared ? new SharedAlertingStore(deps.shared) : file;
    this.writer = new StateWriter(this.store, () => this.snapshot(), () => this.term?.token, deps.logger);
    // A hub group loads the region's state when it starts leading (takeOver).
    const snap = file.loadSync();
    this.rules = buildRules(config);
    this.tracker = new AlertTracker(snap.alerts, config.keep_firing_for);
    this.pager = new Pager(config, new Router(config, deps.tenantRoutes), snap.groups);
    this.silences = new Silences(snap.silences.filter((s) => s.source === 'api'), (s, change) => this.silenceEvent(s, change), deps.clock.now());
    for (const s of config.silences) this.silences.add({ matchers: s.matchers, ...(s.start ? { starts_at: s.start } : {}), ends_at: s.end, created_by: s.creator, comment: s.comment, source: 'config' }, deps.clock.now());
    this.inhibitor = new Inhibitor(config);
    this.usedNonces = snap.used_nonces;
    this.outbox = snap.outbox;
    this.tickets = new TicketBook(snap.tickets, () => void this.persist());
    this.history = new AlertHistoryBook(snap.timelines, dir ? join(dir, 'history.json') : undefined, (err) => deps.logger.error({ err: err.message }, 'alerting: could not write the alert history'));
    this.deliveries = new DeliveryLog(dir ? join(dir, 'deliveries.log') : undefined);
    this.observations = new Observations(config, deps);
    if (deps.sharedLog) this.sharedLog = new SharedAlertingLog(deps.sharedLog, deps.logger);
    const channels = new Map<string, { config: ChannelConfig; notifier: Notifier }>();
    for (const c of channelsOf(config)) {
      const notifier = deps.notifiers ? deps.notifiers(c) : buildNotifier(c, { tickets: this.tickets, ...(deps.tlsPolicy ? { tls: deps.tlsPolicy } : {}) });
      this.notifiers.push(notifier);
      channels.set(c.name, { config: c, notifier });
    }
    this.traces = new AlertTraces(deps.tracing, deps.applyCause);
    this.deliverer = new Deliverer(channels, { log: this.deliveries, clock: deps.clock, ...(deps.tracing ? { tracing: deps.tracing } : {}), ...(deps.sleep ? { sleep: deps.sleep } : {}), ...(deps.random ? { random: deps.random } : {}) });
    // Without a data directory (tests) the key lives as long as the process.
    this.links = dir ? AckLinks.fromFile(join(dir, 'ack-link.key')) : new AckLinks(randomBytes(32));
    if (config.heartbeat) this.heartbeat = new Heartbeat(config.heartbeat, { clock: deps.clock, logger: deps.logger });
    if (deps.leaderless) {
      const dedup = new Set(channelsOf(config).filter((c) => c.type === 'pagerduty').map((c) => c.name));
      this.headless = new HeadlessPaging({ config, rules: this.rules, dedupChannels: dedup, known: () => this.pager.groups, ...(deps.tenantRoutes ? { tenantRoutes: deps.tenantRoutes } : {}) }, deps.leaderless.afterMs + HEADLESS_GRACE_MS, deps.clock.now());
    }
    // Not leading: a follower reads the region's state every evaluation (any hub lists the same
    // alerts), and pages by itself when the group has had no leader for too long (headless.ts).
    if (this.store.shared || this.headless) {
      // Paging without a leader runs on every hub at once when etcd is gone: an error there is logged, never a crash.
      this.following = setInterval(() => void this.background().catch((err: unknown) => deps.logger.error({ err: (err as Error).message }, 'alerting: evaluation without a leader failed')), config.evaluation_interval).unref();
    }
  }

  /** One evaluation at the clock's now: rules, transitions (recorded as events), paging. */
  async tick(): Promise<void> {
    const now = this.deps.clock.now();
    const { fired, resolved } = this.tracker.update(this.rules, this.observations.context(now));
    this.traces.seen(this.tracker.alerts.values(), new Date(now).toISOString());
    this.traces.fired(fired);
    this.traces.prune(this.tracker.alerts);
    for (const a of fired) this.event(a, 'alert_firing', a.annotations.summary);
    for (const a of resolved) this.event(a, 'alert_resolved', `resolved: ${a.annotations.summary}`);
    this.silences.prune(now);
    // A directory user read for the first time: their contacts, if the directory answers soon.
    await this.contacts?.ready(CONTACTS_WAIT_MS);
    // Each evaluation is written (alerts pending since, last seen), paging or not.
    if (!this.page(now)) void this.persist();
  }

  /**
   * alerting.directory_contacts: where the contacts of users not in alerting.users are read
   * (sso.ldap's service account). Every such user named in a schedule or step is read now, and
   * again each refresh.
   */
  readContactsFrom(lookup: ContactLookup): void {
    if (!this.config.directory_contacts || this.contacts) return;
    this.contacts = new ContactCache(this.config.directory_contacts, lookup, this.deps.logger);
    this.pager.recipients.contacts = this.contacts;
    const named = new Set<string>();
    for (const s of Object.values(this.config.schedules)) for (const u of [...s.users, ...s.overrides.map((o) => o.user)]) named.add(u);
    for (const p of Object.values(this.config.policies)) for (const step of p.steps ?? []) for (const u of step.users) named.add(u);
    this.contacts.start([...named].filter((u) => !Object.hasOwn(this.config.users, u)));
  }

  /** Failed reads of on-call contacts from the directory (sfleet_alerting_directory_failures_total); undefined without directory_contacts. */
  get directoryFailures(): number | undefined {
    return this.contacts?.failures;
  }

  /** POST /api/v2/alerts: Alertmanager-compatible alerts join the rules' alerts (routes, silences, escalation). */
  receive(body: unknown, by: string): { accepted: number } {
    const alerts = parseIntake(body);
    this.assertWriter();
    const now = this.deps.clock.now();
    for (const input of alerts) {
      const { fired, resolved } = this.tracker.upsertIntake(input, now, this.config.resolve_timeout);
      this.traces.fired(fired);
      for (const a of fired) this.event(a, 'alert_firing', a.annotations.summary, { source: 'intake', posted_by: by });
      for (const a of resolved) this.event(a, 'alert_resolved', `resolved: ${a.annotations.summary}`, { source: 'intake', posted_by: by });
    }
    if (!this.page(now)) void this.persist();
    return { accepted: alerts.length };
  }

  /** A failed login from `source` (the audit log's auth:login records, observed on this hub). */
  loginFailed(source: string): void {
    this.observations.loginFailed(source);
  }

  /**
   * A hub group: login_failures also reads the group's counts (the login limiter's shared
   * counters: every hub's failed logins, the leader's rule sees them all).
   */
  countLoginFailuresFrom(source: (now: number, windowMs: number) => ReadonlyMap<string, number>): void {
    this.observations.sharedLoginFailures = source;
  }

  /** Settles when every claim and delivery started so far has its final outcome. */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  list(filter: { state?: string; cluster?: string; severity?: string } = {}): AlertView[] {
    const now = this.deps.clock.now();
    return [...this.tracker.alerts.values()]
      .filter((a) => (!filter.state || a.state === filter.state) && (!filter.cluster || a.labels.cluster === filter.cluster) && (!filter.severity || a.labels.severity === filter.severity))
      .map((a) => this.view(a, now));
  }

  /** Acknowledges the groups of an alert (fingerprint) or a group (group or dedup key). */
  ack(id: string, by: string): AlertView[] {
    const groups = this.pager.groupsOf(id);
    if (!groups.length) throw new NotFoundError(`no paging alert or group "${id}" (resolved, not yet notified, or unknown)`);
    this.assertWriter();
    const now = this.deps.clock.now();
    const sends: Send[] = [];
    for (const g of groups) sends.push(...this.pager.ack(g.key, by, now, this.tracker.alerts));
    for (const g of groups) for (const fp of g.alerts) {
      const a = this.tracker.alerts.get(fp);
      if (a) this.event(a, 'alert_acknowledged', `acknowledged by ${by}: ${a.annotations.summary}`, { acked_by: by });
    }
    this.dispatch(sends);
    return this.affected(groups);
  }

  /** Resolves an alert (fingerprint) or every alert of a group by hand: resolve notifications go out. */
  resolve(id: string, by: string): AlertView[] {
    this.assertWriter();
    const now = this.deps.clock.now();
    const fps = this.tracker.alerts.has(id) ? [id] : this.pager.groupsOf(id).flatMap((g) => g.alerts);
    const done = fps.map((fp) => this.tracker.resolveByHand(fp, by, now)).filter((a): a is Alert => !!a);
    if (!done.length) throw new NotFoundError(`no firing alert or group "${id}"`);
    for (const a of done) this.event(a, 'alert_resolved', `resolved by ${by}: ${a.annotations.summary}`, { resolved_by: by });
    if (!this.page(now)) void this.persist();
    return done.map((a) => this.view(a, now));
  }

  addSilence(input: { matchers: string[]; starts_at?: string; ends_at: string; comment: string }, by: string): Silence {
    this.assertWriter();
    let s: Silence;
    try {
      s = this.silences.add({ ...input, created_by: by }, this.deps.clock.now());
    } catch (err) {
      throw new BadRequestError((err as Error).message);
    }
    void this.persist();
    return s;
  }

  listSilences(): readonly Silence[] {
    return this.silences.all();
  }

  expireSilence(id: string): Silence {
    this.assertWriter();
    const s = this.silences.expire(id, this.deps.clock.now());
    if (!s) throw new NotFoundError(`no silence "${id}" that the API may expire (config silences end in config)`);
    void this.persist();
    return s;
  }

  /** Resolved alerts with their timelines (fired, notified, acknowledged, resolved), newest first. */
  listHistory(q: { cluster?: string; limit?: number }): AlertHistory[] {
    return this.history.list(q);
  }

  /** Notifications and attempts per channel, and how long they took (sfleet_notification*). */
  get deliveryStats(): DeliveryStats {
    return this.deliverer.stats;
  }

  listDeliveries(q: DeliveryQuery): ReturnType<DeliveryLog['list']> {
    return this.deliveries.list(q);
  }

  /** Every schedule at the clock's now, with the next hand-offs. */
  schedules(): ScheduleView[] {
    return scheduleViews(this.config, this.pager.recipients, this.deps.clock.now());
  }

  channelNames(): string[] {
    return channelsOf(this.config).map((c) => c.name);
  }

  /** Sends a test notification through one channel now; answers its final outcome. */
  async testChannel(name: string, by: string): Promise<{ outcome: string; deliveries: ReturnType<DeliveryLog['list']> }> {
    if (!this.deliverer.has(name)) throw new NotFoundError(`no channel "${name}"; channels: ${this.channelNames().join(', ') || 'none'}`);
    const n = testNotification(this.deps.clock.now(), this.deps.region, by);
    const outcome = await this.deliverer.deliver(name, n);
    return { outcome, deliveries: this.deliveries.list({ group_key: n.group_key }) };
  }

  async close(): Promise<void> {
    clearInterval(this.following);
    this.contacts?.stop();
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 2_000).unref())]);
    for (const n of this.notifiers) await n.close?.().catch(() => undefined);
  }

  protected restore(snap: AlertingSnapshot): void {
    this.tracker.alerts.clear();
    for (const a of snap.alerts) this.tracker.alerts.set(a.fingerprint, a);
    this.pager.groups.clear();
    for (const g of snap.groups) this.pager.groups.set(g.key, g);
    this.silences.replaceApi(snap.silences);
    for (const k of Object.keys(this.usedNonces)) delete this.usedNonces[k];
    Object.assign(this.usedNonces, snap.used_nonces);
    this.outbox.splice(0, this.outbox.length, ...snap.outbox);
    this.tickets.replace(snap.tickets);
    this.history.replaceOpen(snap.timelines);
  }

  /** A hub group's follower changes nothing: the leader holds the state (and would overwrite the change). */
  protected assertWriter(): void {
    if (this.store.shared && !this.term) throw new FencedOffError('this hub does not lead the region: alerts, acknowledgements and silences change on the leader (GET /api/v1/members names it)');
  }

  /** Returns whether anything was sent (then the state was written with the claim). */
  protected page(now: number): boolean {
    const firing = [...this.tracker.alerts.values()].filter((a) => a.state === 'firing');
    this.inhibited = this.inhibitor.inhibited(firing);
    const active = firing.filter((a) => !this.inhibited.has(a.fingerprint) && !this.silences.silencing(a.labels, now));
    const unmuted = new Set(active.map((a) => a.fingerprint));
    const muted = new Set(firing.map((a) => a.fingerprint).filter((fp) => !unmuted.has(fp)));
    const sends = this.pager.tick(now, active, this.tracker.alerts, muted);
    this.dispatch(sends);
    return sends.length > 0;
  }

  /** Claims the sends in the outbox (durable), then hands them to the channels. */
  protected dispatch(all: Send[]): void {
    if (!all.length) return;
    const now = this.deps.clock.now();
    const ctx = { config: this.config, region: this.deps.region, links: this.links, now, ...(this.deps.externalUrl?.() ? { externalUrl: this.deps.externalUrl() } : {}) };
    // A directory user without the address a channel needs: a rejected delivery naming them, nothing sent.
    for (const s of all.filter((x) => x.skip)) {
      const n = notificationOf(s, ctx);
      this.deliverer.skip(s.channel, n, s.skip!);
      this.history.notified(n.alerts.map((a) => a.fingerprint), { at: new Date(now).toISOString(), channel: s.channel, status: n.status, step: n.step, outcome: 'rejected' });
    }
    const sends = all.filter((x) => !x.skip);
    if (!sends.length) {
      void this.persist();
      return;
    }
    const entries = sends.map((s): OutboxEntry => {
      const causes = this.traces.causesOf(s.alerts);
      return { channel: s.channel, notification: notificationOf(s, ctx), ...(causes.length ? { causes } : {}) };
    });
    this.outbox.push(...entries);
    const claimed = this.persist();
    if (!this.store.shared) {
      for (const e of entries) this.send(e);
      return;
    }
    const p = claimed.then((ok) => {
      if (ok) for (const e of entries) this.send(e);
      else for (const e of entries) this.unclaim(e);
    });
    this.track(p);
  }

  protected send(entry: OutboxEntry): void {
    const { channel, notification: n } = entry;
    if (!this.outbox.includes(entry)) this.outbox.push(entry);
    const p = this.deliverer
      .deliver(channel, n, entry.causes ? { causes: entry.causes } : {})
      .catch(() => 'failed' as const)
      .then((outcome) => {
        this.deps.afterSend?.(channel, outcome);
        this.history.notified(n.alerts.map((a) => a.fingerprint), { at: new Date(this.deps.clock.now()).toISOString(), channel, status: n.status, step: n.step, outcome });
      })
      .finally(() => {
        this.unclaim(entry);
        void this.persist();
      });
    this.track(p);
  }

  protected unclaim(entry: OutboxEntry): void {
    const i = this.outbox.indexOf(entry);
    if (i >= 0) this.outbox.splice(i, 1);
  }

  protected track(p: Promise<unknown>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
  }

  /** A silence created or ended: a fleet-wide event (no cluster), so the alerts page lists again live. */
  protected silenceEvent(s: Silence, change: SilenceChange): void {
    const at = new Date(this.deps.clock.now()).toISOString();
    const message = change === 'created' ? `silence ${s.id} created by ${s.created_by} until ${s.ends_at}` : `silence ${s.id} ended`;
    try {
      this.deps.events?.record('', [{ id: `silence_${change}:${s.id}`, cluster: '', type: `silence_${change}`, severity: 'info', message, occurred_at: at, attributes: { silence_id: s.id, ends_at: s.ends_at } }]);
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'alerting: could not record a silence event');
    }
  }

  protected event(a: Alert, type: string, message: string, extra: Record<string, string> = {}): void {
    const at = new Date(this.deps.clock.now()).toISOString();
    if (type === 'alert_firing') this.history.fired(a, at);
    else if (type === 'alert_acknowledged') this.history.acknowledged(a.fingerprint, extra.acked_by ?? '', at);
    else if (type === 'alert_resolved') this.history.resolved(a.fingerprint, extra.resolved_by, a.ends_at ?? at);
    try {
      this.deps.events?.record(a.labels.cluster ?? '', [
        { id: `${type}:${a.fingerprint}:${a.starts_at ?? a.active_since}:${extra.acked_by ?? ''}`, cluster: a.labels.cluster ?? '', type, severity: a.labels.severity === 'critical' ? 'critical' : a.labels.severity === 'warning' ? 'warning' : 'info', message, occurred_at: at, attributes: { ...a.labels, fingerprint: a.fingerprint, ...extra } },
      ]);
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'alerting: could not record an alert event');
    }
  }

  protected snapshot(): AlertingSnapshot {
    const now = this.deps.clock.now();
    for (const [n, exp] of Object.entries(this.usedNonces)) if (exp <= now) delete this.usedNonces[n];
    return { version: 1, alerts: [...this.tracker.alerts.values()], groups: [...this.pager.groups.values()], silences: this.silences.all().filter((s) => s.source === 'api'), used_nonces: this.usedNonces, outbox: this.outbox, tickets: this.tickets.toJSON(), timelines: this.history.openTimelines() };
  }

  /** Writes the state (store.ts StateWriter); resolves whether the sends claimed in it may go out. */
  protected persist(): Promise<boolean> {
    // The leader shares what it sent and resolved with the group, when that changed.
    if (this.term && this.sharedLog) this.sharedLog.write(this.term.token, `${this.deliveries.version}:${this.history.version}`, () => ({ deliveries: this.deliveries.recent(SHARED_DELIVERIES), history: this.history.closedList() }));
    return this.writer.write();
  }

  protected affected(groups: GroupState[]): AlertView[] {
    const now = this.deps.clock.now();
    const fps = new Set(groups.flatMap((g) => g.alerts));
    return [...fps].map((fp) => this.tracker.alerts.get(fp)).filter((a): a is Alert => !!a).map((a) => this.view(a, now));
  }

  protected view(a: Alert, now: number): AlertView {
    return alertView(a, this.pager.groups.values(), { silenced_by: this.silences.silencing(a.labels, now)?.id ?? null, inhibited_by: this.inhibited.get(a.fingerprint) ?? null });
  }

  /** Every evaluation_interval while not leading a hub group: follow the region's state, page alone when leaderless. */
  protected abstract background(): Promise<void>;
}
