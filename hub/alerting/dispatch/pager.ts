// Groups and their escalation, advanced by tick(now) (no timers of its own: every deadline is a
// time in the group's record, so a restarted hub, or an injected clock, continues where it was).
//
// A group's life: its first alert opens it; after group_wait the first notification goes to the
// policy's first step. Unacknowledged that step's wait later: the next step, and after the last
// the first again, up to `repeat` passes (the short form is one step, so `repeat`
// notifications); then the fallback policy; after that a reminder each repeat_interval.
// Who a step notifies is decided when it fires (the on-call of a schedule at that instant). A change of the group's alerts is sent at most once per group_interval.
// Acknowledging stops the escalation; when no alert of the group fires any more, the channels
// notified hear `resolved`. tick() only decides: it returns the sends, which the caller makes
// durable (the claim) before handing them to the channels.
import { stepsOf, type AlertingConfig } from '../config.js';
import { maxSeverity, type Alert } from '../model.js';
import { parseRecipientKey, recipientKey, Recipients, type Recipient } from './recipients.js';
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
  /** Notifications of this policy so far; the step fired is steps[(step - 1) mod steps]. */
  step: number;
  next_at?: number;
  /** Recipients notified so far (recipientKey: channel, or channel:address): they hear ack and resolve. */
  channels_notified: string[];
  acked_by?: string;
  acked_at?: number;
  /** Notifications sent for this group (idempotency keys count on it). */
  seq: number;
}

export interface Send {
  channel: string;
  /** An e-mail contact's address; the user a user or schedule step named. */
  to?: string;
  user?: string;
  /** Not to be sent: why (recorded as a rejected delivery naming the user). */
  skip?: string;
  status: NotificationStatus;
  group: GroupState;
  alerts: Alert[];
  /** Unique per notification: the webhook's Idempotency-Key. */
  id: string;
  severity: string;
}

export class Pager {
  readonly groups = new Map<string, GroupState>();
  readonly recipients: Recipients;

  constructor(
    private readonly config: AlertingConfig,
    private readonly router: Router,
    restored: readonly GroupState[],
    /** A new group's dedup_key; default one per episode (the group key and when it opened). */
    private readonly dedupKey: (groupKey: string, now: number) => string = (key, now) => `sfleet-${shortHash(`${key}@${now}`)}`,
  ) {
    for (const g of restored) this.groups.set(g.key, g);
    this.recipients = new Recipients(config);
  }

  /**
   * `active`: the firing alerts neither silenced nor inhibited; `all`: every alert known (for
   * resolved notices); `muted`: firing alerts a silence or an inhibition holds back.
   */
  tick(now: number, active: readonly Alert[], all: ReadonlyMap<string, Alert>, muted: ReadonlySet<string> = new Set()): Send[] {
    const members = new Map<string, Alert[]>();
    for (const alert of active) {
      for (const target of this.router.targets(alert)) {
        const labels = groupLabels(target, alert);
        const key = groupKey(target, labels);
        let group = this.groups.get(key);
        if (!group) {
          group = { key, dedup_key: this.dedupKey(key, now), target, labels, alerts: [], created_at: now, step: 0, channels_notified: [], seq: 0 };
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
      // A paged alert that is muted while still firing (its cluster's slurmctld died, someone
      // silenced it) is not resolved: the group waits, sends nothing, and goes on once unmuted.
      const held = alerts.length ? [] : (group.notified_alerts ?? []).filter((fp) => muted.has(fp));
      if (held.length && group.notified_at !== undefined) {
        group.alerts = held;
        continue;
      }
      group.alerts = alerts.map((a) => a.fingerprint);
      if (!alerts.length) {
        if (group.notified_at !== undefined) {
          const gone = (group.notified_alerts ?? []).map((fp) => all.get(fp)).filter((a): a is Alert => !!a);
          sends.push(...this.notify(group, this.notified(group), 'resolved', gone, now));
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
        sends.push(...this.notify(group, group.acked_at ? this.notified(group) : this.recipientsNow(group, now), 'firing', alerts, now));
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
    return this.notify(group, this.notified(group), 'acknowledged', alerts, now, false);
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
    const sends = this.notify(group, this.recipientsNow(group, now), 'firing', alerts, now);
    group.next_at = now + (group.policy ? stepsOf(this.config.policies[group.policy])[0].wait : group.target.repeat_interval);
    return sends;
  }

  private escalate(group: GroupState, alerts: Alert[], now: number): Send[] {
    const policy = group.policy ? this.config.policies[group.policy] : undefined;
    const steps = policy ? stepsOf(policy) : [];
    if (policy && group.step < policy.repeat * steps.length) {
      group.step++;
      group.next_at = now + steps[(group.step - 1) % steps.length].wait;
    } else if (policy?.fallback && policy.fallback !== group.policy) {
      group.policy = policy.fallback;
      group.step = 1;
      group.next_at = now + stepsOf(this.config.policies[policy.fallback])[0].wait;
    } else {
      group.next_at = now + group.target.repeat_interval;
    }
    return this.notify(group, this.recipientsNow(group, now), 'firing', alerts, now);
  }

  /** The current step's recipients, resolved at `now` (a reminder after the last pass: the last step's). */
  private recipientsNow(group: GroupState, now: number): Recipient[] {
    if (!group.policy) return this.recipients.ofChannels(group.target.channels ?? []);
    const steps = stepsOf(this.config.policies[group.policy]);
    return this.recipients.ofStep(steps[(Math.max(1, group.step) - 1) % steps.length], now);
  }

  private notified(group: GroupState): Recipient[] {
    return group.channels_notified.map(parseRecipientKey);
  }

  private notify(group: GroupState, recipients: Recipient[], status: NotificationStatus, alerts: Alert[], now: number, mark = true): Send[] {
    if (mark) {
      group.notified_at = now;
      group.notified_alerts = alerts.map((a) => a.fingerprint);
      for (const r of recipients) if (!r.skip && !group.channels_notified.includes(recipientKey(r))) group.channels_notified.push(recipientKey(r));
    }
    group.seq++;
    const severity = alerts.reduce((s, a) => maxSeverity(s, a.labels.severity ?? ''), '');
    return recipients.map((r) => ({
      channel: r.channel,
      ...(r.to ? { to: r.to } : {}),
      ...(r.user ? { user: r.user } : {}),
      ...(r.skip ? { skip: r.skip } : {}),
      status,
      group: structuredClone(group),
      alerts: alerts.map((a) => structuredClone(a)),
      // The address never goes into the id (it is the webhook's Idempotency-Key and in the delivery log).
      id: `${group.dedup_key}-${group.seq}-${r.channel}${r.to ? `-${shortHash(r.to).slice(0, 8)}` : r.skip && r.user ? `-${shortHash(r.user).slice(0, 8)}` : ''}`,
      severity,
    }));
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(b);
  return a.every((x) => s.has(x));
}
