// Alerting, wired: the rules over the fleet state -> alerts (for:, keep_firing_for) -> silences
// and inhibition -> routes, groups and escalation (Pager) -> the outbox in the data directory
// -> the channels (Deliverer). tick() is one evaluation; the leader runs it every
// evaluation_interval (singleton()). Alert changes are recorded in the event log, so they reach
// the watch stream like controller events.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Clock } from '../../shared/clock/index.js';
import type { Tracing } from '../../shared/tracing/index.js';
import { BadRequestError, ConflictError, NotFoundError } from '../../shared/errors/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { EventLog } from '../events/index.js';
import type { FleetState } from '../fleet/index.js';
import { periodic, type Singleton } from '../leader/index.js';
import { AckLinks } from './ack-link.js';
import { AlertHistoryBook, type AlertHistory } from './history.js';
import { parseIntake } from './intake.js';
import { channelsOf, type AlertingConfig, type ChannelConfig } from './config.js';
import { Inhibitor, Pager, Router, type GroupState, type Send, type TenantRoutes } from './dispatch/index.js';
import type { Alert } from './model.js';
import { buildNotifier, Deliverer, DeliveryLog, renderTemplate, TicketBook, type DeliveryQuery, type Notification, type Notifier } from './notify/index.js';
import { AlertTracker, BUILTIN_RULES, buildRules, clusterFacts, CounterWindow, EventWindow, NO_HUB_FACTS, type AgentFacts, type HubFacts, type Rule, type RuleContext } from './rules/index.js';
import { Silences, type Silence } from './silences/index.js';
import { AlertingStore, type OutboxEntry } from './store.js';

/** Peer regions are asked at most this often, whatever evaluation_interval is. */
const PEER_PROBE_EVERY_MS = 30_000;

export interface AlertingDeps {
  state: FleetState;
  logger: Logger;
  clock: Clock;
  region: string;
  /** Persist under <dataDir>/alerting/; omit for memory only (tests). */
  dataDir?: string;
  events?: EventLog;
  /** Clustered: clusters whose replicated state is stale. */
  stale?: () => ReadonlyMap<string, string>;
  /** hub.yaml's `clusters:` map: the clusters the hub should hear from (cluster_expected_missing). */
  expected?: () => readonly string[];
  /** The hub's certificates and when they expire. */
  certificates?: () => { name: string; notAfter: number }[];
  /** Where ack links point (alerting.external_url wins). */
  externalUrl?: () => string | undefined;
  /** A span per notification attempt (channel, outcome, retry); absent or off: none. */
  tracing?: Tracing;
  /** Tests: retries and rate limits wait on this instead of timers. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** The agents heard on this hub with their last heartbeat report (hub/ingest/agent-reports.ts). */
  agents?: () => readonly HeardAgentLike[];
  /** etcd, Redis and audit-log state now (peer regions come from probePeers). */
  hub?: () => Omit<HubFacts, 'peersUnreachable'>;
  /** Asks every peer region once; answers those that did not answer, with why. */
  probePeers?: () => Promise<ReadonlyMap<string, string>>;
  /** Tests: channels in place of those the config builds. */
  notifiers?: (c: ChannelConfig) => Notifier;
  /** Tenants' own routes, tried first for their alerts (multi_tenancy.tenants.<t>.alerts). */
  tenantRoutes?: TenantRoutes;
}

/** An agent as hub/ingest/agent-reports.ts lists it. */
export interface HeardAgentLike {
  cluster: string;
  agent: string;
  version?: string;
  report?: { last_poll_at: string; poll_failures_total: number; slurm_read_errors_total: number; spool_deltas: number; polling: boolean } | undefined;
}

export interface AlertGroupView {
  group_key: string;
  dedup_key: string;
  policy: string | null;
  step: number;
  next_at: string | null;
  acked_by: string | null;
  acked_at: string | null;
  channels_notified: string[];
}

export interface AlertView extends Alert {
  silenced_by: string | null;
  inhibited_by: string | null;
  groups: AlertGroupView[];
}

/** A schedule as GET /api/v1/schedules shows it: who is on call now, and the next hand-offs (names only, no contacts). */
export interface ScheduleView {
  name: string;
  time_zone: string;
  handoff: { day: string; time: string };
  users: string[];
  on_call: string;
  /** An override puts on_call there until this time. */
  override_until: string | null;
  next_handoffs: { at: string; from: string; to: string }[];
}

