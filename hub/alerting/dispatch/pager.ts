// Groups and their escalation, advanced by tick(now) (no timers of its own: every deadline is a
// time in the group's record, so a restarted hub, or an injected clock, continues where it was).
//
// A group's life: its first alert opens it; after group_wait the first notification goes to the
// policy's channels (step 1). Unacknowledged escalation_time later: again, up to `repeat`
// notifications, then the fallback policy's channels; after that a reminder each
// repeat_interval. A change of the group's alerts is sent at most once per group_interval.
// Acknowledging stops the escalation; when no alert of the group fires any more, the channels
// notified hear `resolved`. tick() only decides: it returns the sends, which the caller makes
// durable (the claim) before handing them to the channels.
import type { AlertingConfig } from '../config.js';
import { resolveChannel } from '../config.js';
import { maxSeverity, type Alert } from '../model.js';
import { groupKey, groupLabels, shortHash, type Router, type Target } from './routing.js';

export type NotificationStatus = 'firing' | 'resolved' | 'acknowledged';

export interface GroupState {
  key: string;
  /** One per group episode: PagerDuty's dedup_key, MQTT's state topic. */
  dedup_key: string;
  target: Target;
  labels: Record<string, string>;
  alerts: string[];
  created_at: number;
  notified_at?: number;
  notified_alerts?: string[];
  /** The policy now escalating (the route's, then its fallbacks). */
  policy?: string;
  step: number;
  next_at?: number;
  channels_notified: string[];
  acked_by?: string;
  acked_at?: number;
  /** Notifications sent for this group (idempotency keys count on it). */
  seq: number;
}

export interface Send {
  channel: string;
  status: NotificationStatus;
  group: GroupState;
  alerts: Alert[];
  /** Unique per notification: the webhook's Idempotency-Key. */
  id: string;
  severity: string;
}

export class Pager {
  readonly groups = new Map<string, GroupState>();

  constructor(
    private readonly config: AlertingConfig,
    private readonly router: Router,
    restored: readonly GroupState[],
  ) {
    for (const g of restored) this.groups.set(g.key, g);
  }

  /** `active`: the firing alerts neither silenced nor inhibited; `all`: every alert known (for resolved notices). */
  tick(now: number, active: readonly Alert[], all: ReadonlyMap<string, Alert>): Send[] {
    const members = new Map<string, Alert[]>();
    for (const alert of active) {
      for (const target of this.router.targets(alert)) {
        const labels = groupLabels(target, alert);
        const key = groupKey(target, labels);
        let group = this.groups.get(key);
        if (!group) {
          group = { key, dedup_key: `sfleet-${shortHash(`${key}@${now}`)}`, target, labels, alerts: [], created_at: now, step: 0, channels_notified: [], seq: 0 };
          this.groups.set(key, group);
        }
        let list = members.get(key);
        if (!list) members.set(key, (list = []));
        list.push(alert);
      }
    }
    const sends: Send[] = [];
    for (const group of [...this.groups.values()]) {
      const alerts = members.get(group.key) ?? [];
      group.alerts = alerts.map((a) => a.fingerprint);
      if (!alerts.length) {
        if (group.notified_at !== undefined) {
          const gone = (group.notified_alerts ?? []).map((fp) => all.get(fp)).filter((a): a is Alert => !!a);
          sends.push(...this.notify(group, group.channels_notified, 'resolved', gone, now));
        }
        this.groups.delete(group.key);
        continue;
      }
      const changed = !sameSet(group.alerts, group.notified_alerts ?? []);
      if (group.notified_at === undefined) {
        if (now >= group.created_at + group.target.group_wait) sends.push(...this.first(group, alerts, now));
      } else if (!group.acked_at && group.next_at !== undefined && now >= group.next_at) {
        sends.push(...this.escalate(group, alerts, now));
      } else if (changed && now >= group.notified_at + group.target.group_interval) {
        sends.push(...this.notify(group, group.acked_at ? group.channels_notified : this.channelsNow(group), 'firing', alerts, now));
      }
    }
    return sends;
  }

  /** Stops the escalation; the channels notified hear `acknowledged` (those that can say it). */
  ack(key: string, by: string, now: number, all: ReadonlyMap<string, Alert>): Send[] {
    const group = this.groups.get(key);
    if (!group || group.acked_at) return [];
    group.acked_at = now;
    group.acked_by = by;
    group.next_at = undefined;
    const alerts = group.alerts.map((fp) => all.get(fp)).filter((a): a is Alert => !!a);
    return this.notify(group, group.channels_notified, 'acknowledged', alerts, now, false);
  }

  /** The groups an alert is in (by fingerprint), or the group of that key. */
  groupsOf(id: string): GroupState[] {
    const byKey = this.groups.get(id) ?? [...this.groups.values()].find((g) => g.dedup_key === id);
    if (byKey) return [byKey];
    return [...this.groups.values()].filter((g) => g.alerts.includes(id));
  }

  private first(group: GroupState, alerts: Alert[], now: number): Send[] {
    group.policy = group.target.policy;
    group.step = 1;
    const sends = this.notify(group, this.channelsNow(group), 'firing', alerts, now);
    group.next_at = now + (group.policy ? this.config.policies[group.policy].escalation_time : group.target.repeat_interval);
    return sends;
  }

  private escalate(group: GroupState, alerts: Alert[], now: number): Send[] {
    const policy = group.policy ? this.config.policies[group.policy] : undefined;
    if (policy && group.step < policy.repeat) {
      group.step++;
      group.next_at = now + policy.escalation_time;
    } else if (policy?.fallback && policy.fallback !== group.policy) {
      group.policy = policy.fallback;
      group.step = 1;
      group.next_at = now + this.config.policies[policy.fallback].escalation_time;
    } else {
      group.next_at = now + group.target.repeat_interval;
    }
    return this.notify(group, this.channelsNow(group), 'firing', alerts, now);
  }

  private channelsNow(group: GroupState): string[] {
    const refs = group.policy ? this.config.policies[group.policy].channels : (group.target.channels ?? []);
    return [...new Set(refs.map((r) => resolveChannel(this.config, r)))];
  }

  private notify(group: GroupState, channels: string[], status: NotificationStatus, alerts: Alert[], now: number, mark = true): Send[] {
    if (mark) {
      group.notified_at = now;
      group.notified_alerts = alerts.map((a) => a.fingerprint);
      for (const c of channels) if (!group.channels_notified.includes(c)) group.channels_notified.push(c);
    }
    group.seq++;
    const severity = alerts.reduce((s, a) => maxSeverity(s, a.labels.severity ?? ''), '');
    return channels.map((channel) => ({ channel, status, group: structuredClone(group), alerts: alerts.map((a) => structuredClone(a)), id: `${group.dedup_key}-${group.seq}-${channel}`, severity }));
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(b);
  return a.every((x) => s.has(x));
}
