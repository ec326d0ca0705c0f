// Paging without etcd. A hub group pages through its leader, and the leader comes from etcd; when
// no leader has been seen for longer than the lease TTL + 10 s (etcd down or cut off), every hub
// evaluates the built-in (infrastructure) rules itself and pages through the channels that
// dedupe by key (PagerDuty's dedup_key) only: N hubs paging is then one incident, not N.
//
// The hubs agree on the key without talking: a group the region's state already pages keeps
// its dedup_key (the followers read that state), a new one gets `sfleet-<hash of the group key>`,
// the same on every hub. Each hub keeps its own alerts and groups for this (memory only, no
// claims: there is no store every hub may write), so `for:` durations count from when the hub
// went headless. When a leader is seen again the hub stops; the hub that leads then adopts what
// its own spell left open (handOver): the same groups with the same dedup_key, step and deadline,
// so PagerDuty shows one incident and hears its resolve from the leader. Every hub computed the
// same keys, so it does not matter which of them leads.
import type { AlertingConfig } from './config.js';
import type { Alert } from './model.js';
import { Inhibitor, Pager, Router, shortHash, type GroupState, type Send, type TenantRoutes } from './dispatch/index.js';
import { AlertTracker, BUILTIN_RULES, type Rule, type RuleContext } from './rules/index.js';
import type { Silences } from './silences/index.js';

/** How long past the lease TTL a group may be leaderless before its hubs page by themselves. */
export const HEADLESS_GRACE_MS = 10_000;

/** How long after a spell ends its open groups may still be handed to this hub's term as leader. */
export const HANDOVER_MAX_MS = 10 * 60_000;

/** What a spell of paging alone left open: the groups it notified and their alerts. */
export interface HeadlessSpell {
  groups: GroupState[];
  alerts: Alert[];
}

export interface HeadlessDeps {
  config: AlertingConfig;
  rules: readonly Rule[];
  /** The channels that dedupe by key (PagerDuty). */
  dedupChannels: ReadonlySet<string>;
  /** The region's groups as this hub last read them (their dedup_keys are kept). */
  known: () => ReadonlyMap<string, GroupState>;
  /** Tenants' own routes, as the leader routes with them: the same group keys, so the same dedup_keys. */
  tenantRoutes?: TenantRoutes;
}

export class HeadlessPaging {
  private readonly rules: Rule[];
  private readonly inhibitor: Inhibitor;
  private tracker: AlertTracker;
  private pager: Pager;
  private lastLeaderAt: number;
  private on = false;
  /** The last spell's open groups, kept from when a leader was seen until this hub leads (or they age out). */
  private left?: HeadlessSpell & { at: number };

  constructor(private readonly deps: HeadlessDeps, private readonly afterMs: number, now: number) {
    this.rules = deps.rules.filter((r) => r.name in BUILTIN_RULES);
    this.inhibitor = new Inhibitor(deps.config);
    this.tracker = this.newTracker();
    this.pager = this.newPager();
    this.lastLeaderAt = now;
  }

  get active(): boolean {
    return this.on;
  }

  /** A leader exists (this hub or another): stop paging alone, and start over the next time. */
  leaderSeen(now: number): boolean {
    this.lastLeaderAt = now;
    if (!this.on) return false;
    this.left = { ...this.open(), at: now };
    this.on = false;
    this.tracker = this.newTracker();
    this.pager = this.newPager();
    return true;
  }

  /**
   * This hub leads now: the groups its spell notified (the current one, or the last if it ended
   * at most HANDOVER_MAX_MS ago), for the leader to continue. Given once; paging alone stops.
   */
  handOver(now: number): HeadlessSpell {
    if (this.on) this.leaderSeen(now);
    const left = this.left && now - this.left.at <= HANDOVER_MAX_MS ? this.left : undefined;
    this.left = undefined;
    return left ? { groups: left.groups, alerts: left.alerts } : { groups: [], alerts: [] };
  }

  /** The notified groups, as only the dedup channels heard them, and their alerts. */
  private open(): HeadlessSpell {
    const groups = [...this.pager.groups.values()]
      .filter((g) => g.notified_at !== undefined)
      .map((g) => ({ ...structuredClone(g), channels_notified: g.channels_notified.filter((r) => this.deps.dedupChannels.has(r.split(':')[0])) }));
    const fps = new Set(groups.flatMap((g) => [...g.alerts, ...(g.notified_alerts ?? [])]));
    const alerts = [...fps].map((fp) => this.tracker.alerts.get(fp)).filter((a): a is Alert => !!a).map((a) => structuredClone(a));
    return { groups, alerts };
  }

  /** Whether no leader was seen for longer than the lease TTL + grace; turns paging alone on. */
  due(now: number): boolean {
    if (now - this.lastLeaderAt <= this.afterMs) return false;
    this.on = true;
    return true;
  }

  /** One evaluation: the sends for the dedup channels (the caller delivers them). */
  evaluate(ctx: RuleContext, silences: Silences): Send[] {
    this.tracker.update(this.rules, ctx);
    const firing = [...this.tracker.alerts.values()].filter((a) => a.state === 'firing');
    const inhibited = this.inhibitor.inhibited(firing);
    const active = firing.filter((a) => !inhibited.has(a.fingerprint) && !silences.silencing(a.labels, ctx.now));
    const unmuted = new Set(active);
    const muted = new Set(firing.filter((a) => !unmuted.has(a)).map((a) => a.fingerprint));
    return this.pager.tick(ctx.now, active, this.tracker.alerts, muted).filter((s) => this.deps.dedupChannels.has(s.channel));
  }

  private newTracker(): AlertTracker {
    return new AlertTracker([], this.deps.config.keep_firing_for);
  }

  private newPager(): Pager {
    return new Pager(this.deps.config, new Router(this.deps.config, this.deps.tenantRoutes), [], (key) => this.deps.known().get(key)?.dedup_key ?? `sfleet-${shortHash(`headless:${key}`)}`);
  }
}