export class Alerting {
  private readonly rules: Rule[];
  private readonly tracker: AlertTracker;
  private readonly pager: Pager;
  private readonly silences: Silences;
  private readonly inhibitor: Inhibitor;
  private readonly deliverer: Deliverer;
  private readonly deliveries: DeliveryLog;
  private readonly store: AlertingStore;
  private readonly links: AckLinks;
  private readonly usedNonces: Record<string, number>;
  private readonly outbox: OutboxEntry[];
  private readonly tickets: TicketBook;
  private readonly history: AlertHistoryBook;
  private readonly notifiers: Notifier[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private inhibited = new Map<string, string>();
  private readonly agentErrors = new CounterWindow();
  private readonly loginFailures = new EventWindow();
  private peersUnreachable: ReadonlyMap<string, string> = new Map();
  private probing = false;
  private probedAt = -Infinity;

  constructor(private readonly config: AlertingConfig, private readonly deps: AlertingDeps) {
    const dir = deps.dataDir ? join(deps.dataDir, 'alerting') : undefined;
    this.store = new AlertingStore(dir ? join(dir, 'state.json') : undefined);
    const snap = this.store.load();
    this.rules = buildRules(config);
    this.tracker = new AlertTracker(snap.alerts, config.keep_firing_for);
    this.pager = new Pager(config, new Router(config, deps.tenantRoutes), snap.groups);
    this.silences = new Silences(snap.silences.filter((s) => s.source === 'api'));
    for (const s of config.silences) this.silences.add({ matchers: s.matchers, ...(s.start ? { starts_at: s.start } : {}), ends_at: s.end, created_by: s.creator, comment: s.comment, source: 'config' }, deps.clock.now());
    this.inhibitor = new Inhibitor(config);
    this.usedNonces = snap.used_nonces;
    this.outbox = snap.outbox;
    this.tickets = new TicketBook(snap.tickets, () => this.persist());
    this.history = new AlertHistoryBook(snap.timelines, dir ? join(dir, 'history.json') : undefined, (err) => deps.logger.error({ err: err.message }, 'alerting: could not write the alert history'));
    this.deliveries = new DeliveryLog(dir ? join(dir, 'deliveries.log') : undefined);
    const channels = new Map<string, { config: ChannelConfig; notifier: Notifier }>();
    for (const c of channelsOf(config)) {
      const notifier = deps.notifiers ? deps.notifiers(c) : buildNotifier(c, { tickets: this.tickets });
      this.notifiers.push(notifier);
      channels.set(c.name, { config: c, notifier });
    }
    this.deliverer = new Deliverer(channels, { log: this.deliveries, clock: deps.clock, ...(deps.tracing ? { tracing: deps.tracing } : {}), ...(deps.sleep ? { sleep: deps.sleep } : {}), ...(deps.random ? { random: deps.random } : {}) });
    // Without a data directory (tests) the key lives as long as the process.
    this.links = dir ? AckLinks.fromFile(join(dir, 'ack-link.key')) : new AckLinks(randomBytes(32));
  }

  /** Leader-only: evaluate and page every evaluation_interval; first, what a stopped leader left in the outbox. */
  singleton(): Singleton {
    let resumed = false;
    return periodic('alerting', this.config.evaluation_interval, async () => {
      if (!resumed) {
        resumed = true;
        for (const entry of this.outbox.splice(0)) this.send(entry.channel, { ...entry.notification, possible_duplicate: true });
      }
      try {
        await this.tick();
      } catch (err) {
        this.deps.logger.error({ err: (err as Error).message }, 'alerting: evaluation failed');
      }
    });
  }

  /** One evaluation at the clock's now: rules, transitions (recorded as events), paging. */
  async tick(): Promise<void> {
    const now = this.deps.clock.now();
    const window = this.tuned('job_failure_burst').window;
    this.probe();
    const ctx: RuleContext = {
      now,
      clusters: [...this.deps.state.clusters.values()].map((r) => clusterFacts(r, now, window)),
      expected: this.deps.expected?.() ?? [],
      stale: this.deps.stale?.() ?? new Map(),
      certificates: this.deps.certificates?.() ?? [],
      controllers: [...this.deps.state.clusters.values()].flatMap((r) => [...r.objects.controller.values()].map((c) => ({ cluster: r.name, hostname: c.hostname, responding: c.responding, server_thread_count: c.server_thread_count, agent_queue_size: c.agent_queue_size }))),
      agents: this.agentFacts(now),
      hub: { ...(this.deps.hub?.() ?? NO_HUB_FACTS), peersUnreachable: this.peersUnreachable },
      loginFailures: this.loginFailures.counts(now, this.tuned('login_failures').window),
    };
    const { fired, resolved } = this.tracker.update(this.rules, ctx);
    for (const a of fired) this.event(a, 'alert_firing', a.annotations.summary);
    for (const a of resolved) this.event(a, 'alert_resolved', `resolved: ${a.annotations.summary}`);
    this.silences.prune(now);
    this.page(now);
  }

  /** POST /api/v2/alerts: Alertmanager-compatible alerts join the rules' alerts (routes, silences, escalation). */
  receive(body: unknown, by: string): { accepted: number } {
    const alerts = parseIntake(body);
    const now = this.deps.clock.now();
    for (const input of alerts) {
      const { fired, resolved } = this.tracker.upsertIntake(input, now, this.config.resolve_timeout);
      for (const a of fired) this.event(a, 'alert_firing', a.annotations.summary, { source: 'intake', posted_by: by });
      for (const a of resolved) this.event(a, 'alert_resolved', `resolved: ${a.annotations.summary}`, { source: 'intake', posted_by: by });
    }
    this.page(now);
    return { accepted: alerts.length };
  }

  /** A failed login from `source` (the audit log's auth:login records, observed on this hub). */
  loginFailed(source: string): void {
    this.loginFailures.add(source, this.deps.clock.now());
  }

  /** Settles when every delivery started so far has its final outcome. */
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

  /** An ack link from a notification: valid signature, not expired, not used before. */
  ackWithToken(token: string): { acked_by: string; alerts: AlertView[] } {
    const now = this.deps.clock.now();
    const claim = this.links.verify(token, now);
    if (typeof claim === 'string') throw new BadRequestError(claim);
    if (this.usedNonces[claim.nonce]) throw new ConflictError('this ack link was used already');
    this.usedNonces[claim.nonce] = claim.expires;
    this.persist();
    const by = 'ack-link';
    return { acked_by: by, alerts: this.ack(claim.dedup_key, by) };
  }

  /** Resolves an alert (fingerprint) or every alert of a group by hand: resolve notifications go out. */
  resolve(id: string, by: string): AlertView[] {
    const now = this.deps.clock.now();
    const fps = this.tracker.alerts.has(id) ? [id] : this.pager.groupsOf(id).flatMap((g) => g.alerts);
    const done = fps.map((fp) => this.tracker.resolveByHand(fp, by, now)).filter((a): a is Alert => !!a);
    if (!done.length) throw new NotFoundError(`no firing alert or group "${id}"`);
    for (const a of done) this.event(a, 'alert_resolved', `resolved by ${by}: ${a.annotations.summary}`, { resolved_by: by });
    this.page(now);
    return done.map((a) => this.view(a, now));
  }

  addSilence(input: { matchers: string[]; starts_at?: string; ends_at: string; comment: string }, by: string): Silence {
    let s: Silence;
    try {
      s = this.silences.add({ ...input, created_by: by }, this.deps.clock.now());
    } catch (err) {
      throw new BadRequestError((err as Error).message);
    }
    this.persist();
    return s;
  }

  listSilences(): readonly Silence[] {
    return this.silences.all();
  }

  expireSilence(id: string): Silence {
    const s = this.silences.expire(id, this.deps.clock.now());
    if (!s) throw new NotFoundError(`no silence "${id}" that the API may expire (config silences end in config)`);
    this.persist();
    return s;
  }

  /** Resolved alerts with their timelines (fired, notified, acknowledged, resolved), newest first. */
  listHistory(q: { cluster?: string; limit?: number }): AlertHistory[] {
    return this.history.list(q);
  }

  listDeliveries(q: DeliveryQuery): ReturnType<DeliveryLog['list']> {
    return this.deliveries.list(q);
  }

  /** Every schedule at the clock's now; the hand-offs are the rotation's (overrides are shown as override_until). */
  schedules(): ScheduleView[] {
    const now = this.deps.clock.now();
    return [...this.pager.recipients.schedules].map(([name, s]) => {
      const c = this.config.schedules[name];
      const override = s.rotation.overrides.find((o) => o.start <= now && now < o.end);
      return {
        name,
        time_zone: c.time_zone,
        handoff: c.handoff,
        users: c.users,
        on_call: s.onCall(now),
        override_until: override ? new Date(override.end).toISOString() : null,
        next_handoffs: s.nextHandoffs(now, 4).map((h) => ({ at: new Date(h.at).toISOString(), from: h.from, to: h.to })),
      };
    });
  }

  channelNames(): string[] {
    return channelsOf(this.config).map((c) => c.name);
  }

  /** Sends a test notification through one channel now; answers its final outcome. */
  async testChannel(name: string, by: string): Promise<{ outcome: string; deliveries: ReturnType<DeliveryLog['list']> }> {
    if (!this.deliverer.has(name)) throw new NotFoundError(`no channel "${name}"; channels: ${this.channelNames().join(', ') || 'none'}`);
    const now = this.deps.clock.now();
    const id = `test-${now}-${Math.random().toString(16).slice(2, 8)}`;
    const labels = { alertname: 'sfleet_test', severity: 'info', cluster: '' };
    const n: Notification = {
      id, status: 'firing', group_key: id, dedup_key: id, severity: 'info', region: this.deps.region, title: `Test notification from sfleet (${by})`, text: 'This is a test of the channel; nothing is wrong.', summary: 'test notification', step: 1,
      group_labels: labels, alerts: [{ fingerprint: id, status: 'firing', labels, summary: 'test notification', starts_at: new Date(now).toISOString() }],
    };
    const outcome = await this.deliverer.deliver(name, n);
    return { outcome, deliveries: this.deliveries.list({ group_key: id }) };
  }

  async close(): Promise<void> {
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 2_000).unref())]);
    for (const n of this.notifiers) await n.close?.().catch(() => undefined);
  }

  private tuned(rule: keyof typeof BUILTIN_RULES): { window: number } {
    return { window: this.config.rules[rule]?.window ?? BUILTIN_RULES[rule].defaults.window };
  }

  private agentFacts(now: number): AgentFacts[] {
    const window = this.tuned('slurm_poll_errors').window;
    const seen = new Set<string>();
    const out = (this.deps.agents?.() ?? []).map((a) => {
      const key = `${a.cluster}\u0000${a.agent}`;
      seen.add(key);
      const r = a.report;
      const lastPoll = r?.last_poll_at ? Date.parse(r.last_poll_at) : NaN;
      return {
        cluster: a.cluster,
        agent: a.agent,
        version: a.version ?? '',
        polling: r?.polling ?? false,
        ...(Number.isFinite(lastPoll) ? { lastPollMs: lastPoll } : {}),
        spoolDeltas: r?.spool_deltas ?? 0,
        errorsInWindow: r ? this.agentErrors.increase(key, Number(r.poll_failures_total) + Number(r.slurm_read_errors_total), now, window) : 0,
      };
    });
    this.agentErrors.keep(seen);
    return out;
  }

  /** One probe of the peer regions at a time; the rules read the last answer. */
  private probe(): void {
    const now = this.deps.clock.now();
    if (!this.deps.probePeers || this.probing || now - this.probedAt < PEER_PROBE_EVERY_MS) return;
    this.probing = true;
    this.probedAt = now;
    this.deps
      .probePeers()
      .then((down) => (this.peersUnreachable = down))
      .catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'alerting: peer region probe failed'))
      .finally(() => (this.probing = false));
  }

  private page(now: number): void {
    const firing = [...this.tracker.alerts.values()].filter((a) => a.state === 'firing');
    this.inhibited = this.inhibitor.inhibited(firing);
    const active = firing.filter((a) => !this.inhibited.has(a.fingerprint) && !this.silences.silencing(a.labels, now));
    this.dispatch(this.pager.tick(now, active, this.tracker.alerts));
  }

  /** Claims the sends in the outbox (durable), then hands them to the channels. */
  private dispatch(sends: Send[]): void {
    const entries = sends.map((s) => ({ channel: s.channel, notification: this.notification(s) }));
    this.outbox.push(...entries);
    this.persist();
    for (const e of entries) this.send(e.channel, e.notification, e);
  }

  private send(channel: string, n: Notification, entry: OutboxEntry = { channel, notification: n }): void {
    if (!this.outbox.includes(entry)) this.outbox.push(entry);
    const p = this.deliverer
      .deliver(channel, n)
      .catch(() => 'failed' as const)
      .then((outcome) => this.history.notified(n.alerts.map((a) => a.fingerprint), { at: new Date(this.deps.clock.now()).toISOString(), channel, status: n.status, step: n.step, outcome }))
      .finally(() => {
        const i = this.outbox.indexOf(entry);
        if (i >= 0) this.outbox.splice(i, 1);
        this.persist();
        this.inflight.delete(p);
      });
    this.inflight.add(p);
  }

  private notification(s: Send): Notification {
    const now = this.deps.clock.now();
    const g = s.group;
    const first = s.alerts[0];
    const summary = s.alerts.length === 1 && first ? first.annotations.summary : `${s.alerts.length} ${g.labels.alertname ?? 'alerts'}${g.labels.cluster ? ` on ${g.labels.cluster}` : ''}`;
    const base = this.config.external_url ?? this.deps.externalUrl?.();
    const ackUrl = s.status === 'firing' && base ? `${base.replace(/\/$/, '')}/api/v1/alerts/ack-link?token=${this.links.sign(g.dedup_key, now + this.config.ack_link_ttl)}` : undefined;
    const fields = { alertname: g.labels.alertname ?? first?.labels.alertname ?? '', cluster: g.labels.cluster ?? first?.labels.cluster ?? '', severity: s.severity, status: s.status, count: s.alerts.length, summary, region: this.deps.region, group_key: g.key, ack_url: ackUrl ?? '', step: g.step, policy: g.policy ?? '' };
    const channel = channelsOf(this.config).find((c) => c.name === s.channel);
    return {
      id: s.id,
      status: s.status,
      group_key: g.key,
      dedup_key: g.dedup_key,
      severity: s.severity,
      region: this.deps.region,
      title: renderTemplate(channel?.title ?? '[{{severity}}] {{summary}}', fields),
      text: renderTemplate(channel?.text ?? '{{summary}} (region {{region}}, step {{step}})', fields),
      summary,
      step: g.step,
      ...(g.policy ? { policy: g.policy } : {}),
      group_labels: g.labels,
      alerts: s.alerts.map((a) => ({ fingerprint: a.fingerprint, status: a.state === 'firing' ? 'firing' : 'resolved', labels: a.labels, summary: a.annotations.summary, ...(a.starts_at ? { starts_at: a.starts_at } : {}), ...(a.ends_at ? { ends_at: a.ends_at } : {}) })),
      ...(ackUrl ? { ack_url: ackUrl } : {}),
      ...(g.acked_by ? { acked_by: g.acked_by } : {}),
      ...(s.to ? { to: s.to } : {}),
      ...(s.user ? { recipient: s.user } : {}),
    };
  }

  private event(a: Alert, type: string, message: string, extra: Record<string, string> = {}): void {
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

  private persist(): void {
    const now = this.deps.clock.now();
    for (const [n, exp] of Object.entries(this.usedNonces)) if (exp <= now) delete this.usedNonces[n];
    try {
      this.store.save({ version: 1, alerts: [...this.tracker.alerts.values()], groups: [...this.pager.groups.values()], silences: this.silences.all().filter((s) => s.source === 'api'), used_nonces: this.usedNonces, outbox: this.outbox, tickets: this.tickets.toJSON(), timelines: this.history.openTimelines() });
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'alerting: could not write the alerting state');
    }
  }

  private affected(groups: GroupState[]): AlertView[] {
    const now = this.deps.clock.now();
    const fps = new Set(groups.flatMap((g) => g.alerts));
    return [...fps].map((fp) => this.tracker.alerts.get(fp)).filter((a): a is Alert => !!a).map((a) => this.view(a, now));
  }

  private view(a: Alert, now: number): AlertView {
    const groups = [...this.pager.groups.values()].filter((g) => g.alerts.includes(a.fingerprint) || (g.notified_alerts ?? []).includes(a.fingerprint));
    return {
      ...a,
      silenced_by: this.silences.silencing(a.labels, now)?.id ?? null,
      inhibited_by: this.inhibited.get(a.fingerprint) ?? null,
      groups: groups.map((g) => ({ group_key: g.key, dedup_key: g.dedup_key, policy: g.policy ?? null, step: g.step, next_at: g.next_at !== undefined ? new Date(g.next_at).toISOString() : null, acked_by: g.acked_by ?? null, acked_at: g.acked_at !== undefined ? new Date(g.acked_at).toISOString() : null, channels_notified: g.channels_notified })),
    };
  }
}
